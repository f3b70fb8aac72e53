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
}
