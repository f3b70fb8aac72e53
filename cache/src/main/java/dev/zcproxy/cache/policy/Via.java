package dev.zcproxy.cache.policy;

/** This proxy's member of the {@code Via} field (RFC 9110 §7.6.3), added to every forwarded message. */
public final class Via {
  /** {@code 1.1 zcproxy}: the protocol version received and this proxy's pseudonym. */
  public static final String MEMBER = "1.1 " + CacheStatus.NAME;

  private Via() {}

  /** {@code existing} (the members of proxies before this one, or {@code null}) with this proxy's member appended. */
  public static String appendTo(String existing) {
    return existing == null ? MEMBER : existing + ", " + MEMBER;
  }
}
