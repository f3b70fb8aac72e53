package dev.zcproxy.cache.policy;

import static dev.zcproxy.cache.policy.Fixtures.POLICY;
import static dev.zcproxy.cache.policy.Fixtures.T0;
import static dev.zcproxy.cache.policy.Fixtures.fields;
import static dev.zcproxy.cache.policy.Fixtures.request;
import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.Headers;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RangesTest {
  private static final String LM = "Sun, 06 Nov 1994 08:49:37 GMT";
  private static final String STORED = "ETag: \"a\"|Last-Modified: " + LM + "|Date: Sun, 06 Nov 1994 08:50:37 GMT";

  private static String describe(RangeDecision d) {
    if (d instanceof RangeDecision.Partial p) {
      return "206 " + p.contentRange();
    }
    if (d instanceof RangeDecision.Unsatisfiable u) {
      return "416 " + u.completeLength();
    }
    return "200";
  }

  @DisplayName("one byte range from a stored 200, RFC 9110 §14.1.2, §14.2, §13.1.5")
  @ParameterizedTest(name = "[{index}] {0} [{1}] length {2} -> {3}")
  @CsvSource(delimiter = ';', nullValues = "-", value = {
      "GET; -; 100; 200",
      "GET; Range: bytes=0-9; 100; 206 bytes 0-9/100",
      "GET; Range: bytes=10-; 100; 206 bytes 10-99/100",
      "GET; Range: bytes=-10; 100; 206 bytes 90-99/100",
      "GET; Range: bytes=-1000; 100; 206 bytes 0-99/100",
      "GET; Range: bytes=90-1000; 100; 206 bytes 90-99/100",
      "GET; Range: bytes=99-99; 100; 206 bytes 99-99/100",
      "GET; Range: BYTES = 0-0 ; 100; 206 bytes 0-0/100",
      "GET; Range: bytes=100-; 100; 416 100",
      "GET; Range: bytes=100-200; 100; 416 100",
      "GET; Range: bytes=-0; 100; 416 100",
      "GET; Range: bytes=5-2; 100; 200",
      "GET; Range: bytes=a-b; 100; 200",
      "GET; Range: bytes=-; 100; 200",
      "GET; Range: bytes=0-1,5-6; 100; 200",
      "GET; Range: items=0-1; 100; 200",
      "GET; Range: bytes 0-1; 100; 200",
      "HEAD; Range: bytes=0-9; 100; 200",
      "GET; Range: bytes=0-; 0; 416 0",
      "GET; Range: bytes=-5; 0; 200",
      "GET; Range: bytes=0-9|If-Range: \"a\"; 100; 206 bytes 0-9/100",
      "GET; Range: bytes=0-9|If-Range: \"b\"; 100; 200",
      "GET; Range: bytes=0-9|If-Range: W/\"a\"; 100; 200",
      "GET; Range: bytes=0-9|If-Range: Sun, 06 Nov 1994 08:49:37 GMT; 100; 206 bytes 0-9/100",
      "GET; Range: bytes=0-9|If-Range: Sun, 06 Nov 1994 08:49:38 GMT; 100; 200",
      "GET; Range: bytes=0-9|If-Range: garbage; 100; 200",
  })
  void singleRange_9110_14(String method, String reqHeaders, long length, String expected) {
    EntryMeta e = new EntryMeta(Fixtures.URI, "", 200, Headers.of(fields(STORED)), T0, T0, length, 0);
    assertThat(describe(POLICY.range(request(method, fields(reqHeaders)), e))).isEqualTo(expected);
  }

  @Test
  @DisplayName("If-Range with a weak Last-Modified (less than 1s before Date) sends the whole body, RFC 9110 §8.8.2.2")
  void weakLastModifiedNeverMatchesIfRange_9110_8_8_2_2() {
    EntryMeta e = new EntryMeta(Fixtures.URI, "", 200, Headers.of("Last-Modified", LM, "Date", LM), T0, T0, 100, 0);
    assertThat(describe(POLICY.range(request("GET", "Range", "bytes=0-9", "If-Range", LM), e))).isEqualTo("200");
  }

  @Test
  @DisplayName("only a stored 200 is ranged, RFC 9110 §14.2")
  void onlyStored200_9110_14_2() {
    EntryMeta e = new EntryMeta(Fixtures.URI, "", 404, Headers.empty(), T0, T0, 100, 0);
    assertThat(describe(POLICY.range(request("GET", "Range", "bytes=0-9"), e))).isEqualTo("200");
  }
}
