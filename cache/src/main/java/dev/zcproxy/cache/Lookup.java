package dev.zcproxy.cache;

/**
 * The cache's answer for one request: a stored response to use as is, a stale one to handle, or none.
 *
 * <p>Produced by {@link dev.zcproxy.cache.policy.CachePolicy#select} (through
 * {@link dev.zcproxy.cache.policy.HttpCache#lookup}); the proxy acts on it. Sealed so that the proxy's
 * {@code instanceof} chain names every kind; a new kind (a stored partial response, say) is a new
 * record here, and a proxy that does not handle it yet treats it as a miss.
 */
public sealed interface Lookup {

  /** A stored response that may be served without contacting the origin (RFC 9111 §4.2). */
  record Fresh(EntryMeta entry, long ageSeconds) implements Lookup {}

  /**
   * A stored response that is stale, or that the request or response demands be validated before use
   * (RFC 9111 §4.2.4, §4.3; RFC 5861).
   *
   * @param entry the stored response
   * @param ageSeconds its current age
   * @param action what the proxy may do with it
   * @param fwd why it is not used as is, in {@code Cache-Status} {@code fwd} vocabulary: {@code request}
   *     (the request's {@code no-cache}, or {@code Pragma: no-cache} without {@code Cache-Control},
   *     asks for validation) or {@code stale}
   */
  record Stale(EntryMeta entry, long ageSeconds, Action action, String fwd) implements Lookup {
    /** A stale entry whose use the request did not refuse ({@code fwd=stale}). */
    public Stale(EntryMeta entry, long ageSeconds, Action action) {
      this(entry, ageSeconds, action, "stale");
    }
  }

  /**
   * No stored response can be used.
   *
   * @param detail why, in {@code Cache-Status} vocabulary: {@code uri-miss} (nothing stored for the
   *     URI), {@code vary-miss} (stored, but no variant matches), {@code request} (the request's
   *     {@code no-store} rules the cache out), {@code miss}
   * @param onlyIfCached the request said {@code only-if-cached}: answer 504, do not forward
   */
  record Miss(String detail, boolean onlyIfCached) implements Lookup {}

  /** What may be done with a stale entry. */
  enum Action {
    /** Send a conditional request and wait for it (the entry's validators, if any). */
    REVALIDATE,
    /** Serve the stale entry now and revalidate it in the background (RFC 5861 stale-while-revalidate). */
    SERVE_STALE_AND_REVALIDATE,
    /** Serve the stale entry as is: the client accepts it ({@code max-stale}, RFC 9111 §5.2.1.2). */
    SERVE_STALE
  }
}
