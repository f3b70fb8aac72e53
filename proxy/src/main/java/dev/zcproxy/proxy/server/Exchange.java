package dev.zcproxy.proxy.server;

import dev.zcproxy.cache.CacheOutcome;
import dev.zcproxy.cache.RequestHead;
import dev.zcproxy.cache.policy.CacheStatus;
import dev.zcproxy.cache.policy.Via;
import dev.zcproxy.proxy.origin.OriginClient;
import dev.zcproxy.proxy.transfer.TransferMode;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client request/response pair and what happened to it.
 *
 * <p>Every response leaves through here: {@link #decorate} adds this proxy's {@code Via} and
 * {@code Cache-Status} member (RFC 9211), and {@link #finish} counts it and writes the access-log line
 * once, whichever way the body went.
 */
final class Exchange {
  // Logs under the handler's name, as it did when this was part of ProxyHandler.
  private static final Logger LOG = LoggerFactory.getLogger(Exchange.class);

  private final HandlerContext ctx;
  final HttpServerRequest req;
  final HttpServerResponse resp;
  final RequestHead head;
  final String primaryKey;
  /** The site, route and origin pool of this request; {@code null} only for a misdirected one (421). */
  final SiteRouter.Target target;
  final Context context;
  final long startNanos = System.nanoTime();
  long bodyBytes;
  /** The request body, read in full before the origin is contacted, or {@code null} for none. */
  RequestBodies.Body body;
  /** The coalesced revalidation this request leads, if any: it tells the waiters the outcome. */
  Revalidation revalidation;
  boolean clientGone;
  /**
   * A splice of the body to the client was started: the kernel moved bytes this exchange cannot count, so its mode is
   * a splice even when it failed with only the bytes before it counted in {@link #bodyBytes}.
   */
  boolean spliceStarted;
  /** In a cluster: the node this request's miss was sent to (it owns the key), or {@code null} for the origin. */
  dev.zcproxy.proxy.cluster.Cluster.Node owner;
  boolean finished;
  /** When the request was sent to the origin ({@link System#nanoTime}), or 0. */
  private long originSentNanos;
  /** The origin's response status, or -1 when none was received. */
  private int originStatus = -1;
  private long originMicros = -1;
  /** Whether the client reached the proxy over TLS. */
  private final boolean tls;
  /** What the connection had been handed when this exchange began, to tell how its body really went. */
  private final dev.zcproxy.proxy.transfer.TransferPlatform.WriteCount writeMark;

  /**
   * @param authority the authority the request names (absolute-form target, else Host), or {@code null}
   *     for none: the origin's then stands in
   * @param target the origin-form request target, which is forwarded and keyed
   */
  Exchange(HandlerContext ctx, HttpServerRequest req, String authority, String target) {
    this(ctx, req, authority, target, HeaderMaps.toHeaders(req.headers()), null);
  }

  /**
   * @param headers {@code req}'s header fields, already converted
   * @param route where the request goes ({@link SiteRouter#resolve}), or {@code null} when no site answers
   *     its host; its site is part of the cache key
   */
  Exchange(HandlerContext ctx, HttpServerRequest req, String authority, String target, dev.zcproxy.cache.Headers headers,
      SiteRouter.Target route) {
    this.target = route;
    this.ctx = ctx;
    this.req = req;
    this.resp = req.response();
    this.context = ctx.vertx().getOrCreateContext();
    this.tls = req.isSSL(); // Vert.x looks for a TLS handler in the pipeline each time: asked once here
    this.head = new RequestHead(req.method().name(), tls ? "https" : "http",
        authority == null ? ctx.originAuthority() : authority, target, headers);
    this.primaryKey = ctx.keys().of(head, route == null ? "" : route.keySuffix());
    resp.closeHandler(v -> clientGone = true);
    this.writeMark = ctx.planner().mark(req);
  }

  /** Adds Via, Cache-Status and X-Cache to the response head. */
  void decorate(CacheOutcome outcome, CacheStatus cs) {
    decorate(ctx, resp.headers(), outcome, cs);
  }

  /** Adds Via, Cache-Status and X-Cache to the response fields {@code h}, as {@link #decorate(CacheOutcome, CacheStatus)}. */
  static void decorate(HandlerContext ctx, MultiMap h, CacheOutcome outcome, CacheStatus cs) {
    for (String name : ctx.stripResponseHeaders()) {
      h.remove(name);
    }
    String via = h.get("via");
    h.set("via", Via.appendTo(via));
    // getAll only when the origin sent the field: it makes a list per response
    String upstream = h.contains("cache-status") ? String.join(", ", h.getAll("cache-status")) : "";
    h.set("cache-status", cs.appendTo(upstream));
    if (ctx.xCache()) {
      h.set("x-cache", outcome.name());
    }
  }

  void synth(int status, CacheStatus cs, String body) {
    req.resume();
    resp.setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, "text/plain; charset=utf-8");
    decorate(CacheOutcome.SYNTH, cs);
    bodyBytes = body.length();
    finish(CacheOutcome.SYNTH, TransferMode.COPY, resp.end(body));
  }

  void originFailed(Throwable cause, String fwd) {
    ctx.metrics().originError();
    if (cause instanceof dev.zcproxy.proxy.origin.OriginPool.Unavailable u && !resp.headWritten() && !clientGone) {
      // no usable server, or the pool's queue is full: 503, saying why
      synth(503, CacheStatus.fwd(fwd).detail(u.detail()), "503 " + u.getMessage() + "\n");
      return;
    }
    boolean timeout = OriginClient.isTimeout(cause);
    int status = timeout ? 504 : 502;
    boolean tls = !timeout && OriginClient.isTlsFailure(cause);
    String detail = timeout ? "origin-timeout" : tls ? "origin-tls-failed" : "origin-unreachable";
    LOG.debug("origin request for {} failed: {}", head.uri(), cause.toString());
    if (resp.headWritten() || clientGone) {
      resp.reset();
      finish(CacheOutcome.SYNTH, TransferMode.NONE, Future.failedFuture(cause));
      return;
    }
    synth(status, CacheStatus.fwd(fwd).detail(detail),
        status + (timeout ? " origin timed out\n" : tls ? " origin TLS handshake failed\n" : " origin unreachable\n"));
  }

  /**
   * Counts the response and writes its access-log line once {@code sent} completes; only the first
   * call for an exchange counts. A failed {@code sent} is logged as {@code aborted} with the body bytes
   * counted so far in {@link #bodyBytes} (writers add to it as their writes complete).
   */
  void finish(CacheOutcome outcome, TransferMode how, Future<Void> sent) {
    TransferMode mode = how.on(tls, req.version() == HttpVersion.HTTP_2);
    sent.onComplete(ar -> {
      if (finished) {
        return;
      }
      finished = true;
      long bytes = bodyBytes;
      boolean complete = ar.succeeded();
      // No head went out and the client left: nginx's 499, not a status nobody received.
      int status = !complete && !resp.headWritten() && clientGone ? 499 : resp.getStatusCode();
      long nanos = System.nanoTime() - startNanos;
      // Count what the connection was handed, not what was planned: a silent copy shows as a fallback.
      dev.zcproxy.proxy.transfer.TransferPlatform.WriteCount wrote = ctx.planner().wroteSince(req, writeMark);
      TransferMode used = spliceStarted ? mode
          : ctx.planner().settle(mode, wrote, bytes).on(tls, req.version() == HttpVersion.HTTP_2);
      if (used != mode) {
        ctx.metrics().transferFallback(mode, used);
      }
      if (wrote != null) {
        ctx.metrics().written(wrote.fileRegionBytes(), wrote.bufferBytes());
      }
      ctx.metrics().response(outcome, used, bytes, nanos);
      ctx.metrics().urlResponse(primaryKey, outcome, bytes);
      if (ctx.accessLog().writes()) { // the client's address is a new String each time: only for a line that is written
        ctx.accessLog().log(remote(req), req.method().name(), req.uri(), versionName(req.version()), status,
            bytes, nanos / 1000, outcome, used, complete, originStatus, originMicros);
      }
    });
  }

  /** Counts a request sent to the origin for this exchange and notes when, for {@link #originResponded}. */
  void originRequest() {
    ctx.metrics().originRequest();
    originSentNanos = System.nanoTime();
  }

  /** Notes the origin's response head, its status and how long it took, for the metrics and the access log. */
  void originResponded(int status) {
    if (originSentNanos == 0) {
      return;
    }
    long nanos = System.nanoTime() - originSentNanos;
    originStatus = status;
    originMicros = nanos / 1000;
    ctx.metrics().originResponse(nanos);
  }

  /**
   * Refuses the request before anything reached the origin (bad framing 400, 408, 413, 501 ...):
   * answers {@code status} with a short text body, {@code Connection: close} and {@code Cache-Status:
   * zcproxy; fwd=bypass; detail=<detail>}, closes the connection once the answer is out (an unread
   * request body cannot be skipped safely), and logs the request once as SYNTH. Does nothing if a
   * response was already started or logged.
   *
   * @param detail a short token for Cache-Status and the body, e.g. {@code bad-framing}
   */
  void reject(int status, String detail) {
    if (finished || resp.headWritten() || resp.ended()) {
      return;
    }
    String body = status + " " + detail + "\n";
    resp.setStatusCode(status).putHeader(HttpHeaders.CONNECTION, "close")
        .putHeader(HttpHeaders.CONTENT_TYPE, "text/plain; charset=utf-8");
    decorate(CacheOutcome.SYNTH, CacheStatus.fwd("bypass").detail(detail));
    bodyBytes = body.length();
    Future<Void> sent = resp.end(body);
    sent.onComplete(v -> req.connection().close());
    finish(CacheOutcome.SYNTH, TransferMode.COPY, sent);
  }

  /**
   * Logs a request Vert.x could not parse (no Exchange could be made for it), once, with what is known
   * of its request line: Netty stands in {@code GET /bad-request HTTP/1.0} without headers for a request
   * line it could not read, which is logged as {@code "- - -"}.
   */
  static void logUnparsed(AccessLog log, HttpServerRequest req, int status, long bodyBytes, boolean complete) {
    boolean placeholder = req.headers().isEmpty() && "/bad-request".equals(req.uri()) && req.version() == HttpVersion.HTTP_1_0;
    log.log(remote(req), placeholder || req.method() == null ? null : req.method().name(), placeholder ? null : req.uri(),
        placeholder ? "-" : versionName(req.version()), status, bodyBytes, 0, CacheOutcome.SYNTH, TransferMode.COPY, complete);
  }

  /** The client's address, or {@code null} when unknown. */
  static String remoteOrNull(HttpServerRequest req) {
    return req.remoteAddress() == null ? null : req.remoteAddress().hostAddress();
  }

  /** The client's address for the access log, or {@code -}. */
  static String remote(HttpServerRequest req) {
    return req.remoteAddress() == null ? "-" : req.remoteAddress().hostAddress();
  }

  /** The protocol version as it appears on the request line ({@code HTTP/1.1}), or {@code -} when unknown. */
  static String versionName(HttpVersion v) {
    if (v == null) {
      return "-";
    }
    return switch (v) {
      case HTTP_1_0 -> "HTTP/1.0";
      case HTTP_1_1 -> "HTTP/1.1";
      case HTTP_2 -> "HTTP/2";
    };
  }
}
