package dev.zcproxy.cache.policy;

import dev.zcproxy.cache.Headers;
import dev.zcproxy.cache.RequestHead;
import dev.zcproxy.cache.ResponseHead;
import java.util.Set;

/**
 * Decides whether a response may be stored by this shared cache, and what to store.
 *
 * <p>Design notes (RFC 9111 §3, in the order checked):
 * <ol>
 *   <li>the request method is GET (HEAD responses have no body to store), or POST whose response
 *       is checked last: {@code method} for every other method;
 *   <li>the request has no {@code no-store} (§5.2.1.5): {@code request-no-store} (distinct from the
 *       response's {@code no-store}: it says nothing about later requests for the URI);
 *   <li>the status is final; 206 is not stored yet ({@code partial}); 304 and statuses outside
 *       200..599 are never stored ({@code status});
 *   <li>{@code must-understand} (§5.2.2.3): store only a status this cache understands
 *       ({@code status}), and then ignore {@code no-store};
 *   <li>no {@code no-store} (§5.2.2.5): {@code no-store};
 *   <li>no unqualified {@code private} in a shared cache (§5.2.2.7): {@code private}; a qualified
 *       {@code private="f"} or {@code no-cache="f"} stores the response without those fields;
 *   <li>a request with {@code Authorization} only with {@code public}, {@code s-maxage} or
 *       {@code must-revalidate} (§3.5): {@code authorization};
 *   <li>{@code Vary: *} is never stored, as it can never be selected (§4.1): {@code vary-star};
 *   <li>a known {@code Content-Length} above the configured maximum: {@code too-large};
 *   <li>a POST response is stored, as the response to a GET of the same URI, only with explicit
 *       expiry and a {@code Content-Location} that names the target URI (RFC 9110 §9.3.3): else
 *       {@code method};
 *   <li>the response has explicit expiry ({@code s-maxage}, {@code max-age}, {@code Expires}, even an
 *       invalid one), {@code public}, or a heuristically cacheable status: else {@code no-freshness};
 *   <li>a {@code Set-Cookie} that a qualified {@code private}/{@code no-cache} does not already keep
 *       out: {@code set-cookie} with {@link SetCookie#PASS} (the default), stored without it with
 *       {@link SetCookie#STRIP}, stored as is with {@link SetCookie#STORE} (RFC 9111 §7.3 allows it).
 * </ol>
 * Stored fields exclude hop-by-hop fields (§3.1, RFC 9110 §7.6.1). Directives come from
 * {@link ResponseControl}, so targeted fields (RFC 9213) apply when enabled.
 */
final class StorageRules {
  /** Status codes whose semantics this cache understands (RFC 9110 §15), for must-understand. */
  static final Set<Integer> UNDERSTOOD = Set.of(
      200, 201, 202, 203, 204, 205, 300, 301, 302, 303, 307, 308,
      400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 421, 422,
      426, 500, 501, 502, 503, 504, 505);

  private StorageRules() {}

  static Storability decide(RequestHead req, ResponseHead resp, PolicyConfig config) {
    boolean post = req.method().equals("POST");
    if (!req.method().equals("GET") && !post) {
      return new Storability.DontStore("method");
    }
    if (CacheControl.of(req.headers(), "Cache-Control").has("no-store")) {
      return new Storability.DontStore("request-no-store");
    }
    int status = resp.status();
    if (status == 206) {
      return new Storability.DontStore("partial");
    }
    if (status < 200 || status > 599 || status == 304) {
      return new Storability.DontStore("status");
    }
    Headers h = resp.headers();
    ResponseControl rc = ResponseControl.of(h, config);
    if (rc.mustUnderstand()) {
      if (!UNDERSTOOD.contains(status)) {
        return new Storability.DontStore("status");
      }
    } else if (rc.noStore()) {
      return new Storability.DontStore("no-store");
    }
    if (rc.privateUnqualified()) {
      return new Storability.DontStore("private");
    }
    if (req.headers().contains("Authorization") && !(rc.isPublic() || rc.hasSMaxage() || rc.mustRevalidate())) {
      return new Storability.DontStore("authorization");
    }
    if (VarySelector.isStar(h)) {
      return new Storability.DontStore("vary-star");
    }
    long length = contentLength(h);
    if (length > config.maxObjectBytes()) {
      return new Storability.DontStore("too-large");
    }
    if (post && !(Freshness.hasExplicitExpiry(h, rc) && Invalidation.namesTarget(req, h.get("Content-Location")))) {
      return new Storability.DontStore("method");
    }
    if (!(Freshness.hasExplicitExpiry(h, rc) || rc.isPublic() || Freshness.HEURISTIC.contains(status))) {
      return new Storability.DontStore("no-freshness");
    }
    Headers stored = HopByHop.strip(h);
    for (String f : Validation.qualifiedFields(rc)) {
      stored = stored.without(f);
    }
    if (config.setCookie() != SetCookie.STORE) {
      for (String f : SetCookie.FIELDS) {
        if (stored.contains(f)) {
          if (config.setCookie() == SetCookie.PASS) {
            return new Storability.DontStore("set-cookie");
          }
          stored = stored.without(f);
        }
      }
    }
    return new Storability.Store(VarySelector.key(h, req.headers()), stored);
  }

  /** The {@code Content-Length} value: -1 when absent or invalid, {@link ContentLength#TOO_LARGE} when too large. */
  static long contentLength(Headers h) {
    return ContentLength.parse(h.getAll("Content-Length"));
  }

}
