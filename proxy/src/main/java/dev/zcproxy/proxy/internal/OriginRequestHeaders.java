package dev.zcproxy.proxy.internal;

import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.impl.HttpClientRequestImpl;
import io.vertx.core.http.impl.headers.HeadersMultiMap;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * Gives an origin request the header map the proxy built for it, instead of a copy: Vert.x copies the map a
 * {@code RequestOptions} carries into a new one of the request's own ({@code setAll}, a map entry per field) and
 * then into Netty's; the first of those copies is skipped when the request takes the proxy's map as its own.
 *
 * <p>Used on the request's event loop, right after Vert.x made the request and before anything is written. The map
 * then belongs to the request (Vert.x may add {@code Content-Length} to it when it frames a body); the caller may
 * give it to a later attempt of the same request once this one failed. Only where safe: Vert.x's own request type,
 * a map of Vert.x's own type, and no map on the request yet; anywhere else (or when this Vert.x lacks the field) the
 * fields are added to the request's map, as Vert.x would have copied them.
 */
public final class OriginRequestHeaders {
  private static final VarHandle HEADERS;
  /** Why the map is always copied with this Vert.x, or {@code null} when it can be handed over. */
  private static final String UNAVAILABLE;

  static {
    VarHandle headers = null;
    String why = null;
    try {
      headers = MethodHandles.privateLookupIn(HttpClientRequestImpl.class, MethodHandles.lookup())
          .findVarHandle(HttpClientRequestImpl.class, "headers", HeadersMultiMap.class);
    } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
      why = e.toString();
    }
    HEADERS = headers;
    UNAVAILABLE = why;
  }

  private OriginRequestHeaders() {}

  /** Why the map is always copied with this Vert.x, or {@code null} when it can be handed over. */
  public static String whyUnavailable() {
    return UNAVAILABLE;
  }

  /**
   * Makes {@code headers} the header map of {@code req} (a request made without headers in its options); returns
   * whether it was handed over (false: its fields were added to the request's own map).
   */
  public static boolean give(HttpClientRequest req, MultiMap headers) {
    if (HEADERS != null && req instanceof HttpClientRequestImpl && headers instanceof HeadersMultiMap map
        && HEADERS.compareAndSet(req, (HeadersMultiMap) null, map)) {
      return true;
    }
    req.headers().addAll(headers);
    return false;
  }
}
