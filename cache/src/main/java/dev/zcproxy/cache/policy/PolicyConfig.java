package dev.zcproxy.cache.policy;

/**
 * The knobs of the RFC 9111 policy that an operator may set.
 *
 * @param heuristicFraction share of the time since {@code Last-Modified} used as heuristic freshness
 *     lifetime (RFC 9111 §4.2.2; 0.1 is the customary value)
 * @param heuristicMaxSeconds upper bound of a heuristic lifetime
 * @param keepSeconds how long a stale entry is kept after it goes stale, so it can be revalidated with a
 *     304 instead of refetched (when it has validators) or served to a client that accepts it stale
 *     ({@code max-stale}, {@code stale-if-error})
 * @param cdnCacheControl honour {@code CDN-Cache-Control} (RFC 9213) over {@code Cache-Control}
 * @param surrogateControl honour {@code Surrogate-Control} ({@code max-age}, {@code no-store})
 * @param maxVariants how many {@code Vary} variants of one URI are kept at most
 * @param maxObjectBytes responses with a larger known body are not stored
 * @param setCookie what to do with a storable response that sets a cookie
 * @param invalidateMethods which methods' successful responses invalidate stored responses (RFC 9111 §4.4)
 */
public record PolicyConfig(
    double heuristicFraction,
    long heuristicMaxSeconds,
    long keepSeconds,
    boolean cdnCacheControl,
    boolean surrogateControl,
    int maxVariants,
    long maxObjectBytes,
    SetCookie setCookie,
    InvalidateMethods invalidateMethods) {

  /** The knobs with {@code invalidateMethods} at its default, {@link InvalidateMethods#STANDARD}. */
  public PolicyConfig(double heuristicFraction, long heuristicMaxSeconds, long keepSeconds, boolean cdnCacheControl,
      boolean surrogateControl, int maxVariants, long maxObjectBytes, SetCookie setCookie) {
    this(heuristicFraction, heuristicMaxSeconds, keepSeconds, cdnCacheControl, surrogateControl, maxVariants, maxObjectBytes,
        setCookie, InvalidateMethods.STANDARD);
  }

  /** The knobs with {@code setCookie} at its default, {@link SetCookie#PASS}. */
  public PolicyConfig(double heuristicFraction, long heuristicMaxSeconds, long keepSeconds, boolean cdnCacheControl,
      boolean surrogateControl, int maxVariants, long maxObjectBytes) {
    this(heuristicFraction, heuristicMaxSeconds, keepSeconds, cdnCacheControl, surrogateControl, maxVariants, maxObjectBytes,
        SetCookie.PASS);
  }

  public PolicyConfig {
    if (setCookie == null) {
      throw new IllegalArgumentException("setCookie: null (expected: PASS, STRIP or STORE)");
    }
    if (invalidateMethods == null) {
      throw new IllegalArgumentException("invalidateMethods: null (expected: STANDARD or ANY_UNSAFE)");
    }
    if (!(heuristicFraction >= 0 && heuristicFraction <= 1)) {
      throw new IllegalArgumentException("heuristicFraction: " + heuristicFraction + " (expected: 0..1)");
    }
    if (heuristicMaxSeconds < 0) {
      throw new IllegalArgumentException("heuristicMaxSeconds: " + heuristicMaxSeconds + " (expected: >= 0)");
    }
    if (keepSeconds < 0) {
      throw new IllegalArgumentException("keepSeconds: " + keepSeconds + " (expected: >= 0)");
    }
    if (maxVariants < 1) {
      throw new IllegalArgumentException("maxVariants: " + maxVariants + " (expected: >= 1)");
    }
    if (maxObjectBytes < 0) {
      throw new IllegalArgumentException("maxObjectBytes: " + maxObjectBytes + " (expected: >= 0)");
    }
  }

  /**
   * The defaults: 10% heuristic up to a day, keep stale entries an hour, both targeted fields on, 16
   * variants, responses that set cookies not stored, only the standard unsafe methods invalidate.
   */
  public static PolicyConfig defaults() {
    return new PolicyConfig(0.1, 86_400, 3_600, true, true, 16, Long.MAX_VALUE);
  }
}
