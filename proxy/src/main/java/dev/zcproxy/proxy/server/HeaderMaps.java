package dev.zcproxy.proxy.server;

import dev.zcproxy.cache.Headers;
import dev.zcproxy.cache.policy.ContentLength;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import java.util.Map;

/**
 * Converts between Vert.x's {@link MultiMap} and the cache's {@link Headers} at the edge, and reads
 * {@code Content-Length} from a Vert.x map.
 */
final class HeaderMaps {
  private HeaderMaps() {}

  /** Lines a head usually has: the scratch arrays start this long and double when a head has more. */
  private static final int LINES = 16;
  /** Scratch arrays grown past this many lines are dropped after the head that grew them. */
  static final int MAX_KEPT_LINES = 256;

  /**
   * Each thread's scratch arrays for {@link #toHeaders}: {@link Headers#ofLines} copies what it keeps, so the arrays
   * are used again (cleared after each use: they hold no field past the call). Touched by its own thread only.
   */
  private static final ThreadLocal<String[][]> SCRATCH = ThreadLocal.withInitial(() -> new String[][] {new String[LINES], new String[LINES]});

  static Headers toHeaders(MultiMap map) {
    // Not map.size(): Vert.x's header maps (HeadersMultiMap, HeadersAdaptor) answer it by building the set of
    // their names, a LinkedHashSet per request and per response. The arrays grow instead; ofLines copies them.
    String[][] scratch = SCRATCH.get();
    String[] names = scratch[0];
    String[] values = scratch[1];
    int n = names.length;
    int i = 0;
    try {
      for (Map.Entry<String, String> e : map) {
        if (i == n) {
          names = scratch[0] = java.util.Arrays.copyOf(names, n *= 2);
          values = scratch[1] = java.util.Arrays.copyOf(values, n);
        }
        names[i] = e.getKey();
        values[i++] = e.getValue();
      }
      return Headers.ofLines(names, values, i);
    } finally {
      if (n > MAX_KEPT_LINES) { // a head with very many fields (a hostile peer's) leaves no large arrays behind
        scratch[0] = new String[LINES];
        scratch[1] = new String[LINES];
      } else {
        java.util.Arrays.fill(names, 0, i, null);
        java.util.Arrays.fill(values, 0, i, null);
      }
    }
  }

  /** How many lines this thread's scratch arrays hold now (tests). */
  static int scratchLines() {
    return SCRATCH.get()[0].length;
  }

  static void copyInto(Headers headers, MultiMap target) {
    headers.forEach(target::add);
  }

  /** The {@code Content-Length} value by {@link ContentLength#parse(java.util.List)}: -1 when absent or invalid. */
  static long contentLength(MultiMap headers) {
    return ContentLength.parse(headers.getAll(HttpHeaders.CONTENT_LENGTH));
  }

  /** The fields RFC 9113 §8.2.2 forbids in HTTP/2 messages. */
  private static final java.util.List<String> CONNECTION_SPECIFIC =
      java.util.List.of("connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade");

  /** Removes the HTTP/1 connection-specific fields from a response head about to go out on HTTP/2. */
  static void stripConnectionSpecific(io.vertx.core.MultiMap headers) {
    for (String name : CONNECTION_SPECIFIC) {
      headers.remove(name);
    }
  }
}
