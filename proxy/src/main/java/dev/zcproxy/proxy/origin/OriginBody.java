package dev.zcproxy.proxy.origin;

import io.vertx.core.Future;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;

/**
 * A request body the proxy has already read in full from its client, sent to the origin with a
 * {@code Content-Length} the proxy computed from it: the client's framing never reaches the origin.
 */
public interface OriginBody {
  /** The body's exact length in bytes. */
  long length();

  /** Ends {@code request} with this body (its {@code Content-Length} is already set) and completes with the response. */
  Future<HttpClientResponse> sendWith(HttpClientRequest request);
}
