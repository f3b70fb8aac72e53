package dev.zcproxy.proxy.server;

import dev.zcproxy.cache.Headers;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import java.util.Map;

/**
 * Converts between Vert.x's {@link MultiMap} and the cache's {@link Headers} at the edge, and reads
 * {@code Content-Length} from a Vert.x map.
 */
final class HeaderMaps {
  private HeaderMaps() {}

  static Headers toHeaders(MultiMap map) {
    Headers.Builder b = Headers.builder();
    for (Map.Entry<String, String> e : map) {
      b.add(e.getKey(), e.getValue());
    }
    return b.build();
  }

  static void copyInto(Headers headers, MultiMap target) {
    headers.forEach(target::add);
  }

  /** The {@code Content-Length} value, or -1 when it is absent or not a number. */
  static long contentLength(MultiMap headers) {
    String cl = headers.get(HttpHeaders.CONTENT_LENGTH);
    if (cl == null) {
      return -1;
    }
    try {
      return Long.parseLong(cl.trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }
}
