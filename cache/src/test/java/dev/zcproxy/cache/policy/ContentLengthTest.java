package dev.zcproxy.cache.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ContentLengthTest {

  @DisplayName("Content-Length is 1*DIGIT, identical list members are one value, RFC 9110 §8.6 / RFC 9112 §6.3")
  @ParameterizedTest(name = "\"{0}\" -> {1}")
  @CsvSource(delimiter = '|', value = {"0|0", "5|5", "005|5", "' 5 '|5", "5, 5|5", "+5|-1", "-5|-1", "-1|-1", "5, 6|-1",
      "5,|-1", "5x|-1", "1k|-1", "0x10|-1", "5.0|-1", "''|-1", "123456789012345678|123456789012345678",
      "1234567890123456789|9223372036854775807", "99999999999999999999|9223372036854775807"})
  void parses(String field, long expected) {
    assertThat(ContentLength.parse(field)).isEqualTo(expected);
  }

  @Test
  void absentIsInvalid() {
    assertThat(ContentLength.parse((String) null)).isEqualTo(ContentLength.INVALID);
    assertThat(ContentLength.parse(List.of())).isEqualTo(ContentLength.INVALID);
  }

  @Test
  void severalFieldsMustAgree() {
    assertThat(ContentLength.parse(List.of("7", "7, 7"))).isEqualTo(7);
    assertThat(ContentLength.parse(List.of("7", "8"))).isEqualTo(ContentLength.INVALID);
  }

  /** The reading before the parser stopped splitting: each comma-separated member stripped, all of them agreeing. */
  private static long bySplit(List<String> fields) {
    long length = ContentLength.INVALID;
    for (String field : fields) {
      for (String member : field.split(",", -1)) {
        String m = member.strip();
        long n;
        if (m.isEmpty() || !m.chars().allMatch(c -> c >= '0' && c <= '9')) {
          n = ContentLength.INVALID;
        } else {
          n = m.length() > 18 ? ContentLength.TOO_LARGE : Long.parseLong(m);
        }
        if (n == ContentLength.INVALID || (length != ContentLength.INVALID && n != length)) {
          return ContentLength.INVALID;
        }
        length = n;
      }
    }
    return length;
  }

  @Test
  void readsEveryFieldAsSplittingAndStrippingItsMembersWould() {
    String[] parts = {"", "0", "7", "07", " ", "\t", ",", ", ", " ,", "8", "x", "+", "-", "\u2003", "\u00a0",
        "1234567890123456789", "99999999999999999999"};
    java.util.Random r = new java.util.Random(9);
    for (int i = 0; i < 20000; i++) {
      java.util.List<String> fields = new java.util.ArrayList<>();
      for (int f = 0, nf = 1 + r.nextInt(2); f < nf; f++) {
        StringBuilder sb = new StringBuilder();
        for (int k = 0, n = r.nextInt(5); k < n; k++) {
          sb.append(parts[r.nextInt(parts.length)]);
        }
        fields.add(sb.toString());
      }
      assertThat(ContentLength.parse(fields)).as("%s", fields).isEqualTo(bySplit(fields));
    }
  }
}
