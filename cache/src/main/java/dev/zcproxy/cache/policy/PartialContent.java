package dev.zcproxy.cache.policy;

import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.Headers;
import dev.zcproxy.cache.RequestHead;
import dev.zcproxy.cache.ResponseHead;
import java.util.List;
import java.util.Locale;
import java.util.function.Predicate;

/**
 * Partial (206) responses: which range misses go to the origin with their {@code Range}, which 206
 * is stored, and which later range a stored 206 answers (RFC 9111 §3.3, RFC 9110 §14, §15.3.7).
 *
 * <p>Design notes:
 * <ul>
 *   <li>A range miss normally fetches the whole representation (as nginx and Varnish do), so the
 *       complete response is stored and every later range is a hit. A suffix range ({@code -n}: the
 *       end of an object of unknown length, e.g. a media index) or one starting at or past
 *       {@link #FORWARD_FROM} would then wait for the fill to reach its first byte, so it goes to the
 *       origin with its {@code Range} instead (nginx's {@code proxy_cache_max_range_offset}), and the
 *       206 that comes back is stored as a partial entry.
 *   <li>A 206 is stored (§3.3) only with one {@code Content-Range} field of the form
 *       {@code bytes first-last/complete} with a known complete length and {@code first <= last <
 *       complete}, not {@code multipart/byteranges}, no {@code Vary}, and storable by every other rule
 *       (as a 200 with the same fields would be). It goes under its own secondary key, {@link #PREFIX}
 *       plus the request's {@code Range}, which no {@code Vary} key can equal (those start with a
 *       field name, which has no {@code :}), so a lookup for the complete response never selects it: a
 *       partial entry is never served as a 200.
 *   <li>While fresh, and for a request that has no {@code If-Range} and does not ask to revalidate
 *       ({@code no-cache}, {@code max-age}, {@code min-fresh}), it answers a GET with the very same
 *       {@code Range} (the origin's own answer to that request, as stored), and a GET whose single byte
 *       range lies inside it, with that sub-range, when its body is exactly as long as its
 *       {@code Content-Range} says. A body that disagrees with its {@code Content-Range} (a
 *       {@code Content-Length} of another length) is never cut into sub-ranges: which bytes it holds
 *       is unknown. Anything else goes to the origin.
 *   <li>Not done: combining a partial entry with a later range into a complete one (§3.4 allows it
 *       only when both carry the same strong validator).
 * </ul>
 */
public final class PartialContent {
  /** The start of the secondary key a partial entry is stored under; the request's {@code Range} follows. */
  public static final String PREFIX = "partial:";
  /** Range misses starting here or later go to the origin with their {@code Range}. */
  public static final long FORWARD_FROM = 1L << 20;

  private PartialContent() {}

  /** A parsed {@code Content-Range: bytes first-last/complete}. */
  record Span(long first, long last, long complete) {
    long length() {
      return last - first + 1;
    }
  }

  /** Whether a range miss for {@code req} goes to the origin with its {@code Range} (see the class notes). */
  public static boolean forwardsRange(RequestHead req) {
    if (!req.method().equals("GET") || req.headers().getAll("Range").size() != 1) {
      return false;
    }
    // against a huge complete length a-b and a- keep their first byte; syntax errors are no range
    RangeDecision d = Ranges.decide(req, sized(Long.MAX_VALUE));
    if (!(d instanceof RangeDecision.Partial p)) {
      return false;
    }
    String spec = req.headers().get("Range");
    boolean suffix = spec.substring(spec.indexOf('=') + 1).trim().startsWith("-");
    return suffix || p.first() >= FORWARD_FROM;
  }

  /**
   * The entry to store for a 206 fetched for {@code req}, or {@code null} when it is not stored (see
   * the class notes).
   *
   * @param storable the policy's verdict on the same response as a 200
   */
  static EntryMeta toStore(String primaryKey, RequestHead req, ResponseHead resp, Storability storable, long requestTime,
      long responseTime) {
    if (resp.status() != 206 || !req.method().equals("GET") || !(storable instanceof Storability.Store s)
        || !s.variant().isEmpty()) {
      return null;
    }
    Headers h = resp.headers();
    Span span = span(h);
    if (span == null || h.contains("Vary")) {
      return null;
    }
    String type = h.get("Content-Type");
    if (type != null && type.trim().toLowerCase(Locale.ROOT).startsWith("multipart/byteranges")) {
      return null;
    }
    return new EntryMeta(primaryKey, PREFIX + req.headers().get("Range").trim(), 206, s.headers(), requestTime, responseTime, 0, 0);
  }

  /** The stored partial entry among {@code variants} that answers {@code req}'s range, or {@code null}. */
  static EntryMeta answering(RequestHead req, List<EntryMeta> variants, Predicate<EntryMeta> fresh) {
    if (!req.method().equals("GET") || req.headers().contains("If-Range") || req.headers().getAll("Range").size() != 1) {
      return null;
    }
    CacheControl cc = CacheControl.of(req.headers(), "Cache-Control");
    if (cc.has("no-cache") || cc.has("no-store") || cc.has("max-age") || cc.has("min-fresh")
        || (!req.headers().contains("Cache-Control") && req.headers().members("Pragma").stream().anyMatch("no-cache"::equalsIgnoreCase))) {
      return null;
    }
    String same = PREFIX + req.headers().get("Range").trim();
    for (EntryMeta e : variants) {
      if (e.status() == 206 && e.variant().startsWith(PREFIX) && (e.variant().equals(same) || within(req, e) != null)
          && fresh.test(e)) {
        return e;
      }
    }
    return null;
  }

  /**
   * The part of the stored partial {@code entry} that answers {@code req}'s range: {@code first} is the
   * offset in the stored body, the content range is the representation's; {@code null} when the range
   * is not inside it or the stored body is not as long as its {@code Content-Range} says.
   */
  static RangeDecision.Partial within(RequestHead req, EntryMeta entry) {
    Span span = span(entry.headers());
    if (span == null || entry.bodyLength() != span.length() || req.headers().getAll("Range").size() != 1) {
      return null;
    }
    RangeDecision d = Ranges.decide(req, sized(span.complete()));
    if (!(d instanceof RangeDecision.Partial p) || p.first() < span.first() || p.first() + p.length() - 1 > span.last()) {
      return null;
    }
    return new RangeDecision.Partial(p.first() - span.first(), p.length(), span.complete(), p.first());
  }

  /** The single, valid {@code Content-Range} of {@code h}, or {@code null}. */
  static Span span(Headers h) {
    List<String> lines = h.getAll("Content-Range");
    if (lines.size() != 1) {
      return null;
    }
    String v = lines.get(0).trim();
    if (!v.regionMatches(true, 0, "bytes ", 0, 6)) {
      return null;
    }
    String rest = v.substring(6).trim();
    int dash = rest.indexOf('-');
    int slash = rest.indexOf('/');
    if (dash <= 0 || slash <= dash + 1 || slash == rest.length() - 1) {
      return null;
    }
    long first = Ranges.digits(rest.substring(0, dash));
    long last = Ranges.digits(rest.substring(dash + 1, slash));
    long complete = Ranges.digits(rest.substring(slash + 1));
    // a saturated (too long) number is no length this cache could hold
    if (first < 0 || last < 0 || complete < 0 || complete == Long.MAX_VALUE || first > last || last >= complete) {
      return null;
    }
    return new Span(first, last, complete);
  }

  private static EntryMeta sized(long length) {
    return new EntryMeta("", "", 200, Headers.empty(), 0, 0, length, 0);
  }
}
