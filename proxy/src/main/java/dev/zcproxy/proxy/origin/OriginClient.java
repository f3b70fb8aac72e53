package dev.zcproxy.proxy.origin;

import dev.zcproxy.proxy.config.ProxyConfig;
import dev.zcproxy.proxy.internal.OriginCodec;
import dev.zcproxy.proxy.internal.OriginRequestHeaders;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import java.net.ConnectException;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends requests to the one configured origin over a pooled, keep-alive Vert.x {@link HttpClient}
 * with connect, first-byte and idle timeouts.
 */
public final class OriginClient {
  private static final Logger LOG = LoggerFactory.getLogger(OriginClient.class);
  private final Vertx vertx;
  /** The pools requests go to now; {@link #reconfigure} swaps in new ones and retires these. */
  private volatile Pools pools;
  /** Pools retired by a reload whose in-flight requests are still finishing. */
  private final java.util.Set<Pools> retiring = java.util.concurrent.ConcurrentHashMap.newKeySet();

  /**
   * Whether this client sends to {@code origin.url} (the one-site shorthand), so that a reload moves it
   * with that key; a server of a site's pool keeps its own URL.
   */
  private final boolean followsConfigUrl;

  /** Errors on origin connections outside any request's handling (a reset of an idle connection, for one). */
  private final java.util.concurrent.atomic.LongAdder connectionErrors = new java.util.concurrent.atomic.LongAdder();

  /** Told of each event loop's connections opening and closing, or {@code null}. */
  private volatile LoopConnections loopConnections;

  /**
   * Told, on an event loop, that this client's pool of that loop opened or closed a connection: the front pass pool
   * ({@code PassChannels}) keeps {@code origin.max-connections} across its connections and these.
   */
  public interface LoopConnections {
    void opened();

    void closed();
  }

  public OriginClient(Vertx vertx, ProxyConfig.Origin config) {
    this(vertx, config, config.url());
  }

  /** A client of the server at {@code url} (one of a site's pool) with the timeouts and limits of {@code config}. */
  public OriginClient(Vertx vertx, ProxyConfig.Origin config, ProxyConfig.OriginUrl url) {
    this.vertx = vertx;
    // the one-site shorthand passes config.url() itself: no record equals on the way to the listener (its first
    // call bootstraps ObjectMethods, 17 method-handle classes spun on the main thread)
    this.followsConfigUrl = url == config.url() || url.equals(config.url());
    this.pools = new Pools(config, url);
  }

  /**
   * The HTTP clients of one origin configuration, counted: each request holds them from before it
   * asks for a connection until the origin's response head arrived (or the request failed), and the
   * "current" reference holds them until a reload replaces them. When the count reaches zero they are
   * shut down gracefully: Vert.x closes each connection once its response is complete.
   */
  private final class Pools {
    final ProxyConfig.Origin config;
    /** The server to send to; {@code config.url()} unless a pool gave another. */
    final ProxyConfig.OriginUrl url;
    /** TLS towards an https origin, or {@code null} for http. */
    final OriginTls tls;
    final HttpClient shared;
    /**
     * One pool per event loop: a connection then always lives on the loop of the client requests that
     * use it, which lets a body be spliced socket to socket (both channels on one loop) and saves a
     * thread hop per response. {@code origin.max-connections} applies to each loop's pool.
     */
    final java.util.Map<Thread, HttpClient> perLoop = new java.util.concurrent.ConcurrentHashMap<>();
    /** The connections each loop's pool has open now (changed and read on that loop). */
    final java.util.Map<Thread, java.util.concurrent.atomic.AtomicInteger> openPerLoop =
        new java.util.concurrent.ConcurrentHashMap<>();
    final java.util.concurrent.atomic.AtomicInteger refs = new java.util.concurrent.atomic.AtomicInteger(1);
    volatile long graceMillis;

    Pools(ProxyConfig.Origin config, ProxyConfig.OriginUrl url) {
      this.config = config;
      this.url = url;
      this.tls = url.tls() ? new OriginTls(config.tls()) : null;
      this.shared = build(config, url, null);
    }

    boolean retain() {
      for (int n = refs.get(); n > 0; n = refs.get()) {
        if (refs.compareAndSet(n, n + 1)) {
          return true;
        }
      }
      return false;
    }

    void release() {
      if (refs.decrementAndGet() == 0) {
        shutdown(graceMillis).onComplete(v -> retiring.remove(this));
      }
    }

    HttpClient client() {
      io.vertx.core.Context ctx = Vertx.currentContext();
      if (ctx == null || !ctx.isEventLoopContext() || !io.vertx.core.Context.isOnEventLoopThread()) {
        return shared;
      }
      HttpClient c = perLoop.get(Thread.currentThread()); // no capturing lambda per request once built
      return c != null ? c : perLoop.computeIfAbsent(Thread.currentThread(),
          t -> build(config, url, openPerLoop.computeIfAbsent(t, k -> new java.util.concurrent.atomic.AtomicInteger())));
    }

    Future<Void> shutdown(long millis) {
      java.util.List<Future<Void>> closing = new java.util.ArrayList<>();
      closing.add(shared.shutdown(millis, java.util.concurrent.TimeUnit.MILLISECONDS));
      perLoop.values().forEach(c -> closing.add(c.shutdown(millis, java.util.concurrent.TimeUnit.MILLISECONDS)));
      return Future.join(closing).mapEmpty();
    }
  }

  /** The pools in service, held for one request: {@link Pools#release()} when done with them. */
  private Pools acquire() {
    while (true) {
      Pools p = pools;
      if (p.retain()) {
        return p;
      }
    }
  }

  /**
   * Sends the requests from now on with {@code next} (new connection pools to its URL, with its
   * timeouts and limits); requests already sent finish on the old pools, which are then shut down,
   * their connections closed once their responses are complete or after {@code grace}.
   */
  public void reconfigure(ProxyConfig.Origin next, java.time.Duration grace) {
    Pools old;
    synchronized (this) {
      old = pools;
      pools = new Pools(next, followsConfigUrl ? next.url() : old.url);
    }
    old.graceMillis = grace.toMillis();
    retiring.add(old);
    old.release();
  }

  /** The server requests are sent to now. */
  public ProxyConfig.OriginUrl url() {
    return pools.url;
  }

  /** Connections the pool of the calling event loop has open now (0 off an event loop or before its first request). */
  public int openOnThisLoop() {
    java.util.concurrent.atomic.AtomicInteger n = pools.openPerLoop.get(Thread.currentThread());
    return n == null ? 0 : n.get();
  }

  /** Tells {@code listener} (replacing the last one) of each loop's connections opening and closing. */
  public void loopConnections(LoopConnections listener) {
    this.loopConnections = listener;
  }

  /**
   * Errors on origin connections that no request was told of (a reset or a malformed byte on a pooled connection):
   * counted and logged at DEBUG, where Vert.x would log each at ERROR.
   */
  public long connectionErrors() {
    return connectionErrors.sum();
  }

  /** The origin settings requests are sent with now. */
  public ProxyConfig.Origin config() {
    return pools.config;
  }

  /** @param open where the connections the client opens are counted ({@code null}: the shared client, not counted) */
  private HttpClient build(ProxyConfig.Origin config, ProxyConfig.OriginUrl url,
      java.util.concurrent.atomic.AtomicInteger open) {
    HttpClientOptions options = new HttpClientOptions()
        .setKeepAlive(true)
        .setKeepAliveTimeout((int) Math.max(1, config.keepAliveTimeout().toSeconds()))
        .setConnectTimeout((int) config.connectTimeout().toMillis())
        // The body idle timeout is the connection's: a request's own idle timer (RequestOptions) is
        // cancelled by Vert.x when the head arrives, and one set after that is never cancelled, so
        // each would pin its request in the event loop's timer queue for the whole timeout.
        .setIdleTimeout((int) config.idleTimeout().toMillis())
        .setIdleTimeoutUnit(java.util.concurrent.TimeUnit.MILLISECONDS)
        .setTcpNoDelay(true)
        .setDecompressionSupported(false)
        .setMaxHeaderSize(64 * 1024)
        .setDefaultHost(url.host())
        .setDefaultPort(url.port());
    OriginTls tls = url.tls() ? new OriginTls(config.tls()) : null;
    if (tls != null) {
      tls.applyTo(options);
    }
    return vertx.httpClientBuilder()
        .with(options)
        .withConnectHandler(conn -> {
          // An origin that resets a pooled connection is an ordinary event; its request (if any) hears of it too
          conn.exceptionHandler(t -> {
            connectionErrors.increment();
            LOG.debug("origin connection {}: {}", conn.remoteAddress(), t.toString());
          });
          if (open != null) {
            open.incrementAndGet();
            dev.zcproxy.proxy.internal.ClientChannels.whenClosed(conn, () -> {
              open.decrementAndGet();
              LoopConnections l = loopConnections;
              if (l != null) {
                l.closed();
              }
            });
            LoopConnections l = loopConnections;
            if (l != null) {
              l.opened();
            }
          }
          if (!OriginCodec.install(conn, options)) {
            LOG.debug("origin connection keeps Vert.x's codec: {}", conn.getClass().getSimpleName());
          }
        })
        .with(new PoolOptions().setHttp1MaxSize(config.maxConnections()))
        .build();
  }

  /**
   * Sends a request and completes with the origin's response head (within the first-byte timeout);
   * its body is then read from the returned response (the connection's idle timeout applies).
   *
   * <p>The request is always framed here: {@code headers} must carry no {@code Content-Length} or
   * {@code Transfer-Encoding}; a body is sent with its own exact {@code Content-Length}.
   *
   * @param body the request body, read in full, or {@code null} for none
   */
  public Future<HttpClientResponse> send(HttpMethod method, String uri, MultiMap headers, OriginBody body) {
    return send(method, uri, headers, body, null);
  }

  /**
   * Like {@link #send(HttpMethod, String, MultiMap, OriginBody)}, handing the interim (1xx) responses
   * that come before the final one to {@code interim} (on the origin connection's event loop). The
   * returned response is never a 1xx unless the origin sent a 101.
   *
   * @param interim receives interim responses, or {@code null} to drop them
   */
  public Future<HttpClientResponse> send(HttpMethod method, String uri, MultiMap headers, OriginBody body,
      OriginCodec.InterimListener interim) {
    headers.remove("content-length");
    headers.remove("transfer-encoding");
    Sending sending = new Sending(method, uri, headers, body, interim);
    sending.attempt(); // a failure to even start the first attempt is thrown to the caller
    return sending.result.future();
  }

  private static Throwable unwrap(Throwable t) {
    return t instanceof StaleConnection ? t.getCause() : t;
  }

  /** RFC 9110 §9.2.2. */
  private static final java.util.Set<HttpMethod> IDEMPOTENT = java.util.Set.of(HttpMethod.GET, HttpMethod.HEAD,
      HttpMethod.OPTIONS, HttpMethod.TRACE, HttpMethod.PUT, HttpMethod.DELETE);

  /** A request on a reused pooled connection that closed before any byte of the response (its cause). */
  private static final class StaleConnection extends RuntimeException {
    private static final long serialVersionUID = 1L;

    StaleConnection(Throwable cause) {
      super(cause.getMessage(), cause, false, false);
    }
  }

  /** Whether {@code t} says the connection ended (closed or reset) before the response head. */
  private static boolean closedBeforeHead(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof io.vertx.core.http.HttpClosedException
          || (c instanceof java.io.IOException && !(c instanceof java.net.ConnectException))) {
        return true;
      }
    }
    return false;
  }

  /**
   * One request's way to its response head: at most two attempts, each holding the {@link Pools} it was sent with
   * until its response head arrived or it failed. A pooled connection closed because its origin sent bytes nobody
   * asked for refuses requests before writing a byte of them (OriginCodec); such a request never reached the origin
   * and goes again on another connection, body and all (the body is held in full). A written request goes again only
   * when it is idempotent (RFC 9110 §9.2.2) and went on a reused connection that closed before any byte of a
   * response (and no interim response): the race with the origin's keep-alive timeout, which nginx also retries once.
   *
   * <p>One listener per step on Vert.x's futures, not a chain of derived futures (compose, andThen, recover): every
   * pass sends one. Used on the event loop of the request that made it, one step after the other.
   */
  private final class Sending implements OriginCodec.InterimListener {
    final HttpMethod method;
    final String uri;
    final MultiMap headers;
    final OriginBody body;
    /** Where the interim responses go, or {@code null}: dropped. */
    final OriginCodec.InterimListener interim;
    final Promise<HttpClientResponse> result = Promise.promise();
    boolean interimSeen;
    boolean retried;

    Sending(HttpMethod method, String uri, MultiMap headers, OriginBody body, OriginCodec.InterimListener interim) {
      this.method = method;
      this.uri = uri;
      this.headers = headers;
      this.body = body;
      this.interim = interim;
    }

    @Override
    public void interim(int status, String reason, MultiMap h) {
      interimSeen = true;
      interim.interim(status, reason, h);
    }

    /** Sends once with the pools in service; throws what the request could not even start with. */
    void attempt() {
      Pools p = acquire();
      Future<HttpClientRequest> request;
      try {
        request = p.client().request(options(p));
      } catch (RuntimeException e) {
        p.release();
        throw e;
      }
      request.onComplete(ar -> {
        if (ar.failed()) {
          ended(p, false, null, ar.cause());
          return;
        }
        HttpClientRequest req = ar.result();
        boolean reused = false;
        Future<HttpClientResponse> resp;
        try {
          OriginRequestHeaders.give(req, headers); // not in the options: Vert.x would copy them into a map of its own
          OriginCodec codec = OriginCodec.of(req.connection()); // one pipeline look-up for both questions
          reused = codec != null && codec.carriedRequests();
          OriginCodec.InterimListener listener = interim == null ? null : this;
          if (codec != null) {
            codec.interimTo(listener);
          } else if (listener != null) {
            req.earlyHintsHandler(h -> listener.interim(103, "Early Hints", h));
          }
          if (body == null) {
            resp = req.send();
          } else {
            req.putHeader("content-length", Long.toString(body.length()));
            resp = body.sendWith(req);
          }
        } catch (RuntimeException e) {
          ended(p, false, null, e); // as before: a failure before the request went out is never a stale connection
          return;
        }
        boolean wasReused = reused;
        resp.onComplete(r -> ended(p, wasReused, r.succeeded() ? r.result() : null, r.cause()));
      });
    }

    private RequestOptions options(Pools p) {
      ProxyConfig.Origin config = p.config;
      RequestOptions ro = new RequestOptions()
          .setMethod(method)
          .setHost(p.tls == null ? p.url.host() : p.tls.serverName(p.url.host()))
          .setPort(p.url.port())
          .setURI(uri)
          .setConnectTimeout(config.connectTimeout().toMillis())
          .setIdleTimeout(config.firstByteTimeout().toMillis());
      if (p.tls != null && p.tls.overridesServerName()) {
        // connect to the URL's address, but send and verify the configured server name
        ro.setServer(io.vertx.core.net.SocketAddress.inetSocketAddress(p.url.port(), p.url.host()));
      }
      return ro;
    }

    /** An attempt ended with its response head ({@code failure == null}) or a failure. */
    private void ended(Pools p, boolean reused, HttpClientResponse response, Throwable failure) {
      p.release();
      if (failure == null) {
        result.complete(response);
        return;
      }
      Throwable t = reused && closedBeforeHead(failure) ? new StaleConnection(failure) : failure;
      if (!retried && (OriginCodec.notSent(t) || (t instanceof StaleConnection && IDEMPOTENT.contains(method) && !interimSeen))) {
        retried = true;
        try {
          attempt();
        } catch (RuntimeException e) {
          result.fail(e);
        }
        return;
      }
      result.fail(unwrap(t));
    }
  }

  /** Whether a failure was a timeout (answer 504) rather than an unreachable origin (502). */
  public static boolean isTimeout(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof TimeoutException || c instanceof io.netty.channel.ConnectTimeoutException
          || c.getClass().getSimpleName().contains("Timeout")) {
        return true;
      }
    }
    return false;
  }

  /**
   * Whether a failure was the TLS handshake with an https origin (an untrusted or expired certificate, a
   * host name that does not match, no common protocol): answered 502 with {@code detail=origin-tls-failed}.
   */
  public static boolean isTlsFailure(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof javax.net.ssl.SSLException || c instanceof java.security.cert.CertificateException) {
        return true;
      }
    }
    return false;
  }

  /** Whether a failure means the origin could not be reached at all. */
  public static boolean isConnectFailure(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof ConnectException) {
        return true;
      }
    }
    return false;
  }

  public Future<Void> close() {
    java.util.List<Future<Void>> closing = new java.util.ArrayList<>();
    closing.add(pools.shutdown(0));
    retiring.forEach(p -> closing.add(p.shutdown(0)));
    return Future.join(closing).mapEmpty();
  }
}
