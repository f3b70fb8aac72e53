package dev.zcproxy.proxy.server;

import dev.zcproxy.cache.Headers;
import io.vertx.core.MultiMap;
import java.util.Map;

/** Converts between Vert.x's {@link MultiMap} and the cache's {@link Headers} at the edge. */
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
}
