package dev.zcproxy.proxy.internal;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.impl.VertxConnection;
import java.util.Map;

/**
 * Writes an interim (1xx) response to an HTTP/1.1 client ahead of its final response, which Vert.x's
 * public API can do only for 100 and 103; to an HTTP/2 client only a 103 (Early Hints) is forwarded.
 *
 * <p>The interim response goes through the connection's own outbound queue and response encoder, so it
 * stays in order with everything Vert.x writes. When the connection is not the Vert.x HTTP/1.x connection
 * this expects, a 103 goes by {@code writeEarlyHints} and any other interim response is dropped.
 */
public final class InterimResponses {
  private InterimResponses() {}

  /**
   * Sends {@code status} with {@code headers} to the client of {@code req}, unless it is not an HTTP/1.1
   * client (an HTTP/2 client gets 103 only), its response head is already written, or {@code status} is not 102..199 (100 and 101 have
   * their own paths); completes with whether it was sent.
   */
  public static Future<Boolean> write(HttpServerRequest req, int status, String reason, MultiMap headers) {
    if (status <= 101 || status >= 200 || req.response().headWritten() || req.response().closed()) {
      return Future.succeededFuture(false);
    }
    if (req.version() == HttpVersion.HTTP_2) {
      // HTTP/2 has no reason phrase and Vert.x writes a 103 as its own HEADERS frame on the stream
      return status == 103 ? req.response().writeEarlyHints(headers).map(true) : Future.succeededFuture(false);
    }
    if (req.version() != HttpVersion.HTTP_1_1) {
      return Future.succeededFuture(false);
    }
    if (!(req.connection() instanceof VertxConnection conn)) {
      return status == 103 ? req.response().writeEarlyHints(headers).map(true) : Future.succeededFuture(false);
    }
    HttpHeaders h = DefaultHttpHeadersFactory.headersFactory().newHeaders();
    for (Map.Entry<String, String> e : headers) {
      h.add(e.getKey(), e.getValue());
    }
    HttpResponseStatus s = reason == null || reason.isEmpty() ? HttpResponseStatus.valueOf(status) : new HttpResponseStatus(status, reason);
    Promise<Void> written = Promise.promise();
    conn.writeToChannel(new DefaultFullHttpResponse(io.netty.handler.codec.http.HttpVersion.HTTP_1_1, s, Unpooled.EMPTY_BUFFER, h,
        DefaultHttpHeadersFactory.trailersFactory().newHeaders()), written);
    return written.future().map(true);
  }
}
