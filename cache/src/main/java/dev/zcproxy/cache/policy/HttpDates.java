package dev.zcproxy.cache.policy;

import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/**
 * Parses and formats HTTP-dates.
 *
 * <p>Design notes (RFC 9110 §5.6.7): recipients accept the three formats, IMF-fixdate
 * ({@code Sun, 06 Nov 1994 08:49:37 GMT}), the obsolete RFC 850 format
 * ({@code Sunday, 06-Nov-94 08:49:37 GMT}) and ANSI C asctime ({@code Sun Nov  6 08:49:37 1994});
 * senders use IMF-fixdate. Parsing is strict about the layout (an invalid date is "no date", which
 * for {@code Expires} means "already expired", RFC 9111 §5.3) but does not check the day name
 * against the date. Day names, month names and {@code GMT} are matched case-insensitively: the
 * formats are case-sensitive, but RFC 9111 §4.2 asks a cache recipient to match them
 * case-insensitively ({@code THU, 18 AUG 2050 02:01:18 gmt} is a valid {@code Expires}). A two-digit RFC 850 year is read as 1970-2069 (the RFC's "more than 50 years in
 * the future" rule needs a clock; this pure code has none, and the window is equivalent until 2019+50).
 */
public final class HttpDates {
  /** The value returned for a missing or invalid date. */
  public static final long INVALID = Long.MIN_VALUE;

  private static final String[] MONTHS = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
  };
  private static final String[] DAYS = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
  private static final String[] LONG_DAYS = {
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"
  };
  private static final DateTimeFormatter IMF =
      DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss 'GMT'", Locale.ROOT).withZone(ZoneOffset.UTC);

  private HttpDates() {}

  /** Formats epoch millis as an IMF-fixdate. */
  public static String format(long epochMillis) {
    return IMF.format(Instant.ofEpochMilli(Math.floorDiv(epochMillis, 1000) * 1000));
  }

  /** Parses an HTTP-date to epoch millis, or {@link #INVALID}. */
  public static long parse(String value) {
    if (value == null) {
      return INVALID;
    }
    String s = value.trim();
    try {
      int comma = s.indexOf(',');
      if (comma == 3) {
        return imfFixdate(s);
      }
      if (comma > 3) {
        return rfc850(s, comma);
      }
      return asctime(s);
    } catch (RuntimeException e) {
      return INVALID;
    }
  }

  // Sun, 06 Nov 1994 08:49:37 GMT
  private static long imfFixdate(String s) {
    if (s.length() != 29 || !isDay(s.substring(0, 3)) || s.charAt(4) != ' ' || s.charAt(7) != ' '
        || s.charAt(11) != ' ' || s.charAt(16) != ' ' || !endsWithGmt(s)) {
      return INVALID;
    }
    int day = digits(s, 5, 2);
    int month = month(s.substring(8, 11));
    int year = digits(s, 12, 4);
    return at(year, month, day, s, 17);
  }

  // Sunday, 06-Nov-94 08:49:37 GMT
  private static long rfc850(String s, int comma) {
    if (!isLongDay(s.substring(0, comma))) {
      return INVALID;
    }
    String r = s.substring(comma + 1);
    if (r.length() != 23 || r.charAt(0) != ' ' || r.charAt(3) != '-' || r.charAt(7) != '-' || r.charAt(10) != ' '
        || !endsWithGmt(r)) {
      return INVALID;
    }
    int day = digits(r, 1, 2);
    int month = month(r.substring(4, 7));
    int yy = digits(r, 8, 2);
    if (yy < 0) {
      return INVALID;
    }
    int year = yy < 70 ? 2000 + yy : 1900 + yy;
    return at(year, month, day, r, 11);
  }

  // Sun Nov  6 08:49:37 1994
  private static long asctime(String s) {
    if (s.length() != 24 || !isDay(s.substring(0, 3)) || s.charAt(3) != ' ' || s.charAt(7) != ' '
        || s.charAt(10) != ' ' || s.charAt(19) != ' ') {
      return INVALID;
    }
    int month = month(s.substring(4, 7));
    int day = s.charAt(8) == ' ' ? digits(s, 9, 1) : digits(s, 8, 2);
    int year = digits(s, 20, 4);
    return at(year, month, day, s, 11);
  }

  /** Builds the instant from a date and the {@code HH:mm:ss} at {@code t}. */
  private static long at(int year, int month, int day, String s, int t) {
    if (year < 0 || month < 0 || day < 1 || s.charAt(t + 2) != ':' || s.charAt(t + 5) != ':') {
      return INVALID;
    }
    int hh = digits(s, t, 2);
    int mm = digits(s, t + 3, 2);
    int ss = digits(s, t + 6, 2);
    if (hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 60) {
      return INVALID;
    }
    long epochDay = LocalDate.of(year, month + 1, day).toEpochDay(); // throws on 31 Feb etc.
    return ((epochDay * 24 + hh) * 60 + mm) * 60_000L + Math.min(ss, 59) * 1000L;
  }

  private static boolean endsWithGmt(String s) {
    return s.regionMatches(true, s.length() - 4, " GMT", 0, 4);
  }

  private static int digits(String s, int from, int n) {
    int v = 0;
    for (int i = from; i < from + n; i++) {
      char c = s.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
      v = v * 10 + (c - '0');
    }
    return v;
  }

  private static int month(String m) {
    for (int i = 0; i < MONTHS.length; i++) {
      if (MONTHS[i].equalsIgnoreCase(m)) {
        return i;
      }
    }
    return -1;
  }

  private static boolean isDay(String d) {
    for (String x : DAYS) {
      if (x.equalsIgnoreCase(d)) {
        return true;
      }
    }
    return false;
  }

  private static boolean isLongDay(String d) {
    for (String x : LONG_DAYS) {
      if (x.equalsIgnoreCase(d)) {
        return true;
      }
    }
    return false;
  }
}
