package dev.zcproxy.cache.policy;

import dev.zcproxy.cache.Headers;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/** The hop-by-hop header fields of RFC 9110 §7.6.1, which a proxy neither forwards nor stores. */
public final class HopByHop {
  private static final Set<String> FIXED = Set.of(
      "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
      "proxy-authenticate", "proxy-authorization");

  /** {@link #FIXED} as an array, matched without lower-casing the name (no allocation per header line). */
  private static final String[] FIXED_LIST = FIXED.toArray(new String[0]);

  private HopByHop() {}

  /** {@code headers} without the fixed hop-by-hop fields and without every field named in {@code Connection}. */
  public static Headers strip(Headers headers) {
    // The common case (no Connection field) allocates nothing: the fixed names are matched ignoring case
    // without lower-casing each name, and the headers come back as they were when none matches.
    Set<String> named = null;
    for (String name : headers.contains("Connection") ? headers.members("Connection") : List.<String>of()) {
      if (named == null) {
        named = new HashSet<>();
      }
      named.add(name.toLowerCase(Locale.ROOT));
    }
    boolean any = false;
    for (int i = 0; i < headers.size() && !any; i++) {
      any = dropped(headers.name(i), named);
    }
    if (!any) {
      return headers;
    }
    Headers.Builder b = Headers.builder();
    for (int i = 0; i < headers.size(); i++) {
      if (!dropped(headers.name(i), named)) {
        b.add(headers.name(i), headers.value(i));
      }
    }
    return b.build();
  }

  private static boolean dropped(String name, Set<String> named) {
    return isHopByHop(name) || named != null && named.contains(name.toLowerCase(Locale.ROOT));
  }

  /** Whether {@code name} is one of the fixed hop-by-hop fields (case-insensitive). */
  public static boolean isHopByHop(String name) {
    for (String f : FIXED_LIST) {
      if (f.length() == name.length() && f.equalsIgnoreCase(name)) {
        return true;
      }
    }
    return false;
  }
}
