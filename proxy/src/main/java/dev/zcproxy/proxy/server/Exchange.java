package dev.zcproxy.proxy.server;

import dev.zcproxy.cache.CacheKey;
import dev.zcproxy.cache.CacheOutcome;
import dev.zcproxy.cache.RequestHead;
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
  private static final Logger LOG = LoggerFactory.getLogger(ProxyHandler.class);

  private final HandlerContext ctx;
  final HttpServerRequest req;
  final HttpServerResponse resp;
  final RequestHead head;
  final String primaryKey;
  final Context context;
  final long startNanos = System.nanoTime();
  long bodyBytes;
  /** The request body, read in full before the origin is contacted, or {@code null} for none. */
  RequestBodies.Body body;
  /** The coalesced revalidation this request leads, if any: it tells the waiters the outcome. */
  Revalidation revalidation;
  boolean clientGone;
  boolean finished;

  /**
   * @param authority the authority the request names (absolute-form target, else Host), or {@code null}
   *     for none: the origin's then stands in
   * @param target the origin-form request target, which is forwarded and keyed
   */
  Exchange(HandlerContext ctx, HttpServerRequest req, String authority, String target) {
    this.ctx = ctx;
    this.req = req;
    this.resp = req.response();
    this.context = ctx.vertx().getOrCreateContext();
    this.head = new RequestHead(req.method().name(), req.isSSL() ? "https" : "http",
        authority == null ? ctx.originAuthority() : authority, target, HeaderMaps.toHeaders(req.headers()));
    this.primaryKey = CacheKey.primaryOf(head);
    resp.closeHandler(v -> clientGone = true);
  }

  /** Adds Via, Cache-Status and X-Cache to the response head. */
  void decorate(CacheOutcome outcome, CacheStatus cs) {
    MultiMap h = resp.headers();
    String via = h.get("via");
    h.set("via", via == null ? ProxyHandler.VIA : via + ", " + ProxyHandler.VIA);
    h.set("cache-status", cs.appendTo(String.join(", ", h.getAll("cache-status"))));
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
    boolean timeout = OriginClient.isTimeout(cause);
    int status = timeout ? 504 : 502;
    String detail = timeout ? "origin-timeout" : "origin-unreachable";
    LOG.debug("origin request for {} failed: {}", head.uri(), cause.toString());
    if (resp.headWritten() || clientGone) {
      resp.reset();
      return;
    }
    synth(status, CacheStatus.fwd(fwd).detail(detail),
        status + (timeout ? " origin timed out\n" : " origin unreachable\n"));
  }

  void finish(CacheOutcome outcome, TransferMode mode, Future<Void> sent) {
    sent.onComplete(ar -> {
      if (finished) {
        return;
      }
      finished = true;
      long bytes = ar.succeeded() ? bodyBytes : 0;
      ctx.metrics().response(outcome, mode, bytes);
      ctx.accessLog().log(remote(req), req.method().name(), req.uri(), versionName(req.version()), resp.getStatusCode(),
          bytes, (System.nanoTime() - startNanos) / 1000, outcome, mode);
    });
  }

  /** The client's address for the access log, or {@code -}. */
  static String remote(HttpServerRequest req) {
    return req.remoteAddress() == null ? "-" : req.remoteAddress().hostAddress();
  }

  static String versionName(HttpVersion v) {
    return v == HttpVersion.HTTP_1_0 ? "HTTP/1.0" : v == HttpVersion.HTTP_2 ? "HTTP/2" : "HTTP/1.1";
  }
}
