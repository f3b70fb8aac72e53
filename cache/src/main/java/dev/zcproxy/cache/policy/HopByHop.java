package dev.zcproxy.cache.policy;

import dev.zcproxy.cache.Headers;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;

/** The hop-by-hop header fields of RFC 9110 §7.6.1, which a proxy neither forwards nor stores. */
public final class HopByHop {
  private static final Set<String> FIXED = Set.of(
      "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
      "proxy-authenticate", "proxy-authorization");

  private HopByHop() {}

  /** {@code headers} without the fixed hop-by-hop fields and without every field named in {@code Connection}. */
  public static Headers strip(Headers headers) {
    Set<String> drop = new HashSet<>(FIXED);
    for (String name : headers.members("Connection")) {
      drop.add(name.toLowerCase(Locale.ROOT));
    }
    boolean any = false;
    for (int i = 0; i < headers.size() && !any; i++) {
      any = drop.contains(headers.name(i).toLowerCase(Locale.ROOT));
    }
    if (!any) {
      return headers;
    }
    Headers.Builder b = Headers.builder();
    for (int i = 0; i < headers.size(); i++) {
      if (!drop.contains(headers.name(i).toLowerCase(Locale.ROOT))) {
        b.add(headers.name(i), headers.value(i));
      }
    }
    return b.build();
  }

  /** Whether {@code name} is one of the fixed hop-by-hop fields (case-insensitive). */
  public static boolean isHopByHop(String name) {
    return FIXED.contains(name.toLowerCase(Locale.ROOT));
  }
}
