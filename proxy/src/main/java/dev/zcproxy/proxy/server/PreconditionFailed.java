package dev.zcproxy.proxy.server;

import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;

/**
 * The 412 this cache answers when the client's {@code If-Match} or {@code If-Unmodified-Since}, which a
 * fetch for the cache does not forward, fails against the response it would deliver
 * ({@link dev.zcproxy.cache.policy.HttpCache#preconditionFailed}): that response's fields, no body.
 */
final class PreconditionFailed {
  private PreconditionFailed() {}

  /** Turns the response whose fields are already set into a bodiless 412; the caller decorates and ends it. */
  static void apply(HttpServerResponse resp) {
    resp.setStatusCode(412);
    resp.setChunked(false);
    resp.headers().remove(HttpHeaders.CONTENT_RANGE);
    resp.headers().remove(HttpHeaders.TRANSFER_ENCODING);
    resp.putHeader(HttpHeaders.CONTENT_LENGTH, "0");
  }
}
