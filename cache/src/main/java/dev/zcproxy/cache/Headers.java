package dev.zcproxy.cache;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.function.BiConsumer;

/**
 * An immutable, ordered list of HTTP header fields whose names compare case-insensitively.
 *
 * <p>Field lines keep their order and duplicates; {@link #get} returns the first value and
 * {@link #getAll} every value of a name. This is the header type of the pure cache code: the proxy
 * converts Vert.x's {@code MultiMap} to and from it at the edge.
 */
public final class Headers {
  private static final Headers EMPTY = new Headers(List.of(), List.of());

  private final List<String> names;
  private final List<String> values;
  /**
   * What the cache policy last derived from these fields ({@link #derived()}): no part of the header list (not in
   * {@link #equals} or {@link #hashCode}). Written racily on purpose; it holds only immutable objects with final
   * fields, so a reader sees a whole one, an older one or none. Fits in the object's alignment padding.
   */
  private Object derived;

  private Headers(List<String> names, List<String> values) {
    this.names = names;
    this.values = values;
  }

  /**
   * The value the cache policy last derived from these fields and kept here with {@link #derived(Object)}, or
   * {@code null}: a stored entry's freshness, found with one field read however many entries are cached, and
   * gone with the entry. Not part of the header list; callers check that the value is theirs.
   */
  public Object derived() {
    return derived;
  }

  /**
   * Keeps {@code value} as {@link #derived()} (replacing any other). {@code value} must be immutable with final
   * fields: the write is racy by design (a reader may see an older value, never a half-built one).
   */
  public void derived(Object value) {
    derived = value;
  }

  /** The empty header list. */
  public static Headers empty() {
    return EMPTY;
  }

  /** Builds headers from alternating names and values: {@code of("Cache-Control", "max-age=60")}. */
  public static Headers of(String... nameValues) {
    if (nameValues.length % 2 != 0) {
      throw new IllegalArgumentException("nameValues: odd length " + nameValues.length + " (expected: name, value pairs)");
    }
    Builder b = builder();
    for (int i = 0; i < nameValues.length; i += 2) {
      b.add(nameValues[i], nameValues[i + 1]);
    }
    return b.build();
  }

  /**
   * The first {@code count} lines of {@code names} and {@code values} (copied): for a caller that parsed a head
   * into arrays, without a builder's lists.
   */
  public static Headers ofLines(String[] names, String[] values, int count) {
    if (count == 0) {
      return EMPTY;
    }
    for (int i = 0; i < count; i++) {
      Objects.requireNonNull(names[i], "name");
      Objects.requireNonNull(values[i], "value");
    }
    if (count == 1) {
      return new Headers(List.of(names[0]), List.of(values[0]));
    }
    if (count == 2) {
      return new Headers(List.of(names[0], names[1]), List.of(values[0], values[1]));
    }
    return new Headers(Collections.unmodifiableList(java.util.Arrays.asList(java.util.Arrays.copyOf(names, count))),
        Collections.unmodifiableList(java.util.Arrays.asList(java.util.Arrays.copyOf(values, count))));
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The first value of the field {@code name}, or {@code null}. */
  public String get(String name) {
    for (int i = 0; i < names.size(); i++) {
      if (names.get(i).equalsIgnoreCase(name)) {
        return values.get(i);
      }
    }
    return null;
  }

  /** Every value of the field {@code name}, in order (empty when absent). */
  public List<String> getAll(String name) {
    List<String> out = null;
    for (int i = 0; i < names.size(); i++) {
      if (names.get(i).equalsIgnoreCase(name)) {
        if (out == null) {
          out = new ArrayList<>(2);
        }
        out.add(values.get(i));
      }
    }
    return out == null ? List.of() : Collections.unmodifiableList(out);
  }

  /**
   * Every list member of the field {@code name} across all its lines, split on commas outside quoted
   * strings and trimmed; empty members dropped (RFC 9110 §5.6.1).
   */
  public List<String> members(String name) {
    List<String> out = new ArrayList<>();
    for (String v : getAll(name)) {
      splitList(v, out);
    }
    return out;
  }

  /** Splits one field value into list members (commas outside quoted strings), trimmed, empty ones dropped. */
  public static void splitList(String value, List<String> out) {
    int start = 0;
    boolean quoted = false;
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (quoted) {
        if (c == '\\') {
          i++;
        } else if (c == '"') {
          quoted = false;
        }
      } else if (c == '"') {
        quoted = true;
      } else if (c == ',') {
        addTrimmed(value, start, i, out);
        start = i + 1;
      }
    }
    addTrimmed(value, start, value.length(), out);
  }

  private static void addTrimmed(String s, int from, int to, List<String> out) {
    String m = s.substring(from, to).trim();
    if (!m.isEmpty()) {
      out.add(m);
    }
  }

  public boolean contains(String name) {
    for (int i = 0; i < names.size(); i++) { // no iterator: asked several times per hit
      if (names.get(i).equalsIgnoreCase(name)) {
        return true;
      }
    }
    return false;
  }

  public int size() {
    return names.size();
  }

  public boolean isEmpty() {
    return names.isEmpty();
  }

  public String name(int i) {
    return names.get(i);
  }

  public String value(int i) {
    return values.get(i);
  }

  /** The distinct field names, lower-cased, in first-seen order. */
  public Set<String> names() {
    Set<String> out = new LinkedHashSet<>();
    for (String n : names) {
      out.add(n.toLowerCase(Locale.ROOT));
    }
    return out;
  }

  public void forEach(BiConsumer<String, String> action) {
    for (int i = 0; i < names.size(); i++) {
      action.accept(names.get(i), values.get(i));
    }
  }

  /** A copy with every line of {@code name} replaced by one line {@code name: value}, at the first one's place. */
  public Headers with(String name, String value) {
    return toBuilder().set(name, value).build();
  }

  /** A copy without any line of {@code name}. */
  public Headers without(String name) {
    if (!contains(name)) {
      return this;
    }
    return toBuilder().remove(name).build();
  }

  public Builder toBuilder() {
    Builder b = new Builder();
    b.names.addAll(names);
    b.values.addAll(values);
    return b;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof Headers)) {
      return false;
    }
    Headers h = (Headers) o;
    if (h.size() != size()) {
      return false;
    }
    for (int i = 0; i < size(); i++) {
      if (!names.get(i).equalsIgnoreCase(h.names.get(i)) || !values.get(i).equals(h.values.get(i))) {
        return false;
      }
    }
    return true;
  }

  @Override
  public int hashCode() {
    int h = 1;
    for (int i = 0; i < size(); i++) {
      h = 31 * h + names.get(i).toLowerCase(Locale.ROOT).hashCode();
      h = 31 * h + values.get(i).hashCode();
    }
    return h;
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder();
    forEach((n, v) -> sb.append(n).append(": ").append(v).append("\r\n"));
    return sb.toString();
  }

  /** A mutable builder of {@link Headers}. */
  public static final class Builder {
    private final List<String> names = new ArrayList<>();
    private final List<String> values = new ArrayList<>();

    private Builder() {}

    /** Appends a field line. */
    public Builder add(String name, String value) {
      names.add(Objects.requireNonNull(name, "name"));
      values.add(Objects.requireNonNull(value, "value"));
      return this;
    }

    /** Replaces every line of {@code name} by one line at the first one's place (appended when absent). */
    public Builder set(String name, String value) {
      Objects.requireNonNull(value, "value");
      int first = -1;
      for (int i = 0; i < names.size(); i++) {
        if (names.get(i).equalsIgnoreCase(name)) {
          if (first < 0) {
            first = i;
            names.set(i, name);
            values.set(i, value);
          } else {
            names.remove(i);
            values.remove(i);
            i--;
          }
        }
      }
      if (first < 0) {
        add(name, value);
      }
      return this;
    }

    public Builder remove(String name) {
      for (int i = names.size() - 1; i >= 0; i--) {
        if (names.get(i).equalsIgnoreCase(name)) {
          names.remove(i);
          values.remove(i);
        }
      }
      return this;
    }

    public boolean contains(String name) {
      for (String n : names) {
        if (n.equalsIgnoreCase(name)) {
          return true;
        }
      }
      return false;
    }

    public Headers build() {
      if (names.isEmpty()) {
        return EMPTY;
      }
      return new Headers(List.copyOf(names), List.copyOf(values));
    }
  }
}
