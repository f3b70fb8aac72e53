package dev.zcproxy.cache.policy;

/**
 * Why an origin response is relayed without being stored, and whether that will be so for every
 * request for the URI (then the proxy remembers the URI as hit-for-pass, as Varnish does).
 *
 * <p>The tokens are the {@code Cache-Status} {@code detail} values ({@link Storability.DontStore#reason}
 * and two of the proxy's own). Only reasons that come from the response itself are remembered: a
 * reason from the request ({@code method}, {@code request-no-store}, {@code authorization}) says nothing
 * about the next request, and {@code set-cookie} is left out because origins commonly set a cookie
 * only for a request without one, so the next response may well be storable (Varnish's hit-for-miss).
 */
public enum Reason {
  /** The request method is not stored (only GET, and POST with {@code Content-Location}). */
  METHOD("method", false),
  /** The request said {@code no-store} (RFC 9111 §5.2.1.5). */
  REQUEST_NO_STORE("request-no-store", false),
  /** A 206 partial response (not stored yet). */
  PARTIAL("partial", true),
  /** A status this cache does not store (1xx, 304, or not understood with {@code must-understand}). */
  STATUS("status", true),
  /** The response said {@code no-store} (RFC 9111 §5.2.2.5). */
  NO_STORE("no-store", true),
  /** The response said {@code private} (RFC 9111 §5.2.2.7). */
  PRIVATE("private", true),
  /** The request carried {@code Authorization} and the response did not allow sharing it (RFC 9111 §3.5). */
  AUTHORIZATION("authorization", false),
  /** {@code Vary: *}: never selectable (RFC 9111 §4.1). */
  VARY_STAR("vary-star", true),
  /** A known body length over the configured maximum. */
  TOO_LARGE("too-large", true),
  /** No explicit expiry, no {@code public}, and a status not heuristically cacheable (RFC 9111 §4.2.2). */
  NO_FRESHNESS("no-freshness", true),
  /** The response sets a cookie and {@code cache.set-cookie} is {@code pass}. */
  SET_COOKIE("set-cookie", false),
  /** A HEAD's answer to a revalidation that does not refresh the stored GET: nothing to store. */
  HEAD("head", false),
  /** In a cluster: fetched from the node that owns the key, which stores it. */
  OWNER("owner", false),
  /** A token this enum does not know yet: relayed, never remembered. */
  OTHER("other", false);

  private final String token;
  private final boolean remembered;

  Reason(String token, boolean remembered) {
    this.token = token;
    this.remembered = remembered;
  }

  /** The {@code Cache-Status} {@code detail} token. */
  public String token() {
    return token;
  }

  /** Whether every request for the URI will get the same: the proxy then passes misses for a while (hit-for-pass). */
  public boolean remembered() {
    return remembered;
  }

  /** The reason for {@code token}, or {@link #OTHER}. */
  public static Reason of(String token) {
    for (Reason r : values()) {
      if (r.token.equals(token)) {
        return r;
      }
    }
    return OTHER;
  }
}
