package dev.zcproxy.cache.policy;

/**
 * What this shared cache does with a response that carries {@code Set-Cookie} (or the obsolete
 * {@code Set-Cookie2}) and would otherwise be stored.
 *
 * <p>RFC 9111 §7.3 lets a shared cache store such a response, but the cookie was minted for one client:
 * stored, it is handed to every client (session fixation, one user's login in another's browser).
 * nginx ({@code proxy_cache}) and Varnish (builtin VCL) do not cache these responses by default.
 * A {@code Cache-Control: private="Set-Cookie"} or {@code no-cache="Set-Cookie"} from the origin
 * already keeps the field out of the stored copy (§5.2.2.4, §5.2.2.7) and then no mode is needed.
 */
public enum SetCookie {
  /** Not stored: the response goes to the client that asked and nobody else ({@code set-cookie}). The default. */
  PASS,
  /**
   * Stored without its {@code Set-Cookie} fields: the client whose request fetched it still gets its
   * cookie; hits and coalesced waiters never do. For origins that set cookies on shared content.
   */
  STRIP,
  /** Stored with the cookie and served to every client, as RFC 9111 allows. Only for origins known to need it. */
  STORE;

  /** The field names that set cookies. */
  static final String[] FIELDS = {"Set-Cookie", "Set-Cookie2"};

  /** Whether {@code name} is one of {@link #FIELDS}, case-insensitively. */
  static boolean isCookieField(String name) {
    for (String f : FIELDS) {
      if (f.equalsIgnoreCase(name)) {
        return true;
      }
    }
    return false;
  }
}
