package dev.zcproxy.cache.policy;

import dev.zcproxy.cache.Headers;

/**
 * The response cache directives that apply to this (shared, CDN-class) cache, after targeted fields.
 *
 * <p>Design notes:
 * <ul>
 *   <li>RFC 9213 §2.2: when {@code CDN-Cache-Control} is honoured and has a valid, non-empty value,
 *       its directives replace {@code Cache-Control}'s and {@code Expires} is ignored; an empty or
 *       unparsable targeted field is ignored as if absent.
 *   <li>{@code Surrogate-Control} (Edge Architecture 1.0; no RFC): only {@code max-age} and
 *       {@code no-store} are honoured. A valid {@code max-age} replaces the freshness of
 *       {@code Cache-Control} ({@code s-maxage}, {@code max-age}, {@code Expires}) and its
 *       {@code no-store}; a {@code no-store} forbids storing. Other {@code Cache-Control} directives
 *       still apply. {@code CDN-Cache-Control} wins when both are present.
 *   <li>When a targeted field is disabled in {@link PolicyConfig} it changes nothing.
 * </ul>
 */
final class ResponseControl {
  final CacheControl cc;
  /** Whether {@code Expires} may supply freshness (false under a targeted field, RFC 9213 §2.2). */
  final boolean expiresApplies;
  /** Which field the directives came from: {@code cache-control}, {@code cdn-cache-control}, {@code surrogate-control}. */
  final String source;

  private ResponseControl(CacheControl cc, boolean expiresApplies, String source) {
    this.cc = cc;
    this.expiresApplies = expiresApplies;
    this.source = source;
  }

  static ResponseControl of(Headers h, PolicyConfig config) {
    CacheControl cc = CacheControl.of(h, "Cache-Control");
    if (config.cdnCacheControl() && h.contains("CDN-Cache-Control")) {
      CacheControl cdn = CacheControl.parseStructured(h.getAll("CDN-Cache-Control"));
      if (cdn != null) {
        return new ResponseControl(cdn, false, "cdn-cache-control");
      }
    }
    if (config.surrogateControl() && h.contains("Surrogate-Control")) {
      CacheControl sc = CacheControl.parse(surrogateDirectives(h));
      long maxAge = sc.seconds("max-age");
      boolean noStore = sc.has("no-store");
      if (maxAge >= 0 || noStore) {
        CacheControl merged = cc;
        if (maxAge >= 0) {
          merged = merged.with("s-maxage", null, true).with("max-age", Long.toString(maxAge), false)
              .with("no-store", null, true);
        }
        if (noStore) {
          merged = merged.with("no-store", null, false);
        }
        return new ResponseControl(merged, maxAge < 0, "surrogate-control");
      }
    }
    return new ResponseControl(cc, true, "cache-control");
  }

  /**
   * The {@code Surrogate-Control} directives meant for this cache: those targeted at
   * {@link CachePolicy#SURROGATE_DEVICE} ({@code max-age=60;zcproxy}) when there are any, else the
   * untargeted ones; directives targeted at other devices never apply (Edge Architecture 1.0 §3).
   */
  static java.util.List<String> surrogateDirectives(Headers h) {
    java.util.List<String> general = new java.util.ArrayList<>();
    java.util.List<String> mine = new java.util.ArrayList<>();
    for (String member : h.members("Surrogate-Control")) {
      int semi = member.lastIndexOf(';');
      if (semi < 0 || member.indexOf('"', semi) >= 0) {
        general.add(member);
      } else if (member.substring(semi + 1).trim().equalsIgnoreCase(CachePolicy.SURROGATE_DEVICE)) {
        mine.add(member.substring(0, semi).trim());
      }
    }
    return java.util.List.of(String.join(", ", mine.isEmpty() ? general : mine));
  }

  boolean noStore() {
    return cc.has("no-store");
  }

  /** {@code no-cache} without field names: every reuse needs validation (§5.2.2.4). */
  boolean noCacheUnqualified() {
    return cc.hasBare("no-cache") || (cc.has("no-cache") && cc.fieldNames("no-cache").isEmpty());
  }

  boolean privateUnqualified() {
    return cc.hasBare("private") || (cc.has("private") && cc.fieldNames("private").isEmpty());
  }

  boolean isPublic() {
    return cc.has("public");
  }

  boolean mustRevalidate() {
    return cc.has("must-revalidate");
  }

  boolean proxyRevalidate() {
    return cc.has("proxy-revalidate");
  }

  boolean hasSMaxage() {
    return cc.has("s-maxage");
  }

  boolean mustUnderstand() {
    return cc.has("must-understand");
  }

  boolean immutable() {
    return cc.has("immutable");
  }

  /**
   * Serving stale is forbidden outright (RFC 9111 §4.2.4, §5.2.2.2, §5.2.2.8): must-revalidate or
   * proxy-revalidate.
   */
  boolean explicitRevalidate() {
    return mustRevalidate() || proxyRevalidate();
  }

  /** Serving stale on the client's say-so is forbidden: also {@code s-maxage}, which implies proxy-revalidate (§5.2.2.10). */
  boolean sharedRevalidate() {
    return explicitRevalidate() || hasSMaxage();
  }

  /** A delta-seconds directive's value, or 0 when absent or invalid. */
  long secondsOrZero(String name) {
    long v = cc.seconds(name);
    return v < 0 ? 0 : v;
  }
}
