package dev.zcproxy.cache.policy;

import dev.zcproxy.cache.Headers;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * The secondary cache key of RFC 9111 §4.1, computed from a response's {@code Vary} and a request.
 *
 * <p>Design notes:
 * <ul>
 *   <li>§4.1: a stored response matches when every field it varies on has the same value in the new
 *       request as in the original one. Instead of storing the original request's fields, the key
 *       encodes them: for each distinct field name (lower-cased, sorted) either {@code name=value}
 *       or {@code name!} when the field is absent (absent and empty differ), one per line.
 *   <li>§4.1 allows normalising the values: the field's lines are combined as one list (RFC 9110
 *       §5.3), whitespace around commas is removed and the result trimmed, so {@code "1, 2"},
 *       {@code " 1,2 "} and two lines {@code 1} and {@code 2} give the same key.
 *   <li>{@code Accept-Language} is normalised further, as a list of language ranges whose order only
 *       matters through their weights (RFC 9110 §12.5.4): ranges are lower-cased, their {@code q}
 *       written canonically, and sorted by weight then name, so {@code "en, de"}, {@code "de, en"}
 *       and {@code "De,EN"} select the same variant.
 *   <li>A variant whose key differs from the request's only in {@code Accept-Language} still matches
 *       when it has a single {@code Content-Language} tag equal (ignoring case) to one of the
 *       request's most preferred language ranges (highest {@code q}, above 0): the origin would
 *       choose that language for this request too (§4.1 "normalising ... the value of the selecting
 *       header fields", RFC 9110 §12.5.4). No prefix matching: {@code de} does not select
 *       {@code de-CH}, as the origin may hold a plain {@code de}.
 *   <li>{@code Vary: *} never matches (§4.1); {@link #isStar} lets callers refuse to store it.
 *   <li>A response without {@code Vary} (or with an empty one) has the key {@code ""}.
 * </ul>
 */
final class VarySelector {
  private static final Pattern COMMA = Pattern.compile("[ \\t]*,[ \\t]*");

  private VarySelector() {}

  /** The lower-cased field names listed in {@code Vary}, sorted and de-duplicated. */
  static TreeSet<String> fields(Headers response) {
    TreeSet<String> names = new TreeSet<>();
    for (String m : response.members("Vary")) {
      names.add(m.toLowerCase(Locale.ROOT));
    }
    return names;
  }

  static boolean isStar(Headers response) {
    return response.contains("Vary") && fields(response).contains("*");
  }

  /** The secondary key of {@code request} under the {@code Vary} of {@code response}. */
  static String key(Headers response, Headers request) {
    if (!response.contains("Vary")) {
      return ""; // the common case, on every lookup: no set, no list
    }
    TreeSet<String> names = fields(response);
    if (names.isEmpty()) {
      return "";
    }
    StringBuilder sb = new StringBuilder();
    for (String name : names) {
      if (sb.length() > 0) {
        sb.append('\n');
      }
      List<String> lines = request.getAll(name);
      if (lines.isEmpty()) {
        sb.append(name).append('!');
      } else {
        sb.append(name).append('=').append(name.equals("accept-language") ? normalizeLanguage(lines) : normalize(lines));
      }
    }
    return sb.toString();
  }

  /**
   * Whether the stored {@code response} (secondary key {@code storedKey}) matches {@code request} by its
   * {@code Content-Language} although the keys differ in {@code Accept-Language} (see the class notes).
   */
  static boolean matchesByLanguage(Headers response, String storedKey, Headers request) {
    List<String> tags = response.members("Content-Language");
    if (tags.size() != 1 || !fields(response).contains("accept-language")) {
      return false;
    }
    String[] stored = storedKey.split("\n", -1);
    String[] wanted = key(response, request).split("\n", -1);
    if (stored.length != wanted.length) {
      return false;
    }
    for (int i = 0; i < stored.length; i++) {
      if (!stored[i].equals(wanted[i]) && !stored[i].startsWith("accept-language")) {
        return false;
      }
    }
    return mostPreferred(request.getAll("Accept-Language")).contains(tags.get(0).toLowerCase(Locale.ROOT));
  }

  /** The lower-cased language ranges of highest weight (above 0), {@code *} excluded. */
  private static List<String> mostPreferred(List<String> lines) {
    List<String> best = new java.util.ArrayList<>();
    double top = 0;
    for (String range : normalizeLanguage(lines).split(",")) {
      int semi = range.indexOf(';');
      String tag = semi < 0 ? range : range.substring(0, semi);
      double q = semi < 0 ? 1 : weight(range.substring(semi + 3));
      if (tag.isEmpty() || tag.equals("*") || q <= 0 || q < top) {
        continue;
      }
      if (q > top) {
        best.clear();
        top = q;
      }
      best.add(tag);
    }
    return best;
  }

  /** {@code Accept-Language} as a canonical list: lower-cased ranges by descending weight, then by name. */
  static String normalizeLanguage(List<String> lines) {
    List<String> members = new java.util.ArrayList<>();
    for (String line : lines) {
      Headers.splitList(line, members);
    }
    List<String[]> ranges = new java.util.ArrayList<>(members.size());
    for (String m : members) {
      String[] parts = m.split(";");
      String tag = parts[0].trim().toLowerCase(Locale.ROOT);
      String q = "1";
      for (int i = 1; i < parts.length; i++) {
        String p = parts[i].trim();
        if (p.regionMatches(true, 0, "q=", 0, 2)) {
          q = canonicalWeight(p.substring(2).trim());
        }
      }
      ranges.add(new String[] {tag, q});
    }
    ranges.sort((a, b) -> {
      int byWeight = Double.compare(weight(b[1]), weight(a[1]));
      return byWeight != 0 ? byWeight : a[0].compareTo(b[0]);
    });
    StringBuilder sb = new StringBuilder();
    for (String[] r : ranges) {
      if (sb.length() > 0) {
        sb.append(',');
      }
      sb.append(r[0]);
      if (!r[1].equals("1")) {
        sb.append(";q=").append(r[1]);
      }
    }
    return sb.toString();
  }

  /** A qvalue written canonically ({@code 1.000} -> {@code 1}, {@code 0.50} -> {@code 0.5}); kept as is when invalid. */
  private static String canonicalWeight(String q) {
    try {
      java.math.BigDecimal d = new java.math.BigDecimal(q).stripTrailingZeros();
      return d.signum() == 0 ? "0" : d.toPlainString();
    } catch (NumberFormatException e) {
      return q;
    }
  }

  private static double weight(String q) {
    try {
      return Double.parseDouble(q);
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  static String normalize(List<String> lines) {
    String combined = lines.size() == 1 ? lines.get(0) : String.join(",", lines);
    return COMMA.matcher(combined.trim()).replaceAll(",");
  }
}
