package dev.zcproxy.cache.policy;

import dev.zcproxy.cache.Headers;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Parsed cache directives of one field ({@code Cache-Control}, {@code Surrogate-Control}, or a
 * targeted field such as {@code CDN-Cache-Control}).
 *
 * <p>Design notes:
 * <ul>
 *   <li>RFC 9111 §5.2: directive names are case-insensitive tokens; arguments are a token or a
 *       quoted-string (unescaped here); the field is a list that may span several field lines
 *       (RFC 9110 §5.3, §5.6.1). Unknown directives are kept and ignored by callers.
 *   <li>A member whose name is not a token (for example {@code "max-age =60"}, with a space before
 *       {@code =}) is not a directive and is dropped.
 *   <li>RFC 9111 §4.2.1: when a directive appears more than once, the first occurrence is used.
 *   <li>RFC 9111 §1.2.2: delta-seconds are {@code 1*DIGIT}; larger than 2^31 saturates to 2^31.
 *       Anything else ({@code -1}, {@code 1.5}, {@code " 60"}, {@code 'x'}) is {@link #INVALID}, which
 *       freshness treats as "stale" (§4.2.1: invalid freshness information).
 *   <li>RFC 9213 §2.1: targeted fields are Structured Field Dictionaries (RFC 8941 §3.2); a field that
 *       fails to parse is ignored as a whole ({@link #parseStructured} returns {@code null}); a known
 *       directive with a value of the wrong type (e.g. {@code max-age="60"}) is ignored.
 * </ul>
 */
final class CacheControl {
  /** {@link #seconds} of an absent directive. */
  static final long ABSENT = -1;
  /** {@link #seconds} of a directive whose argument is not valid delta-seconds. */
  static final long INVALID = -2;
  /** The saturation value of delta-seconds (RFC 9111 §1.2.2). */
  static final long MAX_DELTA = 2_147_483_648L;

  static final CacheControl EMPTY = new CacheControl(Map.of());

  /** Directive name (lower case) to argument ({@code null} when the directive has none). */
  private final Map<String, String> directives;

  private CacheControl(Map<String, String> directives) {
    this.directives = directives;
  }

  /** Parses every field line of {@code name} in {@code headers} with the Cache-Control syntax. */
  static CacheControl of(Headers headers, String name) {
    List<String> lines = headers.getAll(name);
    return lines.isEmpty() ? EMPTY : parse(lines);
  }

  /** Parses field lines with the Cache-Control syntax (RFC 9111 §5.2). */
  static CacheControl parse(List<String> lines) {
    Map<String, String> out = new LinkedHashMap<>();
    List<String> members = new ArrayList<>();
    for (String line : lines) {
      Headers.splitList(line, members);
    }
    for (String m : members) {
      int eq = m.indexOf('=');
      String name = eq < 0 ? m : m.substring(0, eq);
      if (!isToken(name)) {
        continue;
      }
      name = name.toLowerCase(Locale.ROOT);
      if (out.containsKey(name)) {
        continue; // first occurrence wins (§4.2.1)
      }
      String arg = null;
      if (eq >= 0) {
        String raw = m.substring(eq + 1);
        arg = raw.startsWith("\"") ? unquote(raw) : raw;
        if (arg == null) {
          arg = raw; // malformed quoted string: keep raw, it will not parse as a number
        }
      }
      out.put(name, arg);
    }
    return out.isEmpty() ? EMPTY : new CacheControl(Collections.unmodifiableMap(out));
  }

  /**
   * Parses a targeted field (RFC 9213) as a Structured Field Dictionary, or returns {@code null} when
   * it is empty or does not parse (the field is then ignored).
   */
  static CacheControl parseStructured(List<String> lines) {
    if (lines.isEmpty()) {
      return null;
    }
    String joined = String.join(", ", lines);
    Map<String, String> out = new SfDictionary(joined).parse();
    if (out == null) {
      return null;
    }
    return new CacheControl(Collections.unmodifiableMap(out));
  }

  boolean has(String name) {
    return directives.containsKey(name);
  }

  /** The argument of {@code name}, or {@code null} (absent or without argument). */
  String arg(String name) {
    return directives.get(name);
  }

  /** The directive is present without an argument. */
  boolean hasBare(String name) {
    return directives.containsKey(name) && directives.get(name) == null;
  }

  /** The delta-seconds argument of {@code name}: {@link #ABSENT}, {@link #INVALID}, or 0..2^31. */
  long seconds(String name) {
    if (!directives.containsKey(name)) {
      return ABSENT;
    }
    return deltaSeconds(directives.get(name));
  }

  /** The field names listed in a qualified {@code name="a, b"} directive, lower-cased (empty when unqualified). */
  List<String> fieldNames(String name) {
    String a = directives.get(name);
    if (a == null) {
      return List.of();
    }
    List<String> out = new ArrayList<>();
    Headers.splitList(a, out);
    out.replaceAll(s -> s.toLowerCase(Locale.ROOT));
    return out;
  }

  /** A copy with {@code name} set (to {@code arg}, {@code null} for none) or, when {@code remove}, removed. */
  CacheControl with(String name, String arg, boolean remove) {
    Map<String, String> m = new LinkedHashMap<>(directives);
    if (remove) {
      m.remove(name);
    } else {
      m.put(name, arg);
    }
    return new CacheControl(Collections.unmodifiableMap(m));
  }

  boolean isEmpty() {
    return directives.isEmpty();
  }

  @Override
  public String toString() {
    return directives.toString();
  }

  /** Parses delta-seconds (RFC 9111 §1.2.2): {@link #INVALID} unless {@code 1*DIGIT}; saturates at 2^31. */
  static long deltaSeconds(String s) {
    if (s == null || s.isEmpty()) {
      return INVALID;
    }
    long v = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < '0' || c > '9') {
        return INVALID;
      }
      if (v < MAX_DELTA) {
        v = v * 10 + (c - '0');
      }
    }
    return Math.min(v, MAX_DELTA);
  }

  static boolean isToken(String s) {
    if (s.isEmpty()) {
      return false;
    }
    for (int i = 0; i < s.length(); i++) {
      if (!isTchar(s.charAt(i))) {
        return false;
      }
    }
    return true;
  }

  static boolean isTchar(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
      return true;
    }
    return "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
  }

  /** Unescapes a quoted-string that must span all of {@code s}; {@code null} when malformed. */
  static String unquote(String s) {
    if (s.length() < 2 || s.charAt(0) != '"') {
      return null;
    }
    StringBuilder sb = new StringBuilder(s.length());
    for (int i = 1; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\\') {
        if (++i >= s.length()) {
          return null;
        }
        sb.append(s.charAt(i));
      } else if (c == '"') {
        return i == s.length() - 1 ? sb.toString() : null;
      } else {
        sb.append(c);
      }
    }
    return null;
  }

  /**
   * A strict RFC 8941 §4.2.2 dictionary parser that keeps what cache directives need: each member's
   * key and, for Integer, String and Token values, the value as text; {@code true} booleans and bare
   * keys have no argument; {@code ?0} members are dropped. Known directives with a value of the wrong
   * type are dropped (RFC 9213 §2.1). Parameters are parsed and ignored.
   */
  private static final class SfDictionary {
    private final String s;
    private int i;

    SfDictionary(String s) {
      this.s = s;
    }

    Map<String, String> parse() {
      Map<String, String> out = new LinkedHashMap<>();
      skipSp();
      if (i == s.length()) {
        return null; // empty field: ignored (RFC 9213 §2.2)
      }
      while (i < s.length()) {
        String key = key();
        if (key == null) {
          return null;
        }
        Object value = Boolean.TRUE;
        if (i < s.length() && s.charAt(i) == '=') {
          i++;
          if (i < s.length() && s.charAt(i) == '(') {
            if (!innerList()) {
              return null;
            }
            value = List.of();
          } else {
            value = bareItem();
            if (value == null) {
              return null;
            }
          }
        }
        if (!parameters()) {
          return null;
        }
        out.remove(key); // the last duplicate wins in a Structured Field dictionary
        putDirective(out, key, value);
        skipOws();
        if (i == s.length()) {
          return out;
        }
        if (s.charAt(i) != ',') {
          return null;
        }
        i++;
        skipOws();
        if (i == s.length()) {
          return null; // trailing comma
        }
      }
      return out;
    }

    private static void putDirective(Map<String, String> out, String key, Object value) {
      switch (key) {
        case "max-age", "s-maxage", "stale-while-revalidate", "stale-if-error" -> {
          if (value instanceof Long l && l >= 0) {
            out.put(key, Long.toString(l));
          }
        }
        case "no-cache", "private" -> {
          if (value == Boolean.TRUE) {
            out.put(key, null);
          } else if (value instanceof String str) {
            out.put(key, str);
          }
        }
        default -> {
          if (value == Boolean.TRUE) {
            out.put(key, null);
          } else if (value instanceof Long l) {
            out.put(key, Long.toString(l));
          } else if (value instanceof String str) {
            out.put(key, str);
          }
        }
      }
    }

    private String key() {
      if (i >= s.length()) {
        return null;
      }
      char c = s.charAt(i);
      if (!((c >= 'a' && c <= 'z') || c == '*')) {
        return null;
      }
      int start = i++;
      while (i < s.length()) {
        c = s.charAt(i);
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' || c == '*') {
          i++;
        } else {
          break;
        }
      }
      return s.substring(start, i);
    }

    /** Long, BigDecimal-ish (Double), String (for sf-string and token), Boolean, byte[]; null when invalid. */
    private Object bareItem() {
      if (i >= s.length()) {
        return null;
      }
      char c = s.charAt(i);
      if (c == '-' || (c >= '0' && c <= '9')) {
        return number();
      }
      if (c == '"') {
        return string();
      }
      if (c == '?') {
        if (i + 1 < s.length() && (s.charAt(i + 1) == '0' || s.charAt(i + 1) == '1')) {
          boolean b = s.charAt(i + 1) == '1';
          i += 2;
          return b;
        }
        return null;
      }
      if (c == ':') {
        int end = s.indexOf(':', i + 1);
        if (end < 0) {
          return null;
        }
        for (int k = i + 1; k < end; k++) {
          char b = s.charAt(k);
          if (!(Character.isLetterOrDigit(b) && b < 128) && b != '+' && b != '/' && b != '=') {
            return null;
          }
        }
        i = end + 1;
        return new byte[0];
      }
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '*') {
        int start = i++;
        while (i < s.length() && (isTchar(s.charAt(i)) || s.charAt(i) == ':' || s.charAt(i) == '/')) {
          i++;
        }
        return new Token(s.substring(start, i));
      }
      return null;
    }

    private Object number() {
      int start = i;
      if (s.charAt(i) == '-') {
        i++;
      }
      int digitsStart = i;
      boolean decimal = false;
      while (i < s.length()) {
        char c = s.charAt(i);
        if (c >= '0' && c <= '9') {
          i++;
        } else if (c == '.' && !decimal) {
          decimal = true;
          i++;
        } else {
          break;
        }
      }
      String num = s.substring(digitsStart, i);
      if (num.isEmpty() || num.startsWith(".") || num.endsWith(".")) {
        return null;
      }
      if (decimal) {
        return num.indexOf('.') > 12 || num.length() - num.indexOf('.') - 1 > 3 ? null : Double.valueOf(s.substring(start, i));
      }
      if (num.length() > 15) {
        return null;
      }
      long v = Long.parseLong(num);
      return s.charAt(start) == '-' ? -v : v;
    }

    private String string() {
      StringBuilder sb = new StringBuilder();
      i++; // opening quote
      while (i < s.length()) {
        char c = s.charAt(i++);
        if (c == '\\') {
          if (i >= s.length()) {
            return null;
          }
          char n = s.charAt(i++);
          if (n != '"' && n != '\\') {
            return null;
          }
          sb.append(n);
        } else if (c == '"') {
          return sb.toString();
        } else if (c < 0x20 || c > 0x7e) {
          return null;
        } else {
          sb.append(c);
        }
      }
      return null;
    }

    private boolean innerList() {
      i++; // (
      while (i < s.length()) {
        while (i < s.length() && s.charAt(i) == ' ') {
          i++;
        }
        if (i < s.length() && s.charAt(i) == ')') {
          i++;
          return true;
        }
        if (bareItem() == null || !parameters()) {
          return false;
        }
        if (i < s.length() && s.charAt(i) != ' ' && s.charAt(i) != ')') {
          return false;
        }
      }
      return false;
    }

    private boolean parameters() {
      while (i < s.length() && s.charAt(i) == ';') {
        i++;
        while (i < s.length() && s.charAt(i) == ' ') {
          i++;
        }
        if (key() == null) {
          return false;
        }
        if (i < s.length() && s.charAt(i) == '=') {
          i++;
          if (bareItem() == null) {
            return false;
          }
        }
      }
      return true;
    }

    private void skipSp() {
      while (i < s.length() && s.charAt(i) == ' ') {
        i++;
      }
    }

    private void skipOws() {
      while (i < s.length() && (s.charAt(i) == ' ' || s.charAt(i) == '\t')) {
        i++;
      }
    }
  }

  /** An sf-token value (kept apart from sf-string so that {@code private=foo} is not a field list). */
  private record Token(String text) {}
}
