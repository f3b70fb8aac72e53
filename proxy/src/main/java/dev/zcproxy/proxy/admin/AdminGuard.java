package dev.zcproxy.proxy.admin;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Locale;
import java.util.Set;

/**
 * Decides whether an admin request may proceed: reads are open, every other method needs the bearer
 * token and must not come from another origin's page.
 *
 * <p>Design notes:
 * <ul>
 *   <li>Mutating means any method but GET, HEAD and OPTIONS (POST /purge, PURGE, and whatever comes).
 *   <li>Cross-origin (CSRF): a browser marks its requests with {@code Sec-Fetch-Site} and, for POST,
 *       {@code Origin}. {@code Sec-Fetch-Site} other than {@code same-origin} or {@code none} (typed by
 *       the user) is refused, {@code same-site} too (a page on {@code localhost:3000} is same-site with
 *       the admin port); an {@code Origin} must be {@code http://} + the request's {@code Host}
 *       ({@code null} is refused). Tools like curl send neither and pass on to the token check.
 *   <li>Token: {@code Authorization: Bearer <token>} (scheme case-insensitive, RFC 9110 §11.1). Both
 *       sides are hashed with SHA-256 and compared with {@link MessageDigest#isEqual}, so the time
 *       taken depends on neither the token's content nor its length.
 *   <li>No token configured: mutating requests are refused (403) with a message naming the key, so
 *       an admin port reachable by others can never purge by default.
 * </ul>
 */
final class AdminGuard {
  private static final Set<String> READ_METHODS = Set.of("GET", "HEAD", "OPTIONS");

  /** What to do with one request. */
  record Verdict(int status, String error) {
    static final Verdict ALLOW = new Verdict(0, null);

    boolean allowed() {
      return status == 0;
    }
  }

  private final byte[] tokenHash;

  /** @param token the configured token, {@code ""} for none */
  AdminGuard(String token) {
    this.tokenHash = token.isEmpty() ? null : sha256(token);
  }

  boolean hasToken() {
    return tokenHash != null;
  }

  /**
   * @param authorization the {@code Authorization} field, or null (likewise the others)
   */
  Verdict check(String method, String authorization, String origin, String secFetchSite, String host) {
    if (READ_METHODS.contains(method)) {
      return Verdict.ALLOW;
    }
    if (secFetchSite != null) {
      String site = secFetchSite.trim().toLowerCase(Locale.ROOT);
      if (!site.equals("same-origin") && !site.equals("none")) {
        return new Verdict(403, "cross-origin request refused (Sec-Fetch-Site: " + site + ")");
      }
    }
    if (origin != null && (host == null || !origin.trim().equalsIgnoreCase("http://" + host.trim()))) {
      return new Verdict(403, "cross-origin request refused (Origin " + origin.trim() + " is not this admin listener)");
    }
    if (tokenHash == null) {
      return new Verdict(403, "no admin token is configured, so " + method + " requests are refused:"
          + " set admin.token in the config or the environment variable ZCPROXY_ADMIN_TOKEN");
    }
    String presented = bearer(authorization);
    if (presented == null) {
      return new Verdict(401, "missing credentials (expected: Authorization: Bearer <admin token>)");
    }
    if (!MessageDigest.isEqual(sha256(presented), tokenHash)) {
      return new Verdict(401, "wrong admin token");
    }
    return Verdict.ALLOW;
  }

  /** The token of a {@code Bearer} credential, or null when absent or another scheme. */
  static String bearer(String authorization) {
    if (authorization == null) {
      return null;
    }
    String a = authorization.trim();
    if (a.length() < 7 || !a.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return null;
    }
    String t = a.substring(7).trim();
    return t.isEmpty() ? null : t;
  }

  private static byte[] sha256(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every JDK", e);
    }
  }
}
