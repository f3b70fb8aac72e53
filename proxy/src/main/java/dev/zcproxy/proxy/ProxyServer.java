package dev.zcproxy.proxy;

import static java.util.Objects.requireNonNull;

import dev.zcproxy.cache.policy.CachePolicy;
import dev.zcproxy.cache.policy.PolicyConfig;
import dev.zcproxy.cache.store.DiskStore;
import dev.zcproxy.cache.store.StoreConfig;
import dev.zcproxy.proxy.admin.AdminServer;
import dev.zcproxy.proxy.admin.ProxyMetrics;
import dev.zcproxy.proxy.config.ProxyConfig;
import dev.zcproxy.proxy.internal.ClientChannels;
import dev.zcproxy.proxy.internal.HalfClose;
import dev.zcproxy.proxy.internal.StrictRequestDecoder;
import dev.zcproxy.proxy.origin.OriginClient;
import dev.zcproxy.proxy.server.ProxyHandler;
import dev.zcproxy.proxy.transfer.BodyTransfer;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
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

  private final ProxyConfig config;
  private final LongSupplier clock;
  /** How often the ban sweep runs on the cache I/O pool. */
  private static final long BAN_SWEEP_MILLIS = 60_000;
  private final ProxyMetrics metrics = new ProxyMetrics();
  private final List<HttpServer> servers = Collections.synchronizedList(new ArrayList<>());
  private Vertx vertx;
  private ExecutorService cacheIo;
  private DiskStore store;
  private OriginClient origin;
  private ProxyHandler handler;
  private AdminServer admin;
  private int port = -1;
  private int adminPort = -1;
  private ClientConnections connections;
  private List<Listeners.Spec> listeners = List.of();
  /** Each listener's server instances (one per event loop), by index in {@link #listeners}. */
  private final java.util.Map<Integer, List<HttpServer>> listenerServers = new java.util.concurrent.ConcurrentHashMap<>();
  private int plainPort = -1;
  private CertificateFiles certificates;
  private io.vertx.core.net.KeyCertOptions certs;

  public ProxyServer(ProxyConfig config) {
    this(config, System::currentTimeMillis);
  }

  /** @param clock epoch milliseconds, used for every HTTP date and age decision */
  public ProxyServer(ProxyConfig config, LongSupplier clock) {
    this.config = requireNonNull(config, "config");
    this.clock = requireNonNull(clock, "clock");
  }

  /** Starts every listener; completes when the proxy accepts connections. */
  public Future<Void> start() {
    int loops = config.listen().eventLoops() > 0 ? config.listen().eventLoops() : Runtime.getRuntime().availableProcessors();
    // Vert.x's HTTP server, client and pool metrics go into the registry /metrics scrapes
    vertx = Vertx.builder()
        .with(new VertxOptions()
            .setEventLoopPoolSize(loops)
            .setPreferNativeTransport(config.transfer().nativeTransport())
            .setMetricsOptions(new MicrometerMetricsOptions().setEnabled(true)))
        .withMetrics(new MicrometerMetricsFactory(metrics.registry()))
        .build();
    if (config.transfer().nativeTransport() && !vertx.isNativeTransportEnabled()) {
      LOG.warn("native epoll transport unavailable, using NIO: {}", String.valueOf(vertx.unavailableNativeTransportCause()));
    }
    ProxyConfig.Cache c = config.cache();
    CachePolicy policy = new CachePolicy(new PolicyConfig(c.heuristicFraction(), c.heuristicMax().toSeconds(), c.keep().toSeconds(),
        c.cdnCacheControl(), c.surrogateControl(), c.maxVariants(), Math.min(c.maxObjectBytes(), c.maxSizeBytes()), c.setCookie()));
    AtomicInteger n = new AtomicInteger();
    cacheIo = Executors.newFixedThreadPool(4, r -> {
      Thread t = new Thread(r, "cache-io-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    if (c.enabled()) {
      store = DiskStore.open(new StoreConfig(c.dir(), c.maxSizeBytes(), c.fsync(),
          c.indexHeap().resolve(Runtime.getRuntime().maxMemory()), c.minFreeBytes(), c.tagHeaders()), cacheIo, clock,
          policy::retainUntil);
      metrics.cacheGauges(store::entryCount, store::weightedBytes);
      DiskStore s = store;
      vertx.setPeriodic(30_000, id -> cacheIo.execute(s::cleanUp));
      metrics.banGauge(s::banMatches);
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
    try {
      origin = new OriginClient(vertx, config.origin());
    } catch (IllegalArgumentException e) {
      return Future.failedFuture(e); // an origin.tls file that cannot be read
    }
    handler = new ProxyHandler(vertx, config, policy, store, origin, new BodyTransfer(config.transfer().sendfile(), cacheIo),
        metrics, clock, cacheIo);
    ProxyConfig.ListenTls tls = config.listen().tls();
    if (tls.enabled()) {
      certificates = new CertificateFiles(tls.certificates());
      try {
        certs = certificates.load();
      } catch (IllegalArgumentException e) {
        return Future.failedFuture(e);
      }
    }
    List<Listeners.Spec> specs = Listeners.specs(config.listen(), loops, certs);
    listeners = specs;
    ClientConnections conns = new ClientConnections(config.listen().maxConnections(), config.listen().requestHeadTimeout().toMillis());
    connections = conns;
    Future<String> deployed = vertx.deployVerticle(() -> new io.vertx.core.VerticleBase() {
      @Override
      public Future<?> start() {
        List<Future<HttpServer>> listening = new ArrayList<>();
        for (int i = 0; i < specs.size(); i++) {
          int index = i;
          HttpServerOptions options = specs.get(i).options();
          listening.add(vertx.createHttpServer(options)
              .connectionHandler(conn -> {
                if (!conns.accept(conn)) {
                  return; // over listen.max-connections: closed at once
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
              })
              .requestHandler(handler)
              .invalidRequestHandler(handler.invalidRequestHandler())
              .listen()
              .onSuccess(s -> {
                servers.add(s);
                listenerServers.computeIfAbsent(index, k -> Collections.synchronizedList(new ArrayList<>())).add(s);
              }));
        }
        return Future.all(listening);
      }
    }, new DeploymentOptions().setInstances(loops));
    Future<Void> started = deployed.map(id -> {
      port = listenerServers.get(0).get(0).actualPort();
      if (specs.size() > 1) {
        plainPort = listenerServers.get(1).get(0).actualPort();
      }
      if (tls.enabled() && !tls.reloadCheck().isZero()) {
        vertx.setPeriodic(tls.reloadCheck().toMillis(), id2 -> {
          try {
            cacheIo.execute(() -> reloadCertificates(false));
          } catch (java.util.concurrent.RejectedExecutionException closing) {
            // the proxy is closing
          }
        });
      }
      return null;
    });
    if (config.admin().enabled()) {
      admin = new AdminServer(vertx, metrics, store, config.admin().token(), clock, policy);
      if (!config.admin().hasToken() && !isLoopback(config.admin().address().host())) {
        LOG.warn("admin listener on {} without admin.token: purge is refused, but /stats and /metrics are readable by"
            + " anyone who can reach it", config.admin().address());
      }
      started = started.compose(v -> admin.listen(config.admin().address().host(), config.admin().address().port()))
          .map(p -> {
            adminPort = p;
            return null;
          });
    }
    return started;
  }

  /** The one line printed at start: listeners (protocols, how hits move), origin, cache, transport. */
  public String startupLine() {
    String transport = vertx.isNativeTransportEnabled() ? "epoll" : "nio";
    ProxyConfig.Cache c = config.cache();
    String cache = c.enabled() ? c.dir().toAbsolutePath().normalize() + " (" + Sizes.human(c.maxSizeBytes()) + ")" : "disabled";
    StringBuilder listening = new StringBuilder();
    for (int i = 0; i < listeners.size(); i++) {
      Listeners.Spec l = listeners.get(i);
      listening.append(i == 0 ? "" : " and ").append(l.scheme()).append("://").append(l.address().host()).append(':')
          .append(i == 0 ? port : plainPort).append(" (").append(l.describe(config.transfer().sendfile())).append(')');
    }
    return "zcproxy listening on " + listening
        + " -> origin " + config.origin().url()
        + ", cache " + cache
        + ", transport " + transport
        + (adminPort > 0 ? ", admin http://" + config.admin().address().host() + ":" + adminPort
            + (config.admin().hasToken() ? " (purge needs the admin token)"
                : " (no admin token: purge refused; set admin.token or ZCPROXY_ADMIN_TOKEN)") : "");
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
    List<HttpServer> tlsServers = listenerServers.getOrDefault(0, List.of());
    List<Future<Boolean>> updates = new ArrayList<>();
    synchronized (tlsServers) {
      for (HttpServer s : tlsServers) {
        io.vertx.core.net.ServerSSLOptions o = listeners.get(0).options().getSslOptions().copy().setKeyCertOptions(fresh);
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
    return plainPort;
  }

  private static boolean isLoopback(String host) {
    return host.equals("localhost") || host.startsWith("127.") || host.equals("::1");
  }

  /** The port the proxy listens on (the real one when configured as 0). */
  public int port() {
    return port;
  }

  /** The admin port, or -1 when the admin listener is off. */
  public int adminPort() {
    return adminPort;
  }

  /** Client connections open now (bounded by {@code listen.max-connections}). */
  public int openClientConnections() {
    return connections == null ? 0 : connections.open();
  }

  /** Client connections closed at accept because {@code listen.max-connections} was reached. */
  public long rejectedClientConnections() {
    return connections == null ? 0 : connections.rejected();
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
    long grace = config.listen().shutdownGrace().toMillis();
    List<Future<Void>> shutdowns = new ArrayList<>();
    synchronized (servers) {
      for (HttpServer s : servers) {
        shutdowns.add(s.shutdown(grace, TimeUnit.MILLISECONDS));
      }
    }
    Promise<Void> done = Promise.promise();
    Future.join(shutdowns)
        .eventually(() -> admin == null ? Future.succeededFuture() : admin.close())
        .eventually(() -> origin == null ? Future.succeededFuture() : origin.close())
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
          done.complete();
        });
    return done.future();
  }
}
