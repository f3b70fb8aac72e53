package dev.zcproxy.cache.policy;

import java.util.Set;

/**
 * Which request methods invalidate stored responses when the origin answers them with a non-error
 * status ({@code cache.invalidate-methods}, RFC 9111 §4.4).
 *
 * <p>§4.4 names "unsafe request methods (including methods whose safety is unknown)". Honouring the
 * unknown ones lets any client of the data port evict any URL with {@code PURGE} or a made-up method
 * that the origin happens to answer 2xx, so the default is the standard unsafe methods only, as
 * nginx and Varnish do. Method names are case-sensitive (RFC 9110 §9.1): {@code post} is unknown.
 */
public enum InvalidateMethods {
  /** POST, PUT, DELETE (RFC 9110 §9.3) and PATCH (RFC 5789). The default. */
  STANDARD,
  /** Every method that is not known to be safe (RFC 9110 §9.2.1: GET, HEAD, OPTIONS, TRACE), as §4.4 says. */
  ANY_UNSAFE;

  private static final Set<String> STANDARD_UNSAFE = Set.of("POST", "PUT", "DELETE", "PATCH");
  private static final Set<String> SAFE = Set.of("GET", "HEAD", "OPTIONS", "TRACE");

  /** Whether a successful response to {@code method} invalidates. */
  public boolean invalidates(String method) {
    if (method == null || method.isEmpty()) {
      return false;
    }
    return switch (this) {
      case STANDARD -> STANDARD_UNSAFE.contains(method);
      // CONNECT opens a tunnel and is never answered from or stored in the cache: no target to invalidate
      case ANY_UNSAFE -> !SAFE.contains(method) && !method.equals("CONNECT");
    };
  }
}
