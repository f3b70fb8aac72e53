package dev.zcproxy.cache.policy;

import dev.zcproxy.cache.CacheKey;
import dev.zcproxy.cache.RequestHead;
import dev.zcproxy.cache.ResponseHead;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Which stored responses an unsafe request invalidates.
 *
 * <p>Design notes (RFC 9111 §4.4): a non-error response (2xx, 3xx) to one of the standard unsafe
 * methods POST, PUT, DELETE (RFC 9110 §9.3) and PATCH (RFC 5789) invalidates the target URI, and the
 * URIs in {@code Location} and {@code Content-Location} (resolved against the target URI) when they
 * have the same origin (scheme and authority, default ports ignored, RFC 9110 §4.3.1); other origins
 * are never invalidated, against denial-of-service by a hostile origin.
 *
 * <p>Deliberate deviation by default: §4.4 also names methods whose safety is unknown. zcproxy does
 * not, unless {@link InvalidateMethods#ANY_UNSAFE}, because any client of the data port could then
 * evict any URL with {@code PURGE} or a made-up method that an origin happens to answer 2xx (purging
 * belongs to the authenticated admin listener). Method names are case-sensitive (RFC 9110 §9.1):
 * {@code post} is an unknown method.
 */
final class Invalidation {
  private Invalidation() {}

  static List<String> keys(RequestHead req, ResponseHead resp, InvalidateMethods methods) {
    if (!methods.invalidates(req.method()) || resp.status() < 200 || resp.status() >= 400) {
      return List.of();
    }
    List<String> out = new ArrayList<>(3);
    String target = CacheKey.primaryOf(req);
    out.add(target);
    URI base;
    try {
      base = new URI(req.scheme() + "://" + req.authority() + req.pathAndQuery());
    } catch (URISyntaxException e) {
      return out;
    }
    for (String field : new String[] {"Location", "Content-Location"}) {
      String v = resp.headers().get(field);
      if (v == null || v.isBlank()) {
        continue;
      }
      String key = sameOriginKey(base, v.trim());
      if (key != null && !out.contains(key)) {
        out.add(key);
      }
    }
    return out;
  }

  /** Whether {@code ref} (a {@code Content-Location}, may be null) resolves to {@code req}'s own target URI. */
  static boolean namesTarget(RequestHead req, String ref) {
    if (ref == null || ref.isBlank()) {
      return false;
    }
    try {
      URI base = new URI(req.scheme() + "://" + req.authority() + req.pathAndQuery());
      return CacheKey.primaryOf(req).equals(sameOriginKey(base, ref.trim()));
    } catch (URISyntaxException e) {
      return false;
    }
  }

  private static String sameOriginKey(URI base, String ref) {
    URI u;
    try {
      u = base.resolve(new URI(ref));
    } catch (URISyntaxException | IllegalArgumentException e) {
      return null;
    }
    if (u.getScheme() == null || u.getRawAuthority() == null) {
      return null;
    }
    if (!origin(u).equals(origin(base))) {
      return null;
    }
    String path = u.getRawPath() == null || u.getRawPath().isEmpty() ? "/" : u.getRawPath();
    String pq = u.getRawQuery() == null ? path : path + "?" + u.getRawQuery();
    return CacheKey.primaryOf(base.getScheme(), base.getRawAuthority(), pq);
  }

  private static String origin(URI u) {
    String scheme = u.getScheme().toLowerCase(Locale.ROOT);
    String host = u.getHost() == null ? u.getRawAuthority() : u.getHost();
    int port = u.getPort();
    if (port < 0) {
      port = scheme.equals("https") ? 443 : scheme.equals("http") ? 80 : -1;
    }
    return scheme + "://" + host.toLowerCase(Locale.ROOT) + ":" + port;
  }
}
