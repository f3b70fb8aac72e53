package dev.zcproxy.cache.policy;

/**
 * Builds this proxy's member of the {@code Cache-Status} field (RFC 9211): {@code zcproxy; hit},
 * {@code zcproxy; fwd=uri-miss; stored}, {@code zcproxy; fwd=stale; fwd-status=304}, ...
 */
public final class CacheStatus {
  /** This cache's name in the field. */
  public static final String NAME = "zcproxy";

  /** Room for a pass's {@code zcproxy; fwd=uri-miss; fwd-status=200; detail=hit-for-pass} without growing. */
  private StringBuilder sb;
  /** The member as {@link #of} was given it, until a parameter is added ({@code null} then). */
  private String built;

  private CacheStatus() {
    this.sb = new StringBuilder(96).append(NAME);
  }

  private CacheStatus(String member) {
    this.built = member;
  }

  /**
   * A member already written out, e.g. the {@link #toString} of an earlier one: a response that is answered the same
   * way again and again takes it as it is, with no builder; parameters added to it are added to a copy.
   */
  public static CacheStatus of(String member) {
    if (!member.startsWith(NAME)) {
      throw new IllegalArgumentException("not a member of this cache: " + member);
    }
    return new CacheStatus(member);
  }

  private StringBuilder sb() {
    if (sb == null) {
      sb = new StringBuilder(built.length() + 32).append(built);
      built = null;
    }
    return sb;
  }

  /** {@code zcproxy; hit}. */
  public static CacheStatus hit() {
    return new CacheStatus().param("hit");
  }

  /** {@code zcproxy; fwd=reason}. */
  public static CacheStatus fwd(String reason) {
    return new CacheStatus().param("fwd", reason);
  }

  /** Adds a parameter without a value, e.g. {@code stored}. */
  public CacheStatus param(String name) {
    sb().append("; ").append(name);
    return this;
  }

  /** Adds a parameter with a token value, e.g. {@code fwd=miss}. */
  public CacheStatus param(String name, String token) {
    sb().append("; ").append(name).append('=').append(token);
    return this;
  }

  /** Adds a parameter with an integer value, e.g. {@code ttl=60}. */
  public CacheStatus param(String name, long value) {
    sb().append("; ").append(name).append('=').append(value);
    return this;
  }

  /** A free-text {@code detail}; written as a token when it is one, else as a quoted string. */
  public CacheStatus detail(String detail) {
    if (isToken(detail)) {
      return param("detail", detail);
    }
    sb().append("; detail=\"").append(detail.replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
    return this;
  }

  /** Whether {@code s} is an RFC 9110 token (visible ASCII, no delimiter); a loop, not a stream per call. */
  private static boolean isToken(String s) {
    if (s.isEmpty()) {
      return false;
    }
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c <= 0x20 || c >= 0x7f || DELIMITERS.indexOf(c) >= 0) {
        return false;
      }
    }
    return true;
  }

  private static final String DELIMITERS = "\"(),/:;<=>?@[\\]{}";

  /** Appends this member to an existing field value from caches closer to the origin (RFC 9211 §2). */
  public String appendTo(String existing) {
    String mine = toString();
    return existing == null || existing.isBlank() ? mine : existing + ", " + mine;
  }

  @Override
  public String toString() {
    return built != null ? built : sb.toString();
  }
}
