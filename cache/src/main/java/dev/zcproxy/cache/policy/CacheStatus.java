package dev.zcproxy.cache.policy;

/**
 * Builds this proxy's member of the {@code Cache-Status} field (RFC 9211): {@code zcproxy; hit},
 * {@code zcproxy; fwd=uri-miss; stored}, {@code zcproxy; fwd=stale; fwd-status=304}, ...
 */
public final class CacheStatus {
  /** This cache's name in the field. */
  public static final String NAME = "zcproxy";

  private final StringBuilder sb = new StringBuilder(48).append(NAME);

  private CacheStatus() {}

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
    sb.append("; ").append(name);
    return this;
  }

  /** Adds a parameter with a token value, e.g. {@code fwd=miss}. */
  public CacheStatus param(String name, String token) {
    sb.append("; ").append(name).append('=').append(token);
    return this;
  }

  /** Adds a parameter with an integer value, e.g. {@code ttl=60}. */
  public CacheStatus param(String name, long value) {
    sb.append("; ").append(name).append('=').append(value);
    return this;
  }

  /** A free-text {@code detail}; written as a token when it is one, else as a quoted string. */
  public CacheStatus detail(String detail) {
    boolean token = !detail.isEmpty() && detail.chars().allMatch(c -> c > 0x20 && c < 0x7f && "\"(),/:;<=>?@[\\]{}".indexOf(c) < 0);
    if (token) {
      return param("detail", detail);
    }
    sb.append("; detail=\"").append(detail.replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
    return this;
  }

  /** Appends this member to an existing field value from caches closer to the origin (RFC 9211 §2). */
  public String appendTo(String existing) {
    return existing == null || existing.isBlank() ? sb.toString() : existing + ", " + sb;
  }

  @Override
  public String toString() {
    return sb.toString();
  }
}
