package dev.zcproxy.cache.policy;

import dev.zcproxy.cache.Headers;
import dev.zcproxy.cache.RequestHead;

/**
 * The client's {@code If-Match} and {@code If-Unmodified-Since}, evaluated by this cache against the
 * response it delivers, because a fetch for the cache does not forward them (nginx's proxy_cache does
 * the same): RFC 9110 §13.1.1, §13.1.4, in the order of §13.2.2.
 */
final class Preconditions {
  private Preconditions() {}

  /**
   * Whether {@code req}'s preconditions fail against a response with {@code status} and {@code fields}
   * (then the answer is 412). Only GET and HEAD, whose preconditions a fetch for the cache drops, are
   * evaluated; a non-2xx response ignores them (§13.2.1).
   */
  static boolean failed(RequestHead req, int status, Headers fields) {
    if (!(req.method().equals("GET") || req.method().equals("HEAD")) || status < 200 || status > 299) {
      return false;
    }
    Headers rh = req.headers();
    if (rh.contains("If-Match")) {
      return !ifMatch(rh.members("If-Match"), fields.get("ETag"));
    }
    String ius = rh.get("If-Unmodified-Since");
    if (ius == null) {
      return false;
    }
    long since = HttpDates.parse(ius);
    long lm = HttpDates.parse(fields.get("Last-Modified"));
    // §13.1.4: an invalid date, or a representation without a modification date, ignores the field
    return since != HttpDates.INVALID && lm != HttpDates.INVALID && lm > since;
  }

  /** §13.1.1: {@code *} matches any current representation; else a strong comparison with one of the members. */
  private static boolean ifMatch(java.util.List<String> members, String etag) {
    for (String tag : members) {
      if (tag.equals("*") || (etag != null && Validation.strongEquals(tag, etag))) {
        return true;
      }
    }
    return false;
  }
}
