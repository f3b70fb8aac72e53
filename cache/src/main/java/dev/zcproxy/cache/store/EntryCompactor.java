package dev.zcproxy.cache.store;

import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.Headers;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Shrinks the heap of a stored head before it enters the head cache by sharing equal strings between entries.
 *
 * <p>Every entry read from disk (and every one converted from the origin's response) has its own
 * copy of each header name, and many of the same values ({@code bytes}, {@code text/html}, a
 * {@code Cache-Control} policy): about 50 bytes each. Well-known header names (as sent in Title-Case
 * or lower case) are replaced by one shared instance; values of a few fields that repeat across a
 * site are interned in a map bounded to {@link #MAX_VALUES} strings of at most {@link #MAX_VALUE_LENGTH}
 * chars (no more are added once it is full, so hostile values cannot grow it); the empty variant is
 * the literal {@code ""}. Only identical strings are shared, so the meta stays {@code equals} to the
 * original.
 */
final class EntryCompactor {
  static final int MAX_VALUES = 4096;
  static final int MAX_VALUE_LENGTH = 128;

  private static final Map<String, String> NAMES = names(
      "Accept-Ranges", "Access-Control-Allow-Credentials", "Access-Control-Allow-Headers",
      "Access-Control-Allow-Methods", "Access-Control-Allow-Origin", "Access-Control-Expose-Headers",
      "Access-Control-Max-Age", "Age", "Allow", "Alt-Svc", "Cache-Control", "CDN-Cache-Control",
      "Content-Disposition", "Content-Encoding", "Content-Language", "Content-Length", "Content-Location",
      "Content-Range", "Content-Security-Policy", "Content-Type", "Cross-Origin-Embedder-Policy",
      "Cross-Origin-Opener-Policy", "Cross-Origin-Resource-Policy", "Date", "ETag", "Etag", "Expires",
      "Last-Modified", "Link", "Location", "Permissions-Policy", "Pragma", "Referrer-Policy", "Server",
      "Server-Timing", "Set-Cookie", "Strict-Transport-Security", "Surrogate-Control", "Surrogate-Key",
      "Timing-Allow-Origin", "Vary", "Via", "Warning", "X-Cache", "X-Content-Type-Options",
      "X-Frame-Options", "X-Powered-By", "X-Request-Id", "X-XSS-Protection");

  /** Fields (lower case) whose values usually repeat across entries. */
  private static final Set<String> SHARED_VALUES = Set.of(
      "accept-ranges", "access-control-allow-origin", "cache-control", "cdn-cache-control",
      "content-encoding", "content-language", "content-type", "cross-origin-resource-policy", "pragma",
      "referrer-policy", "server", "strict-transport-security", "surrogate-control", "timing-allow-origin",
      "vary", "via", "x-content-type-options", "x-frame-options", "x-powered-by");

  private final ConcurrentHashMap<String, String> values = new ConcurrentHashMap<>();

  private static Map<String, String> names(String... names) {
    Map<String, String> m = new HashMap<>();
    for (String n : names) {
      m.put(n, n);
      String lower = n.toLowerCase(Locale.ROOT);
      m.put(lower, lower);
    }
    return Map.copyOf(m);
  }

  /** Whether {@code name} is the shared instance of a well-known header name. */
  static boolean isCanonicalName(String name) {
    return NAMES.get(name) == name;
  }

  /** Whether {@code value} is the instance this compactor shares. */
  boolean isShared(String value) {
    return value.length() <= MAX_VALUE_LENGTH && values.get(value) == value;
  }

  /** {@code meta} with shared strings where possible (equal to it). */
  EntryMeta compact(EntryMeta meta) {
    Headers h = meta.headers();
    Headers.Builder b = Headers.builder();
    for (int i = 0; i < h.size(); i++) {
      String name = h.name(i);
      String canonical = NAMES.get(name);
      b.add(canonical != null ? canonical : name, value(canonical != null ? canonical : name, h.value(i)));
    }
    String variant = meta.variant().isEmpty() ? "" : meta.variant();
    return new EntryMeta(meta.primaryKey(), variant, meta.status(), b.build(), meta.requestTime(),
        meta.responseTime(), meta.bodyLength(), meta.bodyOffset(), meta.invalidatedAt());
  }

  private String value(String name, String value) {
    if (value.length() > MAX_VALUE_LENGTH || !SHARED_VALUES.contains(name.toLowerCase(Locale.ROOT))) {
      return value;
    }
    String shared = values.get(value);
    if (shared != null) {
      return shared;
    }
    if (values.size() >= MAX_VALUES) {
      return value;
    }
    shared = values.putIfAbsent(value, value);
    return shared != null ? shared : value;
  }
}
