package dev.zcproxy.proxy.config;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses and prints the human sizes and durations of the config file.
 *
 * <p>Sizes are 1024-based only: a number (decimals allowed) with an optional unit {@code B},
 * {@code KiB}, {@code MiB}, {@code GiB} or {@code TiB}, or nginx's short suffixes {@code k}, {@code m},
 * {@code g} for KiB, MiB, GiB (1024-based in nginx too), unit case-insensitive, a space before it
 * allowed; a plain number is bytes. SI-looking units ({@code 10GB}, {@code 512kB}, {@code 1T}) are
 * rejected with a hint, because operators mean different things by them (a disk vendor's {@code 10GB}
 * is 10^10 bytes). This is the one size parser: the config file, the flags and the demo origin's URLs.
 *
 * <p>Durations are one or more {@code <integer><unit>} parts with unit {@code ms}, {@code s}, {@code
 * m}, {@code h} or {@code d} (lower case, so {@code m} is never confused with months), e.g. {@code
 * 250ms}, {@code 30s}, {@code 1h30m}; a bare {@code 0} is zero. A bare non-zero number is rejected.
 */
public final class Units {
  /** What {@link #parseSize} accepts, for error messages. */
  public static final String SIZE_EXPECTED =
      "a number with unit B, KiB, MiB, GiB, TiB (or k, m, g as in nginx), e.g. 10GiB";
  static final String DURATION_EXPECTED =
      "a number with unit ms, s, m, h, d, e.g. 30s, or 0";

  private static final Pattern SIZE =
      Pattern.compile("(-?\\d+(?:\\.\\d+)?)\\s*([a-zA-Z]*)");
  private static final Pattern DURATION_PART = Pattern.compile("(\\d+)(ms|s|m|h|d)");
  private static final String[] IEC = {"B", "KiB", "MiB", "GiB", "TiB"};
  /** nginx's suffixes, by power of 1024 (index 1 = KiB): binary multiples, as nginx reads them. */
  private static final String[] NGINX = {"", "k", "m", "g"};

  private Units() {}

  /** The byte count of {@code text}, or throws with the reason after the quoted value. */
  public static long parseSize(String text) {
    Matcher m = SIZE.matcher(text.trim());
    if (!m.matches()) {
      throw new IllegalArgumentException("is not a size (expected: " + SIZE_EXPECTED + ")");
    }
    String unit = m.group(2);
    int power = -1;
    if (unit.isEmpty()) {
      power = 0;
    } else {
      for (int i = 0; i < IEC.length; i++) {
        if (IEC[i].equalsIgnoreCase(unit) || i > 0 && i < NGINX.length && NGINX[i].equalsIgnoreCase(unit)) {
          power = i;
        }
      }
    }
    if (power < 0) {
      String hint = "";
      String u = unit.toUpperCase(Locale.ROOT);
      if (u.matches("[KMGT]B?")) { // 10GB, 512kB, 1T: SI-looking (k, m, g alone are nginx's, taken above)
        hint = "; did you mean " + m.group(1) + IEC["KMGT".indexOf(u.charAt(0)) + 1]
            + "? sizes are 1024-based and written KiB, MiB, GiB, TiB, or k, m, g as in nginx";
      }
      throw new IllegalArgumentException(
          "is not a size (expected: " + SIZE_EXPECTED + hint + ")");
    }
    BigDecimal bytes = new BigDecimal(m.group(1)).multiply(BigDecimal.valueOf(1L << (10 * power)));
    try {
      return bytes.setScale(0, RoundingMode.FLOOR).longValueExact();
    } catch (ArithmeticException e) {
      throw new IllegalArgumentException("is too large (expected: " + SIZE_EXPECTED + ")");
    }
  }

  /** The duration of {@code text}, or throws with the reason after the quoted value. */
  static Duration parseDuration(String text) {
    String t = text.trim();
    if (t.equals("0")) {
      return Duration.ZERO;
    }
    if (t.matches("\\d+")) {
      throw new IllegalArgumentException(
          "has no unit (expected: " + DURATION_EXPECTED + "; did you mean " + t + "s?)");
    }
    Matcher m = DURATION_PART.matcher(t);
    Duration total = Duration.ZERO;
    int end = 0;
    try {
      while (m.find() && m.start() == end) {
        long n = Long.parseLong(m.group(1));
        total = total.plus(switch (m.group(2)) {
          case "ms" -> Duration.ofMillis(n);
          case "s" -> Duration.ofSeconds(n);
          case "m" -> Duration.ofMinutes(n);
          case "h" -> Duration.ofHours(n);
          default -> Duration.ofDays(n);
        });
        end = m.end();
      }
    } catch (ArithmeticException | NumberFormatException e) {
      throw new IllegalArgumentException("is too large (expected: " + DURATION_EXPECTED + ")");
    }
    if (end == 0 || end != t.length()) {
      throw new IllegalArgumentException("is not a duration (expected: " + DURATION_EXPECTED + ")");
    }
    return total;
  }

  /** {@code d} in the config syntax, in the largest unit that is exact, e.g. {@code 2m}, {@code 0}. */
  static String formatDuration(Duration d) {
    if (d.isZero()) {
      return "0";
    }
    if (d.isNegative() || d.getNano() % 1_000_000 != 0) {
      return d.toString();
    }
    long ms = d.toMillis();
    long[] sizes = {86_400_000L, 3_600_000L, 60_000L, 1000L, 1L};
    String[] units = {"d", "h", "m", "s", "ms"};
    for (int i = 0; i < sizes.length; i++) {
      if (ms % sizes[i] == 0) {
        return ms / sizes[i] + units[i];
      }
    }
    throw new AssertionError();
  }

  /** {@code bytes} in the config syntax, in the largest IEC unit that is exact, e.g. {@code 8KiB}. */
  static String formatSize(long bytes) {
    int power = 0;
    while (power < IEC.length - 1 && bytes != 0 && bytes % (1L << (10 * (power + 1))) == 0) {
      power++;
    }
    return (bytes >> (10 * power)) + IEC[power];
  }
}
