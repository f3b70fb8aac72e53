package dev.zcproxy.cache.policy;

import static dev.zcproxy.cache.policy.Fixtures.POLICY;
import static dev.zcproxy.cache.policy.Fixtures.T0;
import static dev.zcproxy.cache.policy.Fixtures.at;
import static dev.zcproxy.cache.policy.Fixtures.date;
import static dev.zcproxy.cache.policy.Fixtures.fields;
import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.Headers;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class MiscPolicyTest {

  @DisplayName("GET and HEAD are looked up, RFC 9111 §4")
  @ParameterizedTest(name = "[{index}] {0} -> {1}")
  @CsvSource({"GET, true", "HEAD, true", "POST, false", "get, false", "OPTIONS, false", "PUT, false"})
  void lookupMethods_9111_4(String method, boolean expected) {
    assertThat(POLICY.isLookupMethod(method)).isEqualTo(expected);
  }

  @DisplayName("hop-by-hop fields and fields named by Connection are removed, RFC 9110 §7.6.1")
  @ParameterizedTest(name = "[{index}] [{0}] -> [{1}]")
  @CsvSource(delimiter = ';', nullValues = "-", value = {
      "Connection: close|Keep-Alive: x|Proxy-Connection: x|TE: trailers|Trailer: X|Transfer-Encoding: chunked|Upgrade: h2c|Proxy-Authenticate: Basic|Proxy-Authorization: Basic x|X-A: 1; X-A: 1",
      "Connection: X-Foo, x-bar|X-Foo: 1|X-Bar: 2|X-Baz: 3; X-Baz: 3",
      "Connection: X-Foo|Connection: X-Bar|X-Bar: 2|x-foo: 1|Date: d; Date: d",
      "Content-Type: text/plain|Set-Cookie: a|Set-Cookie: b; Content-Type: text/plain|Set-Cookie: a|Set-Cookie: b",
      "-; -",
      // no Connection field: the fixed names in any case, and names that only look like them kept
      "TRANSFER-ENCODING: chunked|keep-ALIVE: x|tE: trailers|X-Te: 1|Upgrades: 2|Trailers: 3; X-Te: 1|Upgrades: 2|Trailers: 3",
  })
  void hopByHopStripped_9110_7_6_1(String in, String out) {
    assertThat(HopByHop.strip(Headers.of(fields(in)))).isEqualTo(Headers.of(fields(out)));
  }

  @DisplayName("stale-if-error window, limited by must-revalidate, proxy-revalidate, no-cache and (for the request's) s-maxage, RFC 5861 §4, RFC 9111 §4.2.4")
  @ParameterizedTest(name = "[{index}] req [{0}] resp [{1}] at +{2}s -> {3}")
  @CsvSource(delimiter = ';', nullValues = "-", value = {
      "-; Cache-Control: max-age=60, stale-if-error=30; 10; true",
      "-; Cache-Control: max-age=60, stale-if-error=30; 90; true",
      "-; Cache-Control: max-age=60, stale-if-error=30; 91; false",
      "-; Cache-Control: max-age=60; 61; false",
      "-; Cache-Control: max-age=60, stale-if-error=30, must-revalidate; 70; false",
      "-; Cache-Control: max-age=60, stale-if-error=30, proxy-revalidate; 70; false",
      "-; Cache-Control: max-age=60, stale-if-error=30, no-cache; 70; false",
      "-; Cache-Control: s-maxage=60, stale-if-error=30; 70; true",
      "Cache-Control: stale-if-error=30; Cache-Control: max-age=60; 90; true",
      "Cache-Control: stale-if-error=30; Cache-Control: max-age=60; 91; false",
      "Cache-Control: stale-if-error=30; Cache-Control: s-maxage=60; 70; false",
      "Cache-Control: stale-if-error=30; Cache-Control: max-age=60, must-revalidate; 70; false",
      "-; CDN-Cache-Control: max-age=60, stale-if-error=30; 70; true",
      "-; Cache-Control: max-age=60, stale-if-error=abc; 70; false",
  })
  void staleIfError_5861_4(String reqHeaders, String respHeaders, long nowSeconds, boolean expected) {
    Headers h = Headers.of(fields(respHeaders)).toBuilder().add("Date", date(0)).build();
    EntryMeta e = new EntryMeta(Fixtures.URI, "", 200, h, T0, T0, 10, 0);
    assertThat(POLICY.staleIfError(Fixtures.get(fields(reqHeaders)), e, at(nowSeconds))).isEqualTo(expected);
  }

  @DisplayName("entries are retained for their freshness plus stale windows or the keep time, for validators or a client's max-stale")
  @ParameterizedTest(name = "[{index}] [{0}] -> +{1}s")
  @CsvSource(delimiter = ';', nullValues = "-", value = {
      "Cache-Control: max-age=60; 3660",
      "Cache-Control: max-age=60|Age: 20; 3640",
      "Cache-Control: max-age=60|Age: 100; 3600",
      "Cache-Control: max-age=60, stale-while-revalidate=30; 3660",
      "Cache-Control: max-age=60, stale-while-revalidate=30, stale-if-error=7200; 7260",
      "Cache-Control: max-age=60, stale-if-error=300, must-revalidate; 60",
      "Cache-Control: max-age=60, proxy-revalidate; 60",
      "Cache-Control: s-maxage=60; 60",
      "Cache-Control: s-maxage=60, stale-if-error=300; 360",
      "Cache-Control: max-age=0; 0",
      "Cache-Control: no-cache, max-age=60; 60",
      "Cache-Control: max-age=60|ETag: \"a\"; 3660",
      "Cache-Control: max-age=60, stale-if-error=7200|ETag: \"a\"; 7260",
      "Cache-Control: max-age=60|Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT; 3660",
      "-; 0",
  })
  void retainUntil(String respHeaders, long seconds) {
    Headers h = Headers.of(fields(respHeaders)).toBuilder().add("Date", date(0)).build();
    EntryMeta e = new EntryMeta(Fixtures.URI, "", 200, h, T0, T0, 10, 0);
    assertThat(POLICY.retainUntil(e)).isEqualTo(at(seconds));
  }

  @Test
  @DisplayName("retention saturates instead of overflowing")
  void retainUntilSaturates() {
    CachePolicy huge = new CachePolicy(new PolicyConfig(0.1, 86_400, Long.MAX_VALUE, true, true, 16, Long.MAX_VALUE));
    EntryMeta e = new EntryMeta(Fixtures.URI, "", 200,
        Headers.of("Cache-Control", "max-age=99999999999", "ETag", "\"a\""), Long.MAX_VALUE - 5, Long.MAX_VALUE - 5, 1, 0);
    assertThat(huge.retainUntil(e)).isEqualTo(Long.MAX_VALUE);
  }

  @Test
  @DisplayName("lifetime and age are exposed in whole seconds, RFC 9111 §4.2")
  void lifetimeAndAgeSeconds_9111_4_2() {
    EntryMeta e = new EntryMeta(Fixtures.URI, "", 200,
        Headers.of("Cache-Control", "max-age=60", "Date", date(0)), T0, T0 + 500, 10, 0);
    assertThat(POLICY.lifetimeSeconds(e)).isEqualTo(60);
    assertThat(POLICY.ageSeconds(e, at(10))).isEqualTo(10);
    assertThat(POLICY.ageSeconds(e, at(10) + 400)).isEqualTo(10);
  }
}
