package dev.zcproxy.cache.policy;

import java.util.List;

/**
 * The one {@code Content-Length} parser (RFC 9110 §8.6 {@code 1*DIGIT}; a list of identical members is one
 * value, RFC 9112 §6.3): no sign, no unit, no other character; too large to represent is {@link #TOO_LARGE}.
 */
public final class ContentLength {
  /** Absent, not a run of digits, or members that differ. */
  public static final long INVALID = -1;
  /** Digits only, but more than 18 of them: larger than any body this proxy stores or forwards. */
  public static final long TOO_LARGE = Long.MAX_VALUE;

  private static final int MAX_DIGITS = 18;

  private ContentLength() {}

  /** The length one field value says, {@link #INVALID} or {@link #TOO_LARGE}; {@code null} is {@link #INVALID}. */
  public static long parse(String field) {
    return field == null ? INVALID : parse(List.of(field));
  }

  /** The one length all members of all {@code fields} agree on; {@link #INVALID} when there are none. */
  public static long parse(List<String> fields) {
    long length = INVALID;
    for (String field : fields) {
      // the members between commas, each stripped as String.strip() does: no split, no substring
      for (int from = 0; ; ) {
        int comma = field.indexOf(',', from);
        int end = comma < 0 ? field.length() : comma;
        long n = member(field, from, end);
        if (n == INVALID || (length != INVALID && n != length)) {
          return INVALID;
        }
        length = n;
        if (comma < 0) {
          break;
        }
        from = comma + 1;
      }
    }
    return length;
  }

  private static long member(String field, int start, int end) {
    while (start < end && Character.isWhitespace(field.charAt(start))) {
      start++;
    }
    while (end > start && Character.isWhitespace(field.charAt(end - 1))) {
      end--;
    }
    if (start == end) {
      return INVALID;
    }
    for (int i = start; i < end; i++) {
      if (field.charAt(i) < '0' || field.charAt(i) > '9') {
        return INVALID;
      }
    }
    return end - start > MAX_DIGITS ? TOO_LARGE : Long.parseLong(field, start, end, 10);
  }
}
