package dev.zcproxy.cache.policy;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class HttpDatesTest {
  private static final long NOV_6_1994 = 784_111_777_000L;

  @DisplayName("the three HTTP-date formats are accepted, RFC 9110 §5.6.7")
  @ParameterizedTest
  @ValueSource(strings = {
      "Sun, 06 Nov 1994 08:49:37 GMT",
      "Sunday, 06-Nov-94 08:49:37 GMT",
      "Sun Nov  6 08:49:37 1994",
      " Sun, 06 Nov 1994 08:49:37 GMT ",
  })
  void threeFormats_9110_5_6_7(String value) {
    assertThat(HttpDates.parse(value)).isEqualTo(NOV_6_1994);
  }

  @DisplayName("invalid HTTP-dates are rejected, RFC 9110 §5.6.7")
  @ParameterizedTest
  @ValueSource(strings = {
      "", "0", "-1", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 6 Nov 1994 08:49:37 GMT",
      "Sun, 06 Nov 1994 08:49 GMT", "Sun, 31 Feb 1994 08:49:37 GMT",
      "Sun, 06 Nov 1994 25:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT", "Sun Nov 6 08:49:37 1994",
      "2023-11-14T22:13:20Z", "Xyz, 06 Nov 1994 08:49:37 GMT",
  })
  void invalidDates_9110_5_6_7(String value) {
    assertThat(HttpDates.parse(value)).isEqualTo(HttpDates.INVALID);
  }

  @DisplayName("a cache matches day names, month names and GMT case-insensitively, RFC 9111 §4.2")
  @ParameterizedTest
  @ValueSource(strings = {
      "SUN, 06 Nov 1994 08:49:37 GMT",
      "Sun, 06 NOV 1994 08:49:37 GMT",
      "Sun, 06 Nov 1994 08:49:37 gMT",
      "sun, 06 nov 1994 08:49:37 gmt",
      "SUNDAY, 06-nov-94 08:49:37 Gmt",
      "sUN nOV  6 08:49:37 1994",
  })
  void caseInsensitiveNames_9111_4_2(String value) {
    assertThat(HttpDates.parse(value)).isEqualTo(NOV_6_1994);
  }

  @Test
  void nullIsInvalid() {
    assertThat(HttpDates.parse(null)).isEqualTo(HttpDates.INVALID);
  }

  @Test
  void twoDigitYearsFrom70AreLastCentury_9110_5_6_7() {
    assertThat(HttpDates.parse("Thursday, 01-Jan-70 00:00:00 GMT")).isEqualTo(0);
    assertThat(HttpDates.parse("Tuesday, 14-Nov-23 22:13:20 GMT")).isEqualTo(Fixtures.T0);
  }

  @Test
  void formatsImfFixdateFlooringMillis() {
    assertThat(HttpDates.format(NOV_6_1994 + 999)).isEqualTo("Sun, 06 Nov 1994 08:49:37 GMT");
    assertThat(HttpDates.parse(HttpDates.format(Fixtures.T0))).isEqualTo(Fixtures.T0);
  }
}
