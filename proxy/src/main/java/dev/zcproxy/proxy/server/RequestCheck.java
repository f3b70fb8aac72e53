package dev.zcproxy.proxy.server;

import dev.zcproxy.cache.Headers;
import dev.zcproxy.cache.policy.ContentLength;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Decides, from a parsed request head alone, whether the request is well framed and addressed
 * (RFC 9112 §3, §6) and, if so, how long its body is and which authority and origin-form target it
 * names. Pure: no I/O, no Vert.x.
 *
 * <h2>Design notes</h2>
 * <ul>
 *   <li><b>Transfer-Encoding</b> (RFC 9112 §6.1, §6.3): on HTTP/1.0 it is faulty framing (400); with a
 *       Content-Length it is a smuggling attempt (400); in more than one field, with chunked not last or
 *       applied twice it is 400; a coding other than chunked is 501 (zcproxy decodes only chunked, like
 *       nginx). Every rejection closes the connection: the body's end cannot be known.
 *   <li><b>Content-Length</b> (§6.3 item 5): one or more fields whose every member is the same run of
 *       digits; anything else ({@code +5}, {@code 5, 6}, {@code 5x}) is 400.
 *   <li><b>obs-fold</b> (§5.2): the decoder joins a folded line to the previous value with a space, so a
 *       value that starts with whitespace can only come from a fold on an empty first line: 400, as
 *       nginx does. A fold inside a value becomes a space (allowed), which breaks any token it touches.
 *   <li><b>Host</b> (§3.2): exactly one on HTTP/1.1, a valid {@code host[:port]} without user info or
 *       path; an absolute-form target's authority wins over it (§3.2.2), and the request is forwarded
 *       and keyed in origin-form under that authority.
 * </ul>
 */
final class RequestCheck {
  private RequestCheck() {}

  /** The outcome of {@link #check}. */
  sealed interface Verdict permits Ok, Reject {}

  /**
   * A request that may proceed.
   *
   * @param bodyLength the declared body length, 0 for none, or -1 for a chunked body
   * @param authority the authority the request is for, or {@code null} when it names none (HTTP/1.0 without Host)
   * @param target the origin-form request target ({@code /path?query})
   */
  record Ok(long bodyLength, String authority, String target) implements Verdict {
    boolean chunked() {
      return bodyLength < 0;
    }

    boolean hasBody() {
      return bodyLength != 0;
    }
  }

  /** A request to answer with {@code status} and then close the connection. */
  record Reject(int status, String reason) implements Verdict {}

  private static final Set<String> KNOWN_CODINGS = Set.of("chunked", "gzip", "x-gzip", "deflate", "compress",
      "x-compress", "identity");

  /**
   * @param version {@code HTTP/1.0} or {@code HTTP/1.1}
   * @param uri the request target as received
   */
  static Verdict check(String version, String uri, Headers headers) {
    boolean http10 = "HTTP/1.0".equals(version);
    for (int i = 0; i < headers.size(); i++) {
      String v = headers.value(i);
      if (!v.isEmpty() && (v.charAt(0) == ' ' || v.charAt(0) == '\t')) {
        return new Reject(400, "obsolete line folding in " + headers.name(i));
      }
    }
    // counted first: a plain GET (no body fields, one Host) allocates no lists here
    int teCount = count(headers, "transfer-encoding");
    int clCount = count(headers, "content-length");
    List<String> te = teCount == 0 ? List.of() : headers.getAll("transfer-encoding");
    List<String> cl = clCount == 0 ? List.of() : headers.getAll("content-length");
    long length = 0;
    if (!te.isEmpty()) {
      if (http10) {
        return new Reject(400, "Transfer-Encoding on an HTTP/1.0 request");
      }
      if (!cl.isEmpty()) {
        return new Reject(400, "both Content-Length and Transfer-Encoding");
      }
      if (te.size() > 1) {
        return new Reject(400, "more than one Transfer-Encoding field");
      }
      Reject bad = checkCodings(te.get(0));
      if (bad != null) {
        return bad;
      }
      length = -1;
    } else if (!cl.isEmpty()) {
      length = ContentLength.parse(cl);
      if (length == ContentLength.INVALID || length == ContentLength.TOO_LARGE) {
        return new Reject(400, "invalid Content-Length");
      }
    }
    String authority = null;
    String target = uri;
    if (uri.regionMatches(true, 0, "http://", 0, 7) || uri.regionMatches(true, 0, "https://", 0, 8)) {
      int start = uri.indexOf("//") + 2;
      int end = start;
      while (end < uri.length() && "/?#".indexOf(uri.charAt(end)) < 0) {
        end++;
      }
      authority = uri.substring(start, end);
      if (!validAuthority(authority)) {
        return new Reject(400, "invalid authority in the request target");
      }
      target = end == uri.length() ? "/" : uri.charAt(end) == '/' ? uri.substring(end) : "/" + uri.substring(end);
    } else if (!uri.startsWith("/") && !(uri.equals("*"))) {
      return new Reject(400, "invalid request target");
    }
    int hostCount = count(headers, "host");
    if (hostCount > 1) {
      return new Reject(400, "more than one Host field");
    }
    if (hostCount == 0 && !http10) {
      return new Reject(400, "no Host on an HTTP/1.1 request");
    }
    String host = hostCount == 0 ? null : headers.get("host");
    if (host != null && !host.isEmpty() && !validAuthority(host)) {
      return new Reject(400, "invalid Host");
    }
    if (authority == null && host != null && !host.isEmpty()) {
      authority = host;
    }
    for (int i = 0; i < target.length(); i++) {
      char c = target.charAt(i);
      if (c <= ' ' || c >= 0x7f) {
        return new Reject(400, "invalid character in the request target");
      }
    }
    return new Ok(length, authority == null ? null : authority.toLowerCase(Locale.ROOT), target);
  }

  private static Reject checkCodings(String value) {
    String[] codings = value.split(",", -1);
    int chunked = 0;
    boolean others = false;
    for (int i = 0; i < codings.length; i++) {
      String c = codings[i].strip();
      int semi = c.indexOf(';'); // transfer parameters
      String name = (semi < 0 ? c : c.substring(0, semi)).strip().toLowerCase(Locale.ROOT);
      if (!isToken(name)) {
        return new Reject(400, "invalid Transfer-Encoding");
      }
      if (!KNOWN_CODINGS.contains(name)) {
        return new Reject(501, "unknown transfer coding " + name);
      }
      if (name.equals("chunked")) {
        if (semi >= 0 || i != codings.length - 1) {
          return new Reject(400, "chunked is not the final transfer coding");
        }
        chunked++;
      } else {
        others = true;
      }
    }
    if (chunked != 1) {
      return new Reject(400, "chunked is not the final transfer coding");
    }
    return others ? new Reject(501, "transfer codings other than chunked are not implemented") : null;
  }

  /** {@code host[:port]}: a reg-name of unreserved characters, or an IP literal in brackets; no user info, no path. */
  static boolean validAuthority(String a) {
    if (a.isEmpty()) {
      return false;
    }
    int hostEnd;
    if (a.charAt(0) == '[') {
      hostEnd = a.indexOf(']');
      if (hostEnd < 2) {
        return false;
      }
      for (int i = 1; i < hostEnd; i++) {
        char c = a.charAt(i);
        if (!(Character.digit(c, 16) >= 0 || c == ':' || c == '.')) {
          return false;
        }
      }
      hostEnd++;
    } else {
      hostEnd = a.lastIndexOf(':');
      if (hostEnd < 0) {
        hostEnd = a.length();
      }
      if (hostEnd == 0) {
        return false;
      }
      for (int i = 0; i < hostEnd; i++) {
        char c = a.charAt(i);
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.'
            || c == '_' || c == '~')) {
          return false;
        }
      }
    }
    if (hostEnd == a.length()) {
      return true;
    }
    if (a.charAt(hostEnd) != ':' || hostEnd + 1 == a.length() || a.length() - hostEnd - 1 > 5) {
      return false;
    }
    for (int i = hostEnd + 1; i < a.length(); i++) {
      if (a.charAt(i) < '0' || a.charAt(i) > '9') {
        return false;
      }
    }
    return Integer.parseInt(a, hostEnd + 1, a.length(), 10) <= 65535;
  }

  /** How many lines of the field {@code name} {@code headers} has (no list made). */
  private static int count(Headers headers, String name) {
    int n = 0;
    for (int i = 0; i < headers.size(); i++) {
      if (headers.name(i).equalsIgnoreCase(name)) {
        n++;
      }
    }
    return n;
  }

  private static boolean isToken(String s) {
    if (s.isEmpty()) {
      return false;
    }
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      boolean tchar = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
      if (!tchar) {
        return false;
      }
    }
    return true;
  }
}
