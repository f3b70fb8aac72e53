package dev.zcproxy.cache.policy;

import dev.zcproxy.cache.Headers;

/** The hop-by-hop header fields of RFC 9110 §7.6.1, which a proxy neither forwards nor stores. */
public final class HopByHop {
  private HopByHop() {}

  /** {@code headers} without the fixed hop-by-hop fields and without every field named in {@code Connection}. */
  public static Headers strip(Headers headers) {
    throw new UnsupportedOperationException("TODO");
  }
}
