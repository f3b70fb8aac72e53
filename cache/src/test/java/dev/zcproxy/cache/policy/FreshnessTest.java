package dev.zcproxy.cache.policy;

import static dev.zcproxy.cache.policy.Fixtures.T0;
import static dev.zcproxy.cache.policy.Fixtures.at;
import static dev.zcproxy.cache.policy.Fixtures.date;
import static dev.zcproxy.cache.policy.Fixtures.fields;
import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.Headers;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class FreshnessTest {
  private static final PolicyConfig ALL_ON = PolicyConfig.defaults();
  private static final PolicyConfig TARGETED_OFF = new PolicyConfig(0.1, 86_400, 3_600, false, false, 16, Long.MAX_VALUE);

  static Stream<Arguments> lifetimes() {
    return Stream.of(
        Arguments.of("max-age", 200, "Cache-Control: max-age=60|Date: " + date(0), 60_000L),
        Arguments.of("s-maxage overrides max-age (§4.2.1)", 200, "Cache-Control: max-age=60, s-maxage=10", 10_000L),
        Arguments.of("s-maxage overrides a longer max-age", 200, "Cache-Control: s-maxage=600, max-age=1", 600_000L),
        Arguments.of("max-age overrides Expires", 200, "Cache-Control: max-age=5|Expires: " + date(100) + "|Date: " + date(0), 5_000L),
        Arguments.of("Expires - Date", 200, "Expires: " + date(100) + "|Date: " + date(0), 100_000L),
        Arguments.of("Expires - Date with a Date in the past", 200, "Expires: " + date(-50) + "|Date: " + date(-100), 50_000L),
        Arguments.of("Expires before Date", 200, "Expires: " + date(-100) + "|Date: " + date(0), 0L),
        Arguments.of("Expires without Date uses the response time", 200, "Expires: " + date(30), 30_000L),
        Arguments.of("invalid Expires means stale (§5.3)", 200, "Expires: 0|Date: " + date(0) + "|Last-Modified: " + date(-10_000), 0L),
        Arguments.of("invalid max-age means stale", 200, "Cache-Control: max-age=1.5|Expires: " + date(100), 0L),
        Arguments.of("decimal max-age is invalid, so stale (§4.2.1)", 200, "Cache-Control: max-age=3600.0", 0L),
        Arguments.of("max-age with a leading letter is invalid, so stale", 200, "Cache-Control: max-age=a3600", 0L),
        Arguments.of("max-age with a trailing letter is invalid, so stale", 200, "Cache-Control: max-age=3600a", 0L),
        Arguments.of("the first of two max-age on one line is used (§4.2.1)", 200, "Cache-Control: max-age=1, max-age=1800", 1_000L),
        Arguments.of("the first of two max-age lines is used (§4.2.1)", 200, "Cache-Control: max-age=1|Cache-Control: max-age=1800", 1_000L),
        Arguments.of("Expires with names in the wrong case is valid for a cache (§4.2)", 200,
            "Expires: " + date(100).toUpperCase(java.util.Locale.ROOT) + "|Date: " + date(0), 100_000L),
        Arguments.of("Expires with a lower-case gmt is valid for a cache (§4.2)", 200,
            "Expires: " + date(100).replace("GMT", "gmt") + "|Date: " + date(0), 100_000L),
        Arguments.of("negative max-age means stale", 200, "Cache-Control: max-age=-10", 0L),
        Arguments.of("huge max-age saturates (§1.2.2)", 200, "Cache-Control: max-age=99999999999", 2_147_483_648_000L),
        Arguments.of("heuristic 10% of Date - Last-Modified (§4.2.2)", 200, "Date: " + date(0) + "|Last-Modified: " + date(-1000), 100_000L),
        Arguments.of("heuristic capped", 200, "Date: " + date(0) + "|Last-Modified: " + date(-10_000_000), 86_400_000L),
        Arguments.of("heuristic for 404", 404, "Date: " + date(0) + "|Last-Modified: " + date(-1000), 100_000L),
        Arguments.of("no heuristic for 302", 302, "Date: " + date(0) + "|Last-Modified: " + date(-1000), 0L),
        Arguments.of("heuristic for public 302", 302, "Cache-Control: public|Date: " + date(0) + "|Last-Modified: " + date(-1000), 100_000L),
        Arguments.of("no heuristic with Last-Modified in the future", 200, "Date: " + date(0) + "|Last-Modified: " + date(10), 0L),
        Arguments.of("nothing at all", 200, "", 0L),
        Arguments.of("the first of two Expires lines is used (§4.2.1)", 200, "Expires: " + date(100) + "|Expires: " + date(5) + "|Date: " + date(0), 100_000L),
        Arguments.of("an invalid Date is replaced by the response time", 200, "Expires: " + date(40) + "|Date: yesterday", 40_000L),
        Arguments.of("Date in the future shortens Expires lifetime (clock skew)", 200, "Expires: " + date(100) + "|Date: " + date(60), 40_000L),
        Arguments.of("quoted max-age", 200, "Cache-Control: max-age=\"3600\"", 3_600_000L),
        Arguments.of("CDN-Cache-Control replaces Cache-Control (RFC 9213)", 200, "Cache-Control: max-age=1|CDN-Cache-Control: max-age=3600", 3_600_000L),
        Arguments.of("CDN-Cache-Control shorter than Cache-Control", 200, "Cache-Control: max-age=3600|CDN-Cache-Control: max-age=1", 1_000L),
        Arguments.of("CDN-Cache-Control ignores Expires", 200, "CDN-Cache-Control: no-transform|Expires: " + date(100) + "|Date: " + date(0), 0L),
        Arguments.of("invalid CDN-Cache-Control is ignored", 200, "Cache-Control: max-age=1|CDN-Cache-Control: max-age =100", 1_000L),
        Arguments.of("Surrogate-Control max-age wins", 200, "Cache-Control: max-age=1|Surrogate-Control: max-age=3600", 3_600_000L),
        Arguments.of("Surrogate-Control max-age shorter", 200, "Cache-Control: max-age=3600|Surrogate-Control: max-age=1", 1_000L),
        Arguments.of("Surrogate-Control max-age over s-maxage and Expires", 200, "Cache-Control: s-maxage=3600|Surrogate-Control: max-age=0|Expires: " + date(100) + "|Date: " + date(0), 0L),
        Arguments.of("Surrogate-Control with a space before = is ignored", 200, "Cache-Control: max-age=1|Surrogate-Control: max-age =100", 1_000L),
        Arguments.of("CDN-Cache-Control beats Surrogate-Control", 200, "CDN-Cache-Control: max-age=7|Surrogate-Control: max-age=100", 7_000L));
  }

  @DisplayName("freshness lifetime, RFC 9111 §4.2.1, §4.2.2, RFC 9213")
  @ParameterizedTest(name = "[{index}] {0}")
  @MethodSource("lifetimes")
  void lifetime_9111_4_2_1(String name, int status, String headers, long lifetimeMs) {
    assertThat(Freshness.of(status, Headers.of(fields(headers)), T0, T0, ALL_ON).lifetimeMs).isEqualTo(lifetimeMs);
  }

  @Test
  @DisplayName("targeted fields change nothing when disabled, RFC 9213")
  void targetedFieldsOff_9213() {
    Headers h = Headers.of("Cache-Control", "max-age=1", "CDN-Cache-Control", "max-age=3600", "Surrogate-Control", "max-age=600");
    assertThat(Freshness.of(200, h, T0, T0, TARGETED_OFF).lifetimeMs).isEqualTo(1_000L);
    Headers sc = Headers.of("Cache-Control", "max-age=1", "Surrogate-Control", "max-age=600");
    assertThat(Freshness.of(200, sc, T0, T0, ALL_ON).lifetimeMs).isEqualTo(600_000L);
  }

  static Stream<Arguments> ages() {
    long req = T0;
    long resp = at(2);
    return Stream.of(
        Arguments.of("no Age, Date equal to response: response delay counts", "Date: " + date(2), req, resp, at(2), 2_000L),
        Arguments.of("resident time adds", "Date: " + date(2), req, resp, at(12), 12_000L),
        Arguments.of("Age plus response delay", "Age: 100|Date: " + date(2), req, resp, at(2), 102_000L),
        Arguments.of("apparent age when Date is older", "Date: " + date(-60), req, resp, at(2), 62_000L),
        Arguments.of("Date in the future (clock skew) gives apparent age 0", "Date: " + date(3600), req, resp, at(2), 2_000L),
        Arguments.of("negative Age is ignored", "Age: -7200|Date: " + date(2), req, resp, at(2), 2_000L),
        Arguments.of("fractional Age is ignored", "Age: 7200.0|Date: " + date(2), req, resp, at(2), 2_000L),
        Arguments.of("non-numeric Age is ignored", "Age: abc|Date: " + date(2), req, resp, at(2), 2_000L),
        Arguments.of("first list member of Age", "Age: 0, 7200|Date: " + date(2), req, resp, at(2), 2_000L),
        Arguments.of("first line of Age", "Age: 7200|Age: 0|Date: " + date(2), req, resp, at(2), 7_202_000L),
        Arguments.of("huge Age saturates", "Age: 99999999999|Date: " + date(2), req, resp, at(2), 2_147_483_650_000L),
        Arguments.of("clock moved back adds no resident time", "Date: " + date(2), req, resp, at(-100), 2_000L));
  }

  @DisplayName("current age, RFC 9111 §4.2.3, §5.1")
  @ParameterizedTest(name = "[{index}] {0}")
  @MethodSource("ages")
  void currentAge_9111_4_2_3(String name, String headers, long requestTime, long responseTime, long now, long ageMs) {
    Freshness f = Freshness.of(200, Headers.of(fields(headers)), requestTime, responseTime, ALL_ON);
    assertThat(f.currentAgeMs(now)).isEqualTo(ageMs);
  }

  @Test
  @DisplayName("fresh while current_age < lifetime, RFC 9111 §4.2")
  void freshWhileAgeBelowLifetime_9111_4_2() {
    Freshness f = Freshness.of(200, Headers.of("Cache-Control", "max-age=10", "Date", date(0)), T0, T0, ALL_ON);
    assertThat(f.isFresh(at(9) + 999)).isTrue();
    assertThat(f.isFresh(at(10))).isFalse();
    assertThat(f.stalenessMs(at(15))).isEqualTo(5_000L);
  }

  @Test
  @DisplayName("Age greater than max-age is stale from the start, RFC 9111 §4.2.3")
  void ageAboveMaxAgeIsStale_9111_4_2_3() {
    Freshness f = Freshness.of(200, Headers.of("Cache-Control", "max-age=3600", "Age", "7200", "Date", date(0)), T0, T0, ALL_ON);
    assertThat(f.isFresh(T0)).isFalse();
  }
}
