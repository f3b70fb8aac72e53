package dev.zcproxy.proxy;

import static java.util.Objects.requireNonNull;

import dev.zcproxy.cache.policy.CachePolicy;
import dev.zcproxy.cache.policy.PolicyConfig;
import dev.zcproxy.cache.store.DiskStore;
import dev.zcproxy.cache.store.StoreConfig;
import dev.zcproxy.proxy.admin.AdminServer;
import dev.zcproxy.proxy.admin.Lifecycle;
import dev.zcproxy.proxy.admin.ProxyMetrics;
import dev.zcproxy.proxy.config.ConfigLoader;
import dev.zcproxy.proxy.config.ProxyConfig;
import dev.zcproxy.proxy.internal.ClientChannels;
import dev.zcproxy.proxy.internal.EncodedResponses;
import dev.zcproxy.proxy.internal.FrontHits;
import dev.zcproxy.proxy.internal.HalfClose;
import dev.zcproxy.proxy.internal.HitCork;
import dev.zcproxy.proxy.internal.LargeSendBuffers;
import dev.zcproxy.proxy.internal.PriorKnowledge;
import dev.zcproxy.proxy.internal.StrictRequestDecoder;
import dev.zcproxy.proxy.server.ProxyHandler;
import dev.zcproxy.proxy.transfer.BodyTransfer;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.file.FileSystemOptions;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.micrometer.MicrometerMetricsFactory;
import io.vertx.micrometer.MicrometerMetricsOptions;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The composition root: builds Vert.x, the cache, the origin client and the listeners from a
 * {@link ProxyConfig}; {@link #start()} and {@link #close()} return futures.
 *
 * <p>Two instances can run in one JVM (the tests do): nothing here is static.
 */
public final class ProxyServer {
  private static final Logger LOG = LoggerFactory.getLogger(ProxyServer.class);

  /** The configuration in effect: the one started with, then the last one a reload applied. */
  private volatile ProxyConfig config;
  private final LongSupplier clock;
  /** How often the ban sweep runs on the cache I/O pool. */
  private static final long BAN_SWEEP_MILLIS = 60_000;
  /** Its meters are registered once the client listener is up, before the admin listener ({@link #start()}). */
  private final ProxyMetrics metrics = ProxyMetrics.metersLater();
  private Vertx vertx;
  private ExecutorService cacheIo;
  private DiskStore store;
  /** The sites' origin pools (one pool of {@code origin.url} without {@code sites:}); kept across reloads. */
  private dev.zcproxy.proxy.origin.OriginPools origins;
  private volatile dev.zcproxy.proxy.server.SiteRouter router;
  /** Read once per request: a reload swaps in a handler built for the new config around the same cache. */
  private volatile ProxyHandler handler;
  private volatile CachePolicy policy;
  private volatile AdminServer admin;
  /** The client listener: a reload that changes its address binds a new one before letting this one go. */
  private volatile Listener listener;
  private volatile int adminPort = -1;
  private ClientConnections connections;
  /** The last small response written on each event loop, reused for the same response again (front RAM hits). */
  private final EncodedResponses lastResponses = new EncodedResponses();
  /** The admin listener's connections: a bound of their own, so a flood there leaves the clients' alone. */
  private ClientConnections adminConnections;
  /** Most open admin connections (dashboards, scrapes, health checks, purges); more wait to be accepted. */
  static final int ADMIN_MAX_CONNECTIONS = 256;
  private int loops;
  private final ProxyLifecycle lifecycle;
  /** What reopens the access-log file ({@code SIGUSR1}); set by {@link #ownLogging}. */
  private volatile Runnable reopenAccessLog;
  /** {@link #storeStartAfter}. */
  private volatile java.time.Duration storeStartAfter = java.time.Duration.ofSeconds(1);
  /** Main's start-up clock, or {@code null}: each phase of {@link #start()} is marked on it. */
  private volatile StartupPhases phases;

  /**
   * The client listeners of one configuration: their deployment, what each listens as, and each one's
   * servers (one per event loop), by index in {@code specs} (0: {@code listen.address}).
   */
  private record Listener(String deploymentId, List<Listeners.Spec> specs, java.util.Map<Integer, List<HttpServer>> bySpec) {
    int port() {
      return bySpec.get(0).get(0).actualPort();
    }

    int plainPort() {
      return specs.size() > 1 ? bySpec.get(1).get(0).actualPort() : -1;
    }

    List<HttpServer> servers() {
      List<HttpServer> all = new ArrayList<>();
      bySpec.values().forEach(all::addAll);
      return all;
    }
  }
  /** The cluster, when {@code cluster.enabled}; else {@code null} (and no Hazelcast class is loaded). */
  private volatile dev.zcproxy.proxy.cluster.Cluster cluster;
  private volatile dev.zcproxy.proxy.cluster.OwnerRoute ownerRoute;
  /** The TLS listener's certificate files, or {@code null} without TLS. */
  private CertificateFiles certificates;
  private io.vertx.core.net.KeyCertOptions certs;

  /** How bodies reach sendfile, splice and the written-bytes counts; tests swap it to make them fail. */
  private dev.zcproxy.proxy.transfer.TransferPlatform transferPlatform = dev.zcproxy.proxy.transfer.TransferPlatform.internals();

  public ProxyServer(ProxyConfig config) {
    this(config, System::currentTimeMillis);
  }

  /**
   * Uses {@code platform} for sendfile, splice and counting written bytes instead of the internals (tests
   * make a probe or an operation fail with it). Call before {@link #start}.
   */
  public ProxyServer transferPlatform(dev.zcproxy.proxy.transfer.TransferPlatform platform) {
    this.transferPlatform = requireNonNull(platform, "platform");
    return this;
  }

  /** @param clock epoch milliseconds, used for every HTTP date and age decision */
  public ProxyServer(ProxyConfig config, LongSupplier clock) {
    this.config = requireNonNull(config, "config");
    this.clock = requireNonNull(clock, "clock");
    this.lifecycle = new ProxyLifecycle(this, null, null);
  }

  /**
   * A proxy that can reload: {@code SIGHUP} and {@code POST /reload} read the config again with
   * {@code source} (the file and flags it started with) and apply what changed.
   *
   * @param initial what {@code source} gave at start
   * @param clock epoch milliseconds, used for every HTTP date and age decision
   */
  public ProxyServer(ConfigLoader.Loaded initial, Supplier<ConfigLoader.Loaded> source, LongSupplier clock) {
    this.config = requireNonNull(initial, "initial").config();
    this.clock = requireNonNull(clock, "clock");
    this.lifecycle = new ProxyLifecycle(this, initial, requireNonNull(source, "source"));
  }

  /** Starts every listener; completes when the proxy accepts connections. */
  public Future<Void> start() {
    ProxyConfig config = this.config;
    loops = config.listen().eventLoops() > 0 ? config.listen().eventLoops() : Runtime.getRuntime().availableProcessors();
    // Vert.x's pool metrics go into the registry /metrics scrapes. Not its HTTP server's or HTTP client's:
    // they build tags and look meters up on every request (a measurable share of a small hit's CPU, and
    // about 9% of a small pass's CPU samples and 1 KB of its 18 KB allocated per request), and ProxyMetrics
    // already counts and times every response, by outcome and transfer mode, and every origin request.
    vertx = Vertx.builder()
        .with(new VertxOptions()
            .setEventLoopPoolSize(loops)
            // Nothing is served from the class path through Vert.x's file system (the dashboard reads its own
            // resources), and resolving it makes a /tmp/vertx-cache-<uuid> directory at every start that a killed
            // process leaves behind.
            .setFileSystemOptions(new FileSystemOptions().setClassPathResolvingEnabled(false).setFileCachingEnabled(false))
            .setPreferNativeTransport(config.transfer().nativeTransport())
            .setMetricsOptions(new MicrometerMetricsOptions().setEnabled(true)
                .addDisabledMetricsCategory(io.vertx.micrometer.MetricsDomain.HTTP_SERVER)
                .addDisabledMetricsCategory(io.vertx.micrometer.MetricsDomain.HTTP_CLIENT)))
        .withMetrics(new MicrometerMetricsFactory(metrics.registry()))
        .build();
    phase("vertx");
    if (config.transfer().nativeTransport() && !vertx.isNativeTransportEnabled()) {
      LOG.warn("native epoll transport unavailable, using NIO: {}", String.valueOf(vertx.unavailableNativeTransportCause()));
    }
    ProxyConfig.Cache c = config.cache();
    CachePolicy policy = policyOf(c);
    this.policy = policy;
    AtomicInteger n = new AtomicInteger();
    cacheIo = Executors.newFixedThreadPool(4, r -> {
      Thread t = new Thread(r, "cache-io-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    StartGate storeStart = new StartGate(cacheIo); // the snapshot load and scan wait for the first response (below)
    if (c.enabled()) {
      store = DiskStore.open(new StoreConfig(c.dir(), c.maxSizeBytes(), c.fsync(),
          c.indexHeap().resolve(Runtime.getRuntime().maxMemory()), c.minFreeBytes(), c.tagHeaders()), cacheIo, storeStart, clock,
          e -> this.policy.retainUntil(e)); // the policy in effect: a reload may change keep
      metrics.cacheGauges(store::entryCount, store::weightedBytes);
      DiskStore s = store;
      vertx.setPeriodic(30_000, id -> cacheIo.execute(s::cleanUp));
      metrics.banGauge(s::banMatches);
      metrics.evictionCounters(s::evictedForSize, s::evictedExpired, s::removedExplicitly);
      // Bans are applied at lookup; this sweep applies them to entries nobody asks for and drops old bans.
      vertx.setPeriodic(BAN_SWEEP_MILLIS, id -> {
        try {
          cacheIo.execute(s::sweepBans);
        } catch (java.util.concurrent.RejectedExecutionException closing) {
          // the store is closing
        }
      });
      // Like nginx's cache manager with min_free: evict while the file system is short of free space.
      vertx.setPeriodic(1_000, id -> {
        try {
          cacheIo.execute(s::keepFree);
        } catch (java.util.concurrent.RejectedExecutionException closing) {
          // the store is closing
        }
      });
    }
    phase("store");
    try {
      origins = dev.zcproxy.proxy.origin.OriginPools.build(vertx, config, metrics.registry());
    } catch (IllegalArgumentException e) {
      return Future.failedFuture(e); // an origin.tls file that cannot be read
    }
    router = new dev.zcproxy.proxy.server.SiteRouter(config, origins, policy);
    origins.start();
    handler = new ProxyHandler(vertx, config, policy, store, router, new BodyTransfer(cacheIo, transferPlatform),
        metrics, clock, cacheIo);
    connections = new ClientConnections(config.listen().maxConnections(), config.listen().requestHeadTimeout().toMillis(),
        DiskStore.fileDescriptorLimit()); // the figure the store halves too
    adminConnections = ClientConnections.admin(ADMIN_MAX_CONNECTIONS, config.listen().requestHeadTimeout().toMillis());
    ProxyConfig.ListenTls tls = config.listen().tls();
    if (tls.enabled()) {
      certificates = new CertificateFiles(tls.certificates());
      try {
        certs = certificates.load();
      } catch (IllegalArgumentException e) {
        return Future.failedFuture(e);
      }
    }
    phase("handler");
    Future<Void> started = bindListener(config).map(l -> {
      listener = l;
      phase("listener");
      if (tls.enabled() && !tls.reloadCheck().isZero()) {
        vertx.setPeriodic(tls.reloadCheck().toMillis(), id -> {
          try {
            cacheIo.execute(() -> reloadCertificates(false));
          } catch (java.util.concurrent.RejectedExecutionException closing) {
            // the proxy is closing
          }
        });
      }
      return null;
    });
    // Registering the meters (cold code: about 100 ms of CPU of a start) waits until the listener is up, off the
    // event loops; nothing reads the registry before the admin listener, which starts after it, and the meters read
    // the counters, so the first requests are in them.
    started = started.compose(v -> registerMeters()).map(v -> {
      phase("meters");
      return null;
    });
    if (config.admin().enabled()) {
      started = started.compose(v -> startAdmin(config, policy)).map(a -> {
        admin = a;
        phase("admin");
        return null;
      });
    }
    // The index's rebuild (snapshot load, then the scan: seconds of a core and of young collections at a million
    // entries) waits until the proxy has started and answered its first request, or storeStartAfter has passed:
    // on 2 cores it halved the time from the bound listener to a restart's first hit (loadtest/results/
    // SCALE-1m-2026-12-03-*.md). Lookups do not wait for it: they find their entries on disk by key hash.
    started = started.onSuccess(v -> {
      metrics.whenResponded().thenRun(() -> openStoreStart(storeStart));
      vertx.setTimer(Math.max(1, storeStartAfter.toMillis()), id -> openStoreStart(storeStart));
    });
    if (config.cluster().enabled()) {
      started = started.compose(v -> startCluster());
    }
    return started;
  }

  private static void openStoreStart(StartGate gate) {
    try {
      gate.open();
    } catch (java.util.concurrent.RejectedExecutionException closing) {
      // the proxy is closing: no index to rebuild
    }
  }

  /**
   * How long the cache index's rebuild at start (snapshot load and scan) waits for the proxy's first response before it
   * starts anyway (default 1 s); call before {@link #start}. Lookups never wait for it.
   */
  public ProxyServer storeStartAfter(java.time.Duration wait) {
    this.storeStartAfter = requireNonNull(wait, "wait");
    return this;
  }

  /** Registers the metrics' meters on the cache I/O pool. */
  private Future<Void> registerMeters() {
    Promise<Void> done = Promise.promise();
    try {
      cacheIo.execute(() -> {
        try {
          metrics.registerMeters();
          done.complete();
        } catch (RuntimeException e) {
          done.fail(e);
        }
      });
    } catch (java.util.concurrent.RejectedExecutionException closing) {
      done.fail(closing);
    }
    return done.future();
  }

  /** Marks the end of start-up phase {@code name} on Main's clock, if there is one. */
  private void phase(String name) {
    StartupPhases p = phases;
    if (p != null) {
      p.mark(name);
    }
  }

  /** Main's: marks each phase of {@link #start()} on {@code clock}. Call before {@link #start()}. */
  void startupPhases(StartupPhases clock) {
    this.phases = clock;
  }

  private static CachePolicy policyOf(ProxyConfig.Cache c) {
    return new CachePolicy(new PolicyConfig(c.heuristicFraction(), c.heuristicMax().toSeconds(), c.keep().toSeconds(),
        c.cdnCacheControl(), c.surrogateControl(), c.maxVariants(), Math.min(c.maxObjectBytes(), c.maxSizeBytes()), c.setCookie(),
        c.invalidateMethods()));
  }

  /**
   * Binds the client listeners for {@code config} (the main one, TLS when {@code listen.tls} has
   * certificates, and {@code listen.plain-address} beside it), one server per event loop each, handing
   * requests to the current handler.
   */
  private Future<Listener> bindListener(ProxyConfig config) {
    List<Listeners.Spec> specs;
    try {
      specs = Listeners.specs(config.listen(), loops, certs);
    } catch (IllegalStateException e) {
      return Future.failedFuture(e); // listen.tls.provider: openssl where it cannot load
    }
    ClientConnections conns = connections;
    ProxyConfig.Transfer t = config.transfer();
    LargeSendBuffers largeSendBuffers = new LargeSendBuffers(t.largeSendBufferBytes(), t.largeSendBufferFromBytes(),
        t.largeSendBufferConnections(), metrics::sendBufferRaised); // one per listener: its connections share the bound
    HitCork hitCork = new HitCork(t.corkHitsBelowBytes(), t.corkHitsFromBytes());
    java.util.Map<Integer, List<HttpServer>> bySpec = new java.util.concurrent.ConcurrentHashMap<>();
    Future<String> deployed = vertx.deployVerticle(() -> new io.vertx.core.VerticleBase() {
      @Override
      public Future<?> start() {
        List<Future<HttpServer>> listening = new ArrayList<>();
        for (int i = 0; i < specs.size(); i++) {
          int index = i;
          HttpServerOptions options = specs.get(i).options();
          listening.add(vertx.createHttpServer(options)
              .connectionHandler(conn -> {
                if (PriorKnowledge.switched(conn)) {
                  conn.exceptionHandler(t -> LOG.debug("client connection {}: {}", conn.remoteAddress(), t.toString()));
                  return; // h2c: the HTTP/1 connection this channel began as was admitted already
                }
                if (!conns.accept(conn)) {
                  return; // over listen.max-connections with no slot taken at accept: closed at once
                }
                // A client that resets or hangs up mid-response is an everyday event, not an error of the
                // proxy (Vert.x logs it at ERROR without a handler); the response's own outcome is logged.
                conn.exceptionHandler(t -> LOG.debug("client connection {}: {}", conn.remoteAddress(), t.toString()));
                if (ClientChannels.isHttp2(conn)) {
                  return; // HTTP/2 has its own framing; the HTTP/1 decoder and half-close hooks do not apply
                }
                StrictRequestDecoder.install(conn, options);
                if (!HalfClose.install(conn)) {
                  LOG.debug("half-closed clients not answered on {}", conn.getClass().getSimpleName());
                }
                FrontHits.install(conn, () -> handler.frontHits(), lastResponses); // plain GET hits from RAM, before Vert.x
                largeSendBuffers.install(conn); // large hits' sendfile bodies may raise SO_SNDBUF while written
                hitCork.install(conn); // a file hit's head leaves in its body's first segment
                if (specs.get(index).h2c()) {
                  PriorKnowledge.install(conn); // in front of the hooks above: an HTTP/1 connection meets them unchanged
                }
              })
              .requestHandler(req -> handler.handle(req))
              .invalidRequestHandler(req -> handler.invalidRequestHandler().handle(req))
              .listen()
              .onSuccess(srv -> bySpec.computeIfAbsent(index, k -> Collections.synchronizedList(new ArrayList<>())).add(srv)));
        }
        return Future.all(listening);
      }
    }, new DeploymentOptions().setInstances(loops));
    return deployed.map(id -> new Listener(id, specs, java.util.Map.copyOf(bySpec)));
  }

  /** What the listeners say in the start line: scheme, address and how hits move, per listener. */
  private String listening() {
    Listener l = listener;
    StringBuilder out = new StringBuilder();
    for (int i = 0; l != null && i < l.specs().size(); i++) {
      Listeners.Spec spec = l.specs().get(i);
      out.append(i == 0 ? "" : " and ").append(spec.scheme()).append("://").append(spec.address().host()).append(':')
          .append(i == 0 ? l.port() : l.plainPort()).append(" (").append(spec.describe(config.transfer().sendfile())).append(')');
    }
    return out.toString();
  }

  private Future<AdminServer> startAdmin(ProxyConfig config, CachePolicy policy) {
    AdminServer a = new AdminServer(vertx, metrics, store, config.admin().token(), clock, policy);
    a.lifecycle(lifecycle);
    a.sites(origins::toJson, (primary, site) -> router.keyOf(primary, site));
    if (!config.admin().hasToken() && !isLoopback(config.admin().address().host())) {
      LOG.warn("admin listener on {} without admin.token: purge is refused, but /stats and /metrics are readable by"
          + " anyone who can reach it", config.admin().address());
    }
    return a.listen(config.admin().address().host(), config.admin().address().port(), adminConnections::accept).map(p -> {
      adminPort = p;
      return a;
    });
  }

  /**
   * Applies a reloaded configuration: binds what moved first (a failure changes nothing), then swaps in
   * a handler for {@code next} around the same cache and registries, new origin pools, the admin token,
   * connection limits and logging, and lets the old listeners finish what they serve.
   */
  Future<Void> apply(ProxyConfig next, ReloadPlan plan) {
    if (vertx == null) {
      return Future.failedFuture(new IllegalStateException("not started"));
    }
    Future<Listener> newListener = plan.rebindListener() ? bindListener(next).recover(t -> Future.failedFuture(
        new IllegalStateException("listen.address: cannot bind " + next.listen().address() + ": " + t.getMessage(), t)))
        : Future.succeededFuture();
    CachePolicy nextPolicy = policyOf(next.cache());
    int oldAdminPort = adminPort;
    Future<AdminServer> newAdmin = newListener.compose(l -> plan.rebindAdmin() && next.admin().enabled()
        ? startAdmin(next, nextPolicy).recover(t -> {
          adminPort = oldAdminPort;
          Future<Void> undo = l == null ? Future.succeededFuture() : vertx.undeploy(l.deploymentId());
          return undo.<AdminServer>transform(x -> Future.failedFuture(new IllegalStateException(
              "admin.address: cannot bind " + next.admin().address() + ": " + t.getMessage(), t)));
        })
        : Future.succeededFuture());
    return newAdmin.map(a -> {
      commit(next, plan, nextPolicy, newListener.result(), a);
      return null;
    });
  }

  private void commit(ProxyConfig next, ReloadPlan plan, CachePolicy nextPolicy, Listener newListener, AdminServer newAdmin) {
    long grace = next.listen().shutdownGrace().toMillis();
    router = new dev.zcproxy.proxy.server.SiteRouter(next, origins, nextPolicy);
    handler = new ProxyHandler(vertx, next, nextPolicy, store, router, new BodyTransfer(cacheIo, transferPlatform),
        metrics, clock, cacheIo, handler);
    if (ownerRoute != null) {
      handler.ownerRoute(ownerRoute); // the cluster is kept across reloads (cluster.* needs a restart)
    }
    policy = nextPolicy;
    if (plan.touches("origin")) {
      // every server's client takes the new timeouts and limits; the one-site shorthand's also origin.url
      for (dev.zcproxy.proxy.origin.OriginPool pool : origins.all()) {
        for (dev.zcproxy.proxy.origin.OriginServer server : pool.servers()) {
          server.client().reconfigure(next.origin(), next.listen().shutdownGrace());
        }
      }
    }
    connections.reconfigure(next.listen().maxConnections(), next.listen().requestHeadTimeout().toMillis());
    adminConnections.reconfigure(ADMIN_MAX_CONNECTIONS, next.listen().requestHeadTimeout().toMillis());
    if (reopenAccessLog != null && plan.touches("logging")) {
      reopenAccessLog = LogSetup.apply(next.logging());
    }
    config = next;
    if (newListener != null) {
      Listener old = listener;
      listener = newListener;
      shutdown(old, grace);
    }
    if (plan.rebindAdmin()) {
      AdminServer old = admin;
      admin = newAdmin;
      if (newAdmin == null) {
        adminPort = -1;
      }
      if (old != null) {
        old.shutdown(Math.max(grace, 1000)); // after the answer to the POST /reload that may be on it
      }
    } else if (admin != null) {
      admin.reconfigure(next.admin().token(), nextPolicy);
    }
  }

  /**
   * Stops {@code old} accepting; its requests in flight get {@code grace}. Its deployment stays (empty):
   * undeploying it would close what was created in its contexts, the per-loop origin clients among them.
   */
  private void shutdown(Listener old, long grace) {
    List<Future<Void>> shutdowns = new ArrayList<>();
    for (HttpServer s : old.servers()) {
      shutdowns.add(s.shutdown(grace, TimeUnit.MILLISECONDS));
    }
    Future.join(shutdowns).onFailure(t -> LOG.debug("old listener {}: {}", old.port(), t.toString()));
  }

  /**
   * Main's: Logback is this process's, set up by {@link LogSetup}, so a reload applies the
   * {@code logging} section to it too.
   *
   * @param reopen what reopens the access-log file now
   */
  public void ownLogging(Runnable reopen) {
    this.reopenAccessLog = requireNonNull(reopen, "reopen");
  }

  /** Reopens the access-log file at its configured path ({@code SIGUSR1}); nothing unless it is a file. */
  public void reopenAccessLog() {
    Runnable r = reopenAccessLog;
    if (r != null) {
      r.run();
    }
  }

  /** Reload, drain and health state: what {@code SIGHUP}, {@code SIGTERM} and the admin listener use. */
  public Lifecycle lifecycle() {
    return lifecycle;
  }

  /** The Vert.x instance, once started. */
  Vertx vertx() {
    return vertx;
  }

  /** The configuration in effect now. */
  public ProxyConfig config() {
    return config;
  }

  /**
   * The stop on {@code SIGTERM}: drains for {@code listen.drain-time} ({@code /health} answers 503
   * "draining" while requests are still served, so load balancers take the proxy out first), then
   * {@link #close()}.
   */
  public Future<Void> drainAndClose() {
    long drain = config.listen().drainTime().toMillis();
    if (vertx == null || drain <= 0) {
      return close();
    }
    lifecycle.drain(true);
    Promise<Void> drained = Promise.promise();
    vertx.setTimer(drain, id -> drained.complete());
    return drained.future().compose(v -> close());
  }

  /** Joins the cluster once the data port is known (peers forward misses to it). */
  private Future<Void> startCluster() {
    String listenHost = config.listen().address().host();
    String advertise = config.cluster().advertiseOr(listenHost);
    if (advertise.equals("0.0.0.0") || advertise.equals("::") || advertise.equals("[::]")) {
      return Future.failedFuture(new IllegalArgumentException(
          "cluster.advertise: \"\" (expected: the address peers reach this node at, when listen.address is " + listenHost + ")"));
    }
    dev.zcproxy.proxy.cluster.ClusterContext context = new dev.zcproxy.proxy.cluster.ClusterContext(config.cluster(), advertise, listener.port(), store,
        store == null ? null : config.cache().dir());
    // The cluster's own Vert.x instance is built off the data path's threads.
    Promise<dev.zcproxy.proxy.cluster.Cluster> joined = Promise.promise();
    Thread starter = new Thread(() -> dev.zcproxy.proxy.cluster.Clusters.start(context).onComplete(joined), "zcproxy-cluster-start");
    starter.setDaemon(true);
    starter.start();
    return joined.future()
        .map(c -> {
          cluster = c;
          ownerRoute = new dev.zcproxy.proxy.cluster.OwnerRoute(c, vertx, config, store);
          handler.ownerRoute(ownerRoute);
          dev.zcproxy.proxy.cluster.ClusterMetrics.register(metrics.registry(), c, ownerRoute);
          if (admin != null) {
            admin.onInvalidation(c::invalidated);
            admin.healthDetail(() -> clusterState() + "\n");
          }
          return null;
        });
  }

  /** The cluster state in one line, or {@code "off"} without a cluster. */
  public String clusterState() {
    dev.zcproxy.proxy.cluster.Cluster c = cluster;
    return c == null ? "off" : dev.zcproxy.proxy.cluster.ClusterMetrics.describe(config.cluster().name(), c, ownerRoute);
  }

  /** The cluster, or {@code null} when {@code cluster.enabled} is false. */
  public dev.zcproxy.proxy.cluster.Cluster cluster() {
    return cluster;
  }

  /** The one line printed at start: listeners (protocols, how hits move), origin, cache, transport. */
  public String startupLine() {
    String transport = vertx.isNativeTransportEnabled() ? "epoll" : "nio";
    ProxyConfig.Cache c = config.cache();
    String cache = c.enabled() ? c.dir().toAbsolutePath().normalize() + " (" + Sizes.human(c.maxSizeBytes()) + ")" : "disabled";
    return "zcproxy listening on " + listening()
        + (config.sites().configured() ? " -> " + config.sites().list().size() + " sites" : " -> origin " + config.origin().url())
        + ", cache " + cache
        + ", transport " + transport
        + (adminPort > 0 ? ", admin http://" + config.admin().address().host() + ":" + adminPort
            + (config.admin().hasToken() ? " (purge needs the admin token)"
                : " (no admin token: purge refused; set admin.token or ZCPROXY_ADMIN_TOKEN)") : "")
        + (cluster != null ? ", " + clusterState() : "");
  }

  /**
   * Re-reads the listener's certificate and key files and serves them to new connections (open ones keep
   * theirs); completes with whether anything changed. A file that cannot be read or parsed leaves the
   * current certificates in place and fails the future. Without TLS it completes with false.
   */
  public Future<Boolean> reloadCertificates() {
    if (certificates == null || vertx == null) {
      return Future.succeededFuture(false);
    }
    io.vertx.core.Promise<Boolean> done = io.vertx.core.Promise.promise();
    cacheIo.execute(() -> reloadCertificates(true).onComplete(done));
    return done.future();
  }

  /** On the I/O pool: reads the files if forced or changed, then updates every TLS server instance. */
  private synchronized Future<Boolean> reloadCertificates(boolean force) {
    if (!force && !certificates.changed()) {
      return Future.succeededFuture(false);
    }
    io.vertx.core.net.PemKeyCertOptions fresh;
    try {
      fresh = certificates.load();
    } catch (IllegalArgumentException e) {
      LOG.warn("TLS certificates not reloaded, the current ones stay: {}", e.getMessage());
      return Future.failedFuture(e);
    }
    certs = fresh; // a listener bound later (a reload that moves it) starts with these
    Listener l = listener;
    List<HttpServer> tlsServers = l.bySpec().getOrDefault(0, List.of());
    List<Future<Boolean>> updates = new ArrayList<>();
    synchronized (tlsServers) {
      for (HttpServer s : tlsServers) {
        io.vertx.core.net.ServerSSLOptions o = l.specs().get(0).options().getSslOptions().copy().setKeyCertOptions(fresh);
        updates.add(s.updateSSLOptions(o, true));
      }
    }
    return Future.all(updates).map(cf -> {
      LOG.info("TLS certificates reloaded from {}", config.listen().tls().certificates());
      return true;
    }).onFailure(t -> LOG.warn("TLS certificates not reloaded, the current ones stay: {}", t.toString()));
  }

  /** The port of the plain listener beside a TLS one ({@code listen.plain-address}), or -1 when there is none. */
  public int plainPort() {
    Listener l = listener;
    return l == null ? -1 : l.plainPort();
  }

  private static boolean isLoopback(String host) {
    return host.equals("localhost") || host.startsWith("127.") || host.equals("::1");
  }

  /** The port the proxy listens on (the real one when configured as 0). */
  public int port() {
    Listener l = listener;
    return l == null ? -1 : l.port();
  }

  /** The admin port, or -1 when the admin listener is off. */
  public int adminPort() {
    return adminPort;
  }

  /** Client connections open now (bounded by {@code listen.max-connections}). */
  public int openClientConnections() {
    return connections == null ? 0 : connections.open();
  }

  /** Admin listener connections open now. */
  public int openAdminConnections() {
    return adminConnections == null ? 0 : adminConnections.open();
  }

  /** Client connections closed at accept because {@code listen.max-connections} was reached (those that wait are not counted). */
  public long rejectedClientConnections() {
    return connections == null ? 0 : connections.rejected();
  }

  /** The origin pools: their servers' health and counters (null before {@link #start()}). */
  public dev.zcproxy.proxy.origin.OriginPools origins() {
    return origins;
  }

  public ProxyMetrics metrics() {
    return metrics;
  }

  /** The store, or {@code null} when caching is disabled. */
  public DiskStore store() {
    return store;
  }

  public boolean nativeTransport() {
    return vertx != null && vertx.isNativeTransportEnabled();
  }

  /**
   * Stops gracefully: stops accepting, lets in-flight responses finish within the configured grace,
   * then closes the store (in-flight fills that did not finish are dropped, never published partial).
   */
  public Future<Void> close() {
    if (vertx == null) {
      return Future.succeededFuture();
    }
    lifecycle.stopping();
    long grace = config.listen().shutdownGrace().toMillis();
    List<Future<Void>> shutdowns = new ArrayList<>();
    Listener l = listener;
    if (l != null) {
      for (HttpServer s : l.servers()) {
        shutdowns.add(s.shutdown(grace, TimeUnit.MILLISECONDS));
      }
    }
    AdminServer admin = this.admin;
    Promise<Void> done = Promise.promise();
    Future.join(shutdowns)
        .eventually(() -> admin == null ? Future.succeededFuture() : admin.close())
        .eventually(() -> ownerRoute == null ? Future.succeededFuture() : ownerRoute.close())
        .eventually(() -> cluster == null ? Future.succeededFuture() : cluster.close())
        .eventually(() -> origins == null ? Future.succeededFuture() : origins.close())
        .eventually(() -> {
          if (store != null) {
            store.close();
          }
          if (cacheIo != null) {
            cacheIo.shutdown();
          }
          return vertx.close();
        })
        .onComplete(ar -> {
          if (handler != null) {
            handler.closeFiles(); // fills whose last step was posted to a loop that had stopped
          }
          lastResponses.close(); // the loops have stopped: released here
          done.complete();
        });
    return done.future();
  }
}
