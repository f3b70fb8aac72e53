package dev.zcproxy.proxy.origin;

import dev.zcproxy.proxy.config.Sites;
import dev.zcproxy.proxy.internal.OriginCodec;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetSocket;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The servers behind one site or route: picks one per request ({@link Balancer}), keeps their health
 * ({@link OriginServer}, {@link HealthChecker}), retries idempotent requests on another server, and
 * bounds the requests in flight with a queue.
 *
 * <h2>Design notes</h2>
 * <ul>
 *   <li><b>Retries.</b> A request goes to another server (at most {@code retries} more times) only when
 *       its method is idempotent (RFC 9110 §9.2.2: GET, HEAD, OPTIONS, TRACE, PUT, DELETE), no byte of a
 *       response reached the client (no interim response was forwarded), and the origin failed before any
 *       response byte: refused or timed-out connect, or a connection closed or reset before the head. A
 *       first-byte timeout is not retried (the origin may still be working on it), nor is anything for
 *       POST or PATCH. A request that never left the proxy (OriginCodec's dirty connection) is resent by
 *       {@link OriginClient} itself, as before pools.
 *   <li><b>Limits.</b> With {@code max-connections} set, at most that many requests are in flight to the
 *       pool at once (each holds one origin connection); more wait in a FIFO queue of {@code queue} for at
 *       most {@code queue-timeout}; a full queue or a wait that times out fails with
 *       {@link Unavailable} (503), so a slow origin holds only its own site's requests.
 *   <li><b>No server.</b> When no server is usable the request fails at once with {@link Unavailable}
 *       ({@code no-healthy-origin}); the handler serves stale where stale-if-error allows, else 503.
 *   <li>Each server's {@link OriginClient} keeps one connection pool per event loop, so a request still
 *       runs on its client's loop and bodies can be spliced.
 * </ul>
 */
public final class OriginPool {
  /** RFC 9110 §9.2.2. */
  private static final Set<HttpMethod> IDEMPOTENT = Set.of(HttpMethod.GET, HttpMethod.HEAD, HttpMethod.OPTIONS,
      HttpMethod.TRACE, HttpMethod.PUT, HttpMethod.DELETE);

  /** Why a request could not be given to any server: answered 503 (or stale). */
  public static final class Unavailable extends RuntimeException {
    private final String detail;

    Unavailable(String detail, String message) {
      super(message, null, false, false);
      this.detail = detail;
    }

    /** The {@code Cache-Status} detail: {@code no-healthy-origin}, {@code queue-full} or {@code queue-timeout}. */
    public String detail() {
      return detail;
    }
  }

  private final Vertx vertx;
  private final String site;
  private final String name;
  private final Sites.Pool config;
  private final boolean preserveHost;
  private final List<OriginServer> servers;
  private final Balancer<OriginServer> balancer;
  private final HealthChecker checker;
  private final boolean ownsClients;
  /** Guarded by {@code this}: requests in flight and the ones waiting for a slot. */
  private int active;
  private final ArrayDeque<Waiter> waiting = new ArrayDeque<>();
  private final java.util.concurrent.atomic.LongAdder rejected = new java.util.concurrent.atomic.LongAdder();

  /**
   * @param site the site's name, for metrics and the admin API
   * @param name the pool's name within the site: {@code /} for the site's, else its route prefix
   * @param clients one client per server of {@code config}, in order; closed with the pool if {@code ownsClients}
   * @param preserveHost whether the client's {@code Host} goes to the origin (else each server's own)
   */
  OriginPool(Vertx vertx, String site, String name, Sites.Pool config, List<OriginClient> clients, boolean preserveHost,
      boolean ownsClients) {
    this.vertx = vertx;
    this.site = site;
    this.name = name;
    this.config = config;
    this.preserveHost = preserveHost;
    this.ownsClients = ownsClients;
    List<OriginServer> list = new ArrayList<>();
    for (int i = 0; i < config.servers().size(); i++) {
      list.add(new OriginServer(config.servers().get(i), clients.get(i), config.health(), config.servers().size() > 1));
    }
    this.servers = List.copyOf(list);
    this.balancer = Balancer.of(config.balance(), servers);
    this.checker = config.health().active() ? new HealthChecker(vertx, servers, config.health()) : null;
  }

  /** A pool of one server reached through {@code client}: the {@code origin.url} shorthand. */
  public static OriginPool single(Vertx vertx, OriginClient client, dev.zcproxy.proxy.config.ProxyConfig.OriginUrl url,
      boolean preserveHost) {
    return new OriginPool(vertx, "default", "/", Sites.Pool.single(url), List.of(client), preserveHost, false);
  }

  /** Starts the active health checks, if configured. */
  void start() {
    if (checker != null) {
      checker.start();
    }
  }

  public String site() {
    return site;
  }

  public String name() {
    return name;
  }

  public List<OriginServer> servers() {
    return servers;
  }

  Sites.Pool config() {
    return config;
  }

  long rejected() {
    return rejected.sum();
  }

  synchronized int queued() {
    return waiting.size();
  }

  /**
   * Sends a request to a server of this pool, as {@link OriginClient#send(HttpMethod, String, MultiMap,
   * OriginBody, OriginCodec.InterimListener)} does, choosing the server by {@code key} (the cache key)
   * and retrying on another as described above. Fails with {@link Unavailable} when no server can take it.
   */
  public Future<HttpClientResponse> send(HttpMethod method, String uri, MultiMap headers, OriginBody body,
      OriginCodec.InterimListener interim, String key) {
    Attempt a = new Attempt(method, uri, headers, body, interim, key);
    if (config.maxConnections() == 0) {
      a.next(null);
      return a.result.future();
    }
    acquire().onComplete(ar -> {
      if (ar.failed()) {
        a.result.fail(ar.cause());
      } else {
        a.holdsSlot = true;
        a.next(null);
      }
    });
    return a.result.future();
  }

  /** One request's way through the pool: the servers it tried and its outcome. */
  private final class Attempt {
    final HttpMethod method;
    final String uri;
    final MultiMap headers;
    final OriginBody body;
    final OriginCodec.InterimListener interim;
    final String key;
    final Promise<HttpClientResponse> result = Promise.promise();
    final List<OriginServer> tried = new ArrayList<>(2);
    boolean holdsSlot;
    volatile boolean interimSent;

    Attempt(HttpMethod method, String uri, MultiMap headers, OriginBody body, OriginCodec.InterimListener interim, String key) {
      this.method = method;
      this.uri = uri;
      this.headers = headers;
      this.body = body;
      this.key = key == null ? uri : key;
      this.interim = interim == null ? null : (status, reason, h) -> {
        interimSent = true;
        interim.interim(status, reason, h);
      };
    }

    void next(Throwable lastFailure) {
      long now = System.nanoTime();
      OriginServer s = balancer.pick(key, c -> !tried.contains(c) && c.usable(now));
      if (s == null) {
        release();
        result.fail(lastFailure != null ? lastFailure
            : new Unavailable("no-healthy-origin", "no healthy origin server in pool " + site + name));
        return;
      }
      tried.add(s);
      if (!preserveHost) {
        headers.set(HttpHeaders.HOST, s.authority());
      }
      s.started();
      s.client().send(method, uri, headers, body, interim).onComplete(ar -> {
        long t = System.nanoTime();
        if (ar.failed()) {
          s.ended();
          Throwable cause = ar.cause();
          s.requestResult(true, String.valueOf(cause.getMessage()), t);
          if (retriable(cause) && tried.size() <= config.retries()) {
            next(cause);
          } else {
            release();
            result.fail(cause);
          }
          return;
        }
        HttpClientResponse cres = ar.result();
        boolean failed = cres.statusCode() >= 500;
        s.requestResult(failed, failed ? "status " + cres.statusCode() : null, t); // no string per good response
        // In flight until the body has been read (or the exchange failed): least-requests and the limit count it.
        cres.end().onComplete(done -> {
          s.ended();
          release();
        });
        result.complete(cres);
      });
    }

    private boolean retriable(Throwable cause) {
      if (!IDEMPOTENT.contains(method) || interimSent) {
        return false;
      }
      if (OriginClient.isTimeout(cause)) {
        return connectTimeout(cause); // a first-byte timeout may still be processing: never again
      }
      return true; // refused, reset or closed before any response byte
    }

    private void release() {
      if (holdsSlot) {
        holdsSlot = false;
        OriginPool.this.release();
      }
    }
  }

  /**
   * The server a request may be sent to directly, not through {@link #send}: the pool's only server when it is
   * usable and the pool has no request limit (then {@code send} would pick it and not retry elsewhere); else
   * {@code null}. Such a request is counted with {@link #directStarted}, {@link #directResult}, {@link #directEnded}.
   */
  public OriginServer direct() {
    if (servers.size() != 1 || config.maxConnections() != 0) {
      return null;
    }
    OriginServer s = servers.get(0);
    return s.usable(System.nanoTime()) ? s : null;
  }

  /** A request sent directly to {@code s} ({@link #direct}) started. */
  public void directStarted(OriginServer s) {
    s.started();
  }

  /** A direct request's outcome, as {@link #send} records it: {@code failed} for an error or a 5xx. */
  public void directResult(OriginServer s, boolean failed, String problem) {
    s.requestResult(failed, problem, System.nanoTime());
  }

  /** A direct request ended (its body read, or it failed). */
  public void directEnded(OriginServer s) {
    s.ended();
  }

  /** The origin leg of a tunnel: the raw connection and the server it reached. */
  public record TunnelLeg(NetSocket socket, OriginServer server) {}

  /** Whether the client's {@code Host} goes to the origin (else each server's own authority). */
  public boolean preserveHost() {
    return preserveHost;
  }

  /**
   * Opens a raw connection for a tunnel (CONNECT, WebSocket) to a server of this pool, with {@code client}:
   * picked by the balancer for {@code key} among the usable servers, the next one after a failed connect (at
   * most {@code retries} more), each outcome counted in the server's health like a request's. {@code port}
   * above 0 replaces the server's port (a CONNECT names its own). Servers reached over https are skipped:
   * a raw tunnel cannot carry their TLS. Fails with {@link Unavailable} when no server can be tried, else
   * with the last connect failure.
   */
  public Future<TunnelLeg> connectTunnel(NetClient client, String key, int port) {
    Promise<TunnelLeg> result = Promise.promise();
    connectTunnel(client, key, port, new ArrayList<>(2), null, result);
    return result.future();
  }

  private void connectTunnel(NetClient client, String key, int port, List<OriginServer> tried, Throwable last,
      Promise<TunnelLeg> result) {
    long now = System.nanoTime();
    OriginServer s = tried.size() > config.retries() ? null
        : balancer.pick(key, c -> !tried.contains(c) && !c.url().tls() && c.usable(now));
    if (s == null) {
      result.fail(last != null ? last : new Unavailable("no-healthy-origin", "no healthy plain-http origin server in pool "
          + site + name + " for a tunnel"));
      return;
    }
    tried.add(s);
    client.connect(port > 0 ? port : s.url().port(), s.url().host()).onComplete(ar -> {
      s.requestResult(ar.failed(), ar.failed() ? "tunnel connect: " + ar.cause().getMessage() : null, System.nanoTime());
      if (ar.succeeded()) {
        result.complete(new TunnelLeg(ar.result(), s));
      } else {
        connectTunnel(client, key, port, tried, ar.cause(), result);
      }
    });
  }

  private static boolean connectTimeout(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof io.netty.channel.ConnectTimeoutException) {
        return true;
      }
    }
    return false;
  }

  // ---------------------------------------------------------------- limit and queue

  private record Waiter(Promise<Void> promise, Context context, long[] timer) {}

  private Future<Void> acquire() {
    Context ctx = vertx.getOrCreateContext();
    Waiter w;
    synchronized (this) {
      if (active < config.maxConnections()) {
        active++;
        return Future.succeededFuture();
      }
      if (waiting.size() >= config.queue()) {
        rejected.increment();
        return Future.failedFuture(new Unavailable("queue-full", "pool " + site + name + ": " + active
            + " requests in flight and " + waiting.size() + " queued"));
      }
      w = new Waiter(Promise.promise(), ctx, new long[1]);
      waiting.add(w);
    }
    w.timer()[0] = ctx.owner().setTimer(config.queueTimeout().toMillis(), id -> {
      boolean removed;
      synchronized (this) {
        removed = waiting.remove(w);
      }
      if (removed) {
        rejected.increment();
        w.promise().tryFail(new Unavailable("queue-timeout", "pool " + site + name + ": no free connection within "
            + config.queueTimeout().toMillis() + " ms"));
      }
    });
    return w.promise().future();
  }

  private void release() {
    Waiter w;
    synchronized (this) {
      w = waiting.poll();
      if (w == null) {
        active--;
        return;
      }
    }
    // The slot passes to the oldest waiter, on its own event loop (its origin client is that loop's).
    vertx.cancelTimer(w.timer()[0]);
    w.context().runOnContext(v -> {
      if (!w.promise().tryComplete()) {
        release();
      }
    });
  }

  Future<Void> close() {
    if (checker != null) {
      checker.stop();
    }
    List<Future<Void>> closing = new ArrayList<>();
    if (ownsClients) {
      for (OriginServer s : servers) {
        closing.add(s.client().close());
      }
    }
    return Future.join(closing).mapEmpty();
  }
}
