package dev.zcproxy.cache.policy;

import static dev.zcproxy.cache.policy.Fixtures.POLICY;
import static dev.zcproxy.cache.policy.Fixtures.T0;
import static dev.zcproxy.cache.policy.Fixtures.URI;
import static dev.zcproxy.cache.policy.Fixtures.at;
import static dev.zcproxy.cache.policy.Fixtures.date;
import static dev.zcproxy.cache.policy.Fixtures.fields;
import static dev.zcproxy.cache.policy.Fixtures.get;
import static dev.zcproxy.cache.policy.Fixtures.response;
import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.Headers;
import dev.zcproxy.cache.Lookup;
import dev.zcproxy.cache.RequestHead;
import dev.zcproxy.cache.ResponseHead;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Storing partial (206) responses and answering ranges inside them, RFC 9111 §3.3. */
class PartialContentTest {
  private static final String FRESH = "Cache-Control: max-age=3600|Date: " + date(0);

  private static EntryMeta toStore(String requestRange, String respHeaders) {
    RequestHead req = get("Range", requestRange);
    return POLICY.partialToStore(URI, req, response(206, fields(respHeaders)), T0, T0);
  }

  /** A stored partial entry fetched with {@code Range: bytes=-6}, {@code bodyLength} bytes and the given fields. */
  private static EntryMeta stored(long bodyLength, String headers) {
    return new EntryMeta(URI, PartialContent.PREFIX + "bytes=-6", 206, Headers.of(fields(headers)), T0, T0, bodyLength, 0);
  }

  @DisplayName("a 206 is stored only with one valid Content-Range of known complete length, not multipart, no Vary,"
      + " storable as a 200 would be")
  @ParameterizedTest(name = "[{index}] {0} -> {1}")
  @CsvSource(delimiter = ';', value = {
      "Content-Range: bytes 4-9/10|Content-Length: 5; true",
      "Content-Range: bytes 4-9/10; true",
      "Content-Range: BYTES 0-0/1; true",
      "Content-Range: bytes 4-9/*; false",
      "Content-Range: bytes */10; false",
      "Content-Range: bytes 4-10/10; false",
      "Content-Range: bytes 9-4/10; false",
      "Content-Range: bytes -4-9/10; false",
      "Content-Range: bytes 4-9/10|Content-Range: bytes 0-3/10; false",
      "Content-Range: bytes 4-9/10, 0-3/10; false",
      "Content-Range: items 4-9/10; false",
      "Content-Range: bytes 4-9/99999999999999999999; false",
      "Content-Range: bytes 4-9/999999999999999999; true",
      "Content-Range: bytes 4-99999999999999999999/100; false",
      "Content-Range: bytes 4-9/10|Content-Length: 6; true",
      "Content-Type: multipart/byteranges, boundary=x; false",
      "Content-Range: bytes 4-9/10|Content-Type: Multipart/ByteRanges, boundary=x; false",
      "Content-Range: bytes 4-9/10|Vary: Accept; false",
      "Content-Length: 5; false",
  })
  void storesOnlyAnUnambiguous206_9111_3_3(String headers, boolean stored) {
    EntryMeta e = toStore("bytes=-5", FRESH + "|" + headers);
    assertThat(e != null).isEqualTo(stored);
    if (stored) {
      assertThat(e.status()).isEqualTo(206);
      assertThat(e.variant()).isEqualTo("partial:bytes=-5");
      assertThat(e.primaryKey()).isEqualTo(URI);
    }
  }

  @Test
  void aPartialIsNotStoredWhereTheCompleteResponseWouldNotBe() {
    assertThat(toStore("bytes=-5", "Cache-Control: no-store|Content-Range: bytes 4-9/10")).isNull();
    assertThat(toStore("bytes=-5", "Cache-Control: private|Content-Range: bytes 4-9/10")).isNull();
    assertThat(POLICY.partialToStore(URI, get("Range", "bytes=-5"), response(200, fields(FRESH)), T0, T0)).isNull();
    RequestHead head = Fixtures.request("HEAD", "Range", "bytes=-5");
    assertThat(POLICY.partialToStore(URI, head, response(206, fields(FRESH + "|Content-Range: bytes 4-9/10")), T0, T0)).isNull();
  }

  @DisplayName("a stored partial bytes 4-9/10 answers ranges inside it with the sub-range, and nothing else")
  @ParameterizedTest(name = "[{index}] {0} -> {1}")
  @CsvSource(delimiter = ';', nullValues = "-", value = {
      "bytes=-5; bytes 5-9/10 from 1",
      "bytes=-6; bytes 4-9/10 from 0",
      "bytes=-1; bytes 9-9/10 from 5",
      "bytes=6-8; bytes 6-8/10 from 2",
      "bytes=6-; bytes 6-9/10 from 2",
      "bytes=4-100; bytes 4-9/10 from 0",
      "bytes=-7; -",
      "bytes=-60; -",
      "bytes=3-5; -",
      "bytes=0-; -",
      "bytes=10-; -",
      "bytes=-0; -",
      "bytes=4-5,7-8; -",
      "items=4-5; -",
      "bytes=x-y; -",
  })
  void answersRangesInsideIt(String range, String expected) {
    EntryMeta e = stored(6, FRESH + "|Content-Range: bytes 4-9/10");
    RangeDecision.Partial p = PartialContent.within(get("Range", range), e);
    EntryMeta chosen = POLICY.partialFor(get("Range", range), List.of(e), at(10));
    if (expected == null) {
      assertThat(p).isNull();
      assertThat(chosen).isNull();
    } else {
      assertThat(p.contentRange() + " from " + p.first()).isEqualTo(expected);
      assertThat(chosen).isSameAs(e);
      assertThat(POLICY.range(get("Range", range), e)).isEqualTo(p);
    }
  }

  @Test
  void theSameRangeGetsTheStored206AsItIsEvenWhenItsBodyDisagreesWithItsContentRange() {
    // the suite's origin: Content-Range 4-9/10 (6 bytes) with a 5-byte body; which bytes it holds is unknown
    EntryMeta shortBody = stored(5, FRESH + "|Content-Range: bytes 4-9/10");
    assertThat(POLICY.partialFor(get("Range", "bytes=-6"), List.of(shortBody), at(10))).isSameAs(shortBody);
    assertThat(POLICY.range(get("Range", "bytes=-6"), shortBody)).isInstanceOf(RangeDecision.Full.class);
    for (String inside : new String[] {"bytes=6-8", "bytes=6-", "bytes=-1", "bytes=-5", "bytes=4-8"}) {
      assertThat(POLICY.partialFor(get("Range", inside), List.of(shortBody), at(10))).as(inside).isNull();
    }
    EntryMeta longBody = stored(7, FRESH + "|Content-Range: bytes 4-9/10");
    assertThat(POLICY.partialFor(get("Range", "bytes=6-8"), List.of(longBody), at(10))).isNull();
  }

  @Test
  void aStalePartialOrARequestThatAsksForRevalidationGoesToTheOrigin() {
    EntryMeta e = stored(6, FRESH + "|Content-Range: bytes 4-9/10");
    assertThat(POLICY.partialFor(get("Range", "bytes=6-8"), List.of(e), at(3601))).isNull();
    assertThat(POLICY.partialFor(get("Range", "bytes=6-8", "Cache-Control", "no-cache"), List.of(e), at(10))).isNull();
    assertThat(POLICY.partialFor(get("Range", "bytes=6-8", "Cache-Control", "max-age=0"), List.of(e), at(10))).isNull();
    assertThat(POLICY.partialFor(get("Range", "bytes=6-8", "Pragma", "no-cache"), List.of(e), at(10))).isNull();
    assertThat(POLICY.partialFor(get("Range", "bytes=6-8", "If-Range", "\"x\""), List.of(e), at(10))).isNull();
    assertThat(POLICY.partialFor(get(), List.of(e), at(10))).isNull();
    assertThat(POLICY.partialFor(get("Range", "bytes=6-8", "Range", "bytes=6-8"), List.of(e), at(10))).isNull();
    assertThat(POLICY.partialFor(get("Range", "bytes=6-8", "Cache-Control", "max-stale=100"), List.of(e), at(10)))
        .isSameAs(e);
  }

  @Test
  void aPartialIsNeverSelectedAsTheCompleteResponse() {
    EntryMeta e = stored(6, FRESH + "|Content-Range: bytes 4-9/10");
    assertThat(POLICY.select(get(), List.of(e), at(10))).isInstanceOf(Lookup.Miss.class);
    assertThat(POLICY.select(get("Range", "bytes=6-8"), List.of(e), at(10))).isInstanceOf(Lookup.Miss.class);
    assertThat(POLICY.select(get("Accept-Language", "en"), List.of(e), at(10))).isInstanceOf(Lookup.Miss.class);
  }

  @DisplayName("a range miss goes to the origin with its Range only for a suffix range or one starting at 1 MiB or later")
  @ParameterizedTest(name = "[{index}] {0} -> {1}")
  @CsvSource(delimiter = ';', value = {
      "bytes=-5; true",
      "bytes= -500; true",
      "bytes=1048576-; true",
      "bytes=2000000-2000100; true",
      "bytes=0-; false",
      "bytes=100-200; false",
      "bytes=1048575-; false",
      "bytes=-0; false",
      "bytes=-5,0-1; false",
      "items=-5; false",
      "bytes=abc; false",
  })
  void forwardsOnlyRangesFarFromTheStart(String range, boolean forwards) {
    assertThat(POLICY.forwardsRange(get("Range", range))).isEqualTo(forwards);
  }

  @Test
  void onlyAGetWithOneRangeAndNoIfRangeIsForwarded() {
    assertThat(POLICY.forwardsRange(get())).isFalse();
    assertThat(POLICY.forwardsRange(Fixtures.request("HEAD", "Range", "bytes=-5"))).isFalse();
    assertThat(POLICY.forwardsRange(get("Range", "bytes=-5", "If-Range", "\"a\""))).isFalse();
    assertThat(POLICY.forwardsRange(get("Range", "bytes=-5", "Range", "bytes=-5"))).isFalse();
  }

  @Test
  void theSuiteOriginsResponseIsStored() {
    RequestHead req = get("Range", "bytes=-5", "Pragma", "foo", "Cache-Control", "nothing-to-see-here");
    ResponseHead resp = response(206, "Cache-Control", "max-age=3600", "Content-Range", "bytes 4-9/10",
        "Content-Length", "5", "Content-Type", "text/plain", "Date", date(0), "Server-Request-Count", "1");
    assertThat(POLICY.partialToStore(URI, req, resp, T0, T0)).isNotNull();
  }
}
