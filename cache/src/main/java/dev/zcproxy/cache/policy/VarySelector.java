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
    return fields(response).contains("*");
  }

  /** The secondary key of {@code request} under the {@code Vary} of {@code response}. */
  static String key(Headers response, Headers request) {
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
        sb.append(name).append('=').append(normalize(lines));
      }
    }
    return sb.toString();
  }

  static String normalize(List<String> lines) {
    String combined = lines.size() == 1 ? lines.get(0) : String.join(",", lines);
    return COMMA.matcher(combined.trim()).replaceAll(",");
  }
}
