package dev.zcproxy.cache.policy;

import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.Headers;
import dev.zcproxy.cache.RequestHead;

/**
 * Answers a {@code Range} request from a complete stored response.
 *
 * <p>Design notes (RFC 9110 §14):
 * <ul>
 *   <li>§14.2: {@code Range} is only for GET; anything but a stored 200 is sent whole.
 *   <li>§13.1.5: {@code If-Range} matches an entity-tag by strong comparison, or an HTTP-date that
 *       exactly equals a strong {@code Last-Modified} (one at least a second before {@code Date},
 *       §8.8.2.2); otherwise the whole representation is sent.
 *   <li>§14.1.1-§14.1.2: one {@code bytes} range ({@code a-b}, {@code a-}, {@code -n}) becomes a
 *       206; {@code b} is clamped to the last byte. A range whose first byte is at or past the end,
 *       or {@code -0}, is unsatisfiable (416).
 *   <li>A server MAY ignore {@code Range} (§14.2): other units, syntactically invalid ranges and
 *       multiple ranges (which would need {@code multipart/byteranges}) get the whole representation.
 *   <li>An empty representation cannot be sent as a 206: {@code a-} ranges are unsatisfiable and
 *       suffix ranges get the (empty) whole representation.
 * </ul>
 */
final class Ranges {
  private Ranges() {}

  static RangeDecision decide(RequestHead req, EntryMeta entry) {
    RangeDecision full = new RangeDecision.Full();
    String range = req.headers().get("Range");
    if (range == null || !req.method().equals("GET") || entry.status() != 200 || req.headers().getAll("Range").size() > 1) {
      return full;
    }
    String ifRange = req.headers().get("If-Range");
    if (ifRange != null && !ifRangeMatches(ifRange.trim(), entry.headers())) {
      return full;
    }
    String r = range.trim();
    int eq = r.indexOf('=');
    if (eq < 0 || !r.substring(0, eq).trim().equalsIgnoreCase("bytes")) {
      return full;
    }
    String spec = r.substring(eq + 1).trim();
    if (spec.indexOf(',') >= 0) {
      return full; // multiple ranges (or a list with empty members): ignored, allowed by §14.2
    }
    int dash = spec.indexOf('-');
    if (dash < 0) {
      return full;
    }
    String a = spec.substring(0, dash).trim();
    String b = spec.substring(dash + 1).trim();
    long length = entry.bodyLength();
    if (a.isEmpty()) {
      long n = digits(b);
      if (n < 0) {
        return full;
      }
      if (n == 0) {
        return new RangeDecision.Unsatisfiable(length);
      }
      if (length == 0) {
        return full;
      }
      long take = Math.min(n, length);
      return new RangeDecision.Partial(length - take, take, length);
    }
    long first = digits(a);
    long last = b.isEmpty() ? Long.MAX_VALUE : digits(b);
    if (first < 0 || last < 0 || last < first) {
      return full;
    }
    if (first >= length) {
      return new RangeDecision.Unsatisfiable(length);
    }
    last = Math.min(last, length - 1);
    return new RangeDecision.Partial(first, last - first + 1, length);
  }

  private static boolean ifRangeMatches(String ifRange, Headers stored) {
    if (ifRange.startsWith("\"") || ifRange.startsWith("W/")) {
      String etag = stored.get("ETag");
      return etag != null && Validation.strongEquals(ifRange, etag);
    }
    long when = HttpDates.parse(ifRange);
    long lm = HttpDates.parse(stored.get("Last-Modified"));
    if (when == HttpDates.INVALID || lm == HttpDates.INVALID || when != lm) {
      return false;
    }
    long date = HttpDates.parse(stored.get("Date"));
    return date != HttpDates.INVALID && date - lm >= 1000;
  }

  /**
   * A non-negative decimal ({@code 1*DIGIT}), or -1; saturates at {@code Long.MAX_VALUE}. The one number
   * parser of byte ranges: {@code Range} here, {@code Content-Range} in {@link PartialContent}.
   */
  static long digits(String s) {
    if (s.isEmpty()) {
      return -1;
    }
    long v = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
      v = v > (Long.MAX_VALUE - 9) / 10 ? Long.MAX_VALUE : v * 10 + (c - '0');
    }
    return v;
  }
}
