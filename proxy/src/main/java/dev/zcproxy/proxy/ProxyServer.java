package dev.zcproxy.proxy;

import static java.util.Objects.requireNonNull;

import dev.zcproxy.cache.policy.CachePolicy;
import dev.zcproxy.cache.policy.PolicyConfig;
import dev.zcproxy.cache.store.DiskStore;
import dev.zcproxy.cache.store.StoreConfig;
import dev.zcproxy.proxy.admin.AdminServer;
import dev.zcproxy.proxy.admin.ProxyMetrics;
import dev.zcproxy.proxy.config.ProxyConfig;
import dev.zcproxy.proxy.internal.HalfClose;
import dev.zcproxy.proxy.internal.StrictRequestDecoder;
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
  private dev.zcproxy.proxy.origin.OriginPools origins;
  private ProxyHandler handler;
  private AdminServer admin;
  private int port = -1;
  private int adminPort = -1;
  private ClientConnections connections;

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
    origins = dev.zcproxy.proxy.origin.OriginPools.build(vertx, config, metrics.registry());
    dev.zcproxy.proxy.server.SiteRouter router = new dev.zcproxy.proxy.server.SiteRouter(config, origins, policy);
    origins.start();
    handler = new ProxyHandler(vertx, config, policy, store, router, new BodyTransfer(config.transfer().sendfile(), cacheIo),
        metrics, clock, cacheIo);
    HttpServerOptions options = new HttpServerOptions()
        .setHost(config.listen().address().host())
        .setPort(config.listen().address().port() == 0 && loops > 1 ? -1 : config.listen().address().port())
        .setMaxHeaderSize(config.listen().maxHeaderBytes())
        .setMaxInitialLineLength(config.listen().maxInitialLineBytes())
        .setIdleTimeout((int) config.listen().idleTimeout().toSeconds())
        .setIdleTimeoutUnit(TimeUnit.SECONDS)
        .setCompressionSupported(false)
        // 100 Continue is sent by the handler once the request passed its checks and its body is wanted.
        .setHandle100ContinueAutomatically(false)
        // HTTP/1.x only: the strict request decoder is installed per connection before its first byte,
        // which the h2c detector would delay until after the first request was parsed.
        .setHttp2ClearTextEnabled(false)
        .setTcpNoDelay(true);
    ClientConnections conns = new ClientConnections(config.listen().maxConnections(), config.listen().requestHeadTimeout().toMillis());
    connections = conns;
    Future<String> deployed = vertx.deployVerticle(() -> new io.vertx.core.VerticleBase() {
      @Override
      public Future<?> start() {
        return vertx.createHttpServer(options)
            .connectionHandler(conn -> {
              if (!conns.accept(conn)) {
                return; // over listen.max-connections: closed at once
              }
              // A client that resets or hangs up mid-response is an everyday event, not an error of the
              // proxy (Vert.x logs it at ERROR without a handler); the response's own outcome is logged.
              conn.exceptionHandler(t -> LOG.debug("client connection {}: {}", conn.remoteAddress(), t.toString()));
              StrictRequestDecoder.install(conn, options);
              if (!HalfClose.install(conn)) {
                LOG.debug("half-closed clients not answered on {}", conn.getClass().getSimpleName());
              }
            })
            .requestHandler(handler)
            .invalidRequestHandler(handler.invalidRequestHandler())
            .listen()
            .onSuccess(servers::add);
      }
    }, new DeploymentOptions().setInstances(loops));
    Future<Void> started = deployed.map(id -> {
      port = servers.get(0).actualPort();
      return null;
    });
    if (config.admin().enabled()) {
      admin = new AdminServer(vertx, metrics, store, config.admin().token(), clock, policy);
      admin.sites(origins::toJson, router::keyOf);
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

  /** The one line printed at start: listen address, origin, cache, transport and transfer mode. */
  public String startupLine() {
    String transport = vertx.isNativeTransportEnabled() ? "epoll" : "nio";
    ProxyConfig.Cache c = config.cache();
    String cache = c.enabled() ? c.dir().toAbsolutePath().normalize() + " (" + Sizes.human(c.maxSizeBytes()) + ")" : "disabled";
    String hits = config.transfer().sendfile() ? "sendfile" : "copy";
    return "zcproxy listening on http://" + config.listen().address().host() + ":" + port
        + (config.sites().configured() ? " -> " + config.sites().list().size() + " sites" : " -> origin " + config.origin().url())
        + ", cache " + cache
        + ", transport " + transport
        + ", hits by " + hits
        + (adminPort > 0 ? ", admin http://" + config.admin().address().host() + ":" + adminPort
            + (config.admin().hasToken() ? " (purge needs the admin token)"
                : " (no admin token: purge refused; set admin.token or ZCPROXY_ADMIN_TOKEN)") : "");
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
          done.complete();
        });
    return done.future();
  }
}
