package dev.zcproxy.cache.policy;

import static dev.zcproxy.cache.policy.Fixtures.POLICY;
import static dev.zcproxy.cache.policy.Fixtures.T0;
import static dev.zcproxy.cache.policy.Fixtures.at;
import static dev.zcproxy.cache.policy.Fixtures.date;
import static dev.zcproxy.cache.policy.Fixtures.entry;
import static dev.zcproxy.cache.policy.Fixtures.fields;
import static dev.zcproxy.cache.policy.Fixtures.request;
import static dev.zcproxy.cache.policy.Fixtures.response;
import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.Headers;
import dev.zcproxy.cache.Lookup;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ValidationTest {

  @DisplayName("revalidation sends the stored validators, RFC 9111 §4.3.1")
  @ParameterizedTest(name = "[{index}] [{0}] -> [{1}]")
  @CsvSource(delimiter = ';', nullValues = "-", value = {
      "ETag: \"a\"; If-None-Match: \"a\"",
      "ETag: W/\"a\"; If-None-Match: W/\"a\"",
      "Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT; If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT",
      "ETag: \"a\"|Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT; If-None-Match: \"a\"|If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT",
      "Last-Modified: yesterday; -",
      "Date: Sun, 06 Nov 1994 08:49:37 GMT; -",
  })
  void validators_9111_4_3_1(String stored, String expected) {
    assertThat(POLICY.validators(entry(fields(stored)))).isEqualTo(Headers.of(fields(expected)));
  }

  @DisplayName("a 304 updates the entry only if it identifies it, RFC 9111 §4.3.4")
  @ParameterizedTest(name = "[{index}] stored [{0}] 304 [{1}] -> {2}")
  @CsvSource(delimiter = ';', nullValues = "-", value = {
      "ETag: \"a\"; ETag: \"a\"; true",
      "ETag: \"a\"; ETag: \"b\"; false",
      "ETag: W/\"a\"; ETag: \"a\"; false",
      "ETag: W/\"a\"; ETag: W/\"a\"; true",
      "ETag: \"a\"; ETag: W/\"a\"; true",
      "-; ETag: \"a\"; false",
      "Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT; Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT; true",
      "Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT; Last-Modified: Sun, 06 Nov 1994 08:49:38 GMT; false",
      "ETag: \"a\"; -; true",
      "-; -; true",
  })
  void validates_9111_4_3_4(String stored, String notModified, boolean expected) {
    assertThat(POLICY.validates(entry(fields(stored)), response(304, fields(notModified)))).isEqualTo(expected);
  }

  @Test
  @DisplayName("a 304 with a different strong ETag leaves the entry unchanged, RFC 9111 §4.3.4")
  void mismatchedEtagLeavesEntry_9111_4_3_4() {
    EntryMeta stored = entry("ETag", "\"a\"", "Cache-Control", "max-age=1", "X-A", "1");
    EntryMeta merged = POLICY.merge304(stored, response(304, "ETag", "\"b\"", "X-A", "2"), at(10), at(11));
    assertThat(merged).isSameAs(stored);
  }

  @Test
  @DisplayName("a 304 replaces stored fields except Content-Length, Content-Encoding, Content-Range and hop-by-hop, RFC 9111 §3.2")
  void mergeReplacesFields_9111_3_2() {
    EntryMeta stored = entry("ETag", "\"a\"", "Cache-Control", "max-age=1", "Date", date(0), "Age", "30",
        "Content-Type", "text/plain", "Content-Length", "10", "Content-Encoding", "gzip", "X-Keep", "k",
        "Set-Cookie", "a=b", "Expires", date(1));
    // cache.set-cookie: store is RFC 9111 as written (the default keeps a 304's cookie out: SetCookieTest).
    PolicyConfig d = PolicyConfig.defaults();
    CachePolicy rfc = new CachePolicy(new PolicyConfig(d.heuristicFraction(), d.heuristicMaxSeconds(), d.keepSeconds(),
        d.cdnCacheControl(), d.surrogateControl(), d.maxVariants(), d.maxObjectBytes(), SetCookie.STORE));
    EntryMeta merged = rfc.merge304(stored, response(304,
        "ETag", "\"a\"", "Cache-Control", "max-age=3600", "Date", date(100), "Content-Type", "text/plain;charset=utf-8",
        "Content-Length", "0", "Content-Encoding", "br", "Content-Range", "bytes 0-1/10", "Connection", "close, X-Hop",
        "X-Hop", "1", "Keep-Alive", "timeout=5", "Set-Cookie", "a=c", "Set-Cookie", "d=e", "Expires", date(3600),
        "Content-Location", "/bar"), at(99), at(100));
    Headers h = merged.headers();
    assertThat(h.get("Cache-Control")).isEqualTo("max-age=3600");
    assertThat(h.get("Date")).isEqualTo(date(100));
    assertThat(h.get("Content-Type")).isEqualTo("text/plain;charset=utf-8");
    assertThat(h.get("Content-Length")).isEqualTo("10");
    assertThat(h.get("Content-Encoding")).isEqualTo("gzip");
    assertThat(h.contains("Content-Range")).isFalse();
    assertThat(h.contains("X-Hop")).isFalse();
    assertThat(h.contains("Keep-Alive")).isFalse();
    assertThat(h.contains("Connection")).isFalse();
    assertThat(h.contains("Age")).isFalse();
    assertThat(h.get("X-Keep")).isEqualTo("k");
    assertThat(h.getAll("Set-Cookie")).containsExactly("a=c", "d=e");
    assertThat(h.get("Expires")).isEqualTo(date(3600));
    assertThat(h.get("Content-Location")).isEqualTo("/bar");
    assertThat(merged.requestTime()).isEqualTo(at(99));
    assertThat(merged.responseTime()).isEqualTo(at(100));
    assertThat(merged.bodyLength()).isEqualTo(stored.bodyLength());
  }

  @Test
  @DisplayName("a 304 never changes a stored body digest (Content-MD5, Digest), which must match the stored body, RFC 9111 §3.2")
  void mergeKeepsBodyDigests_9111_3_2() {
    EntryMeta stored = entry("ETag", "\"a\"", "Content-MD5", "rL0Y20zC+Fzt72VPzMSk2A==", "Digest", "sha-256=old");
    EntryMeta merged = POLICY.merge304(stored, response(304, "ETag", "\"a\"", "Content-MD5", "N7UdGUp1E+RbVvZSTy1R8g==",
        "Digest", "sha-256=new"), at(10), at(11));
    assertThat(merged.headers().get("Content-MD5")).isEqualTo("rL0Y20zC+Fzt72VPzMSk2A==");
    assertThat(merged.headers().get("Digest")).isEqualTo("sha-256=old");
  }

  @Test
  @DisplayName("freshness restarts from the 304: its Age replaces the stored one and a missing Date is the response time, RFC 9111 §4.3.4")
  void freshnessRestartsFrom304_9111_4_3_4() {
    EntryMeta stored = entry("Last-Modified", date(-86_400), "Cache-Control", "max-age=1", "Date", date(0), "Age", "500");
    EntryMeta merged = POLICY.merge304(stored, response(304, "Last-Modified", date(-86_400), "Cache-Control", "max-age=3600"),
        at(1000), at(1000));
    assertThat(merged.headers().get("Date")).isEqualTo(date(1000));
    assertThat(merged.headers().contains("Age")).isFalse();
    Lookup l = POLICY.select(Fixtures.get(), List.of(merged), at(1010));
    assertThat(l).isInstanceOf(Lookup.Fresh.class);
    assertThat(((Lookup.Fresh) l).ageSeconds()).isEqualTo(10);
  }

  @Test
  @DisplayName("a 200 to HEAD updates a matching stored GET like a 304 and keeps fields it lacks, RFC 9111 §4.3.5")
  void headUpdatesStoredGet_9111_4_3_5() {
    EntryMeta stored = entry(200, "", T0, T0, "Cache-Control", "max-age=2", "Date", date(0), "Template-A", "1",
        "Content-Length", "1000", "Content-Type", "text/plain");
    var head = response(200, "Cache-Control", "max-age=1000", "Date", date(10), "Content-Length", "1000",
        "Content-Type", "text/plain;charset=utf-8");
    EntryMeta merged = POLICY.mergeHead(stored, head, at(10), at(10)).orElseThrow();
    assertThat(merged.headers().get("Template-A")).isEqualTo("1");
    assertThat(merged.headers().get("Cache-Control")).isEqualTo("max-age=1000");
    assertThat(merged.headers().get("Content-Type")).isEqualTo("text/plain;charset=utf-8");
    assertThat(merged.bodyLength()).isEqualTo(stored.bodyLength());
    assertThat(POLICY.select(Fixtures.get(), List.of(merged), at(20))).isInstanceOf(Lookup.Fresh.class);
  }

  @DisplayName("a HEAD response updates the stored GET only when its validators and length match, RFC 9111 §4.3.5")
  @ParameterizedTest(name = "[{index}] stored [{0}], HEAD {1} [{2}] -> {3}")
  @CsvSource(delimiter = ';', nullValues = "-", value = {
      "ETag: \"a\"; 200; ETag: \"a\"; true",
      "ETag: \"a\"; 200; ETag: \"b\"; false",
      "ETag: W/\"a\"; 200; ETag: \"a\"; false",
      "-; 200; ETag: \"a\"; false",
      "ETag: \"a\"; 200; -; true",
      "Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT; 200; Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT; true",
      "Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT; 200; Last-Modified: Mon, 07 Nov 1994 08:49:37 GMT; false",
      "-; 200; Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT; false",
      "-; 200; Content-Length: 1000; true",
      "-; 200; Content-Length: 999; false",
      "-; 200; Content-Length: x; false",
      "-; 410; -; false",
      "-; 304; -; false",
  })
  void headMatches_9111_4_3_5(String stored, int status, String head, boolean expected) {
    EntryMeta e = new EntryMeta(Fixtures.URI, "", 200, Headers.of(fields(stored)), T0, T0, 1000, 0);
    assertThat(POLICY.mergeHead(e, response(status, fields(head)), at(1), at(1)).isPresent()).isEqualTo(expected);
  }

  @Test
  @DisplayName("a 304 that introduces a qualified private field does not store it, RFC 9111 §3.1, §3.2")
  void mergeDropsQualifiedFields_9111_3_2() {
    EntryMeta stored = entry("ETag", "\"a\"", "Cache-Control", "max-age=1", "Set-Cookie", "a=b");
    EntryMeta merged = POLICY.merge304(stored,
        response(304, "ETag", "\"a\"", "Cache-Control", "max-age=60, private=\"Set-Cookie\"", "Set-Cookie", "x=y"), at(1), at(1));
    assertThat(merged.headers().contains("Set-Cookie")).isFalse();
  }

  @DisplayName("a conditional request is answered 304 from the cache, RFC 9110 §13.1.1, §13.1.3, §13.2.2")
  @ParameterizedTest(name = "[{index}] {0} [{1}] stored {2} [{3}] -> {4}")
  @CsvSource(delimiter = ';', nullValues = "-", value = {
      "GET; If-None-Match: \"a\"; 200; ETag: \"a\"; true",
      "HEAD; If-None-Match: \"a\"; 200; ETag: \"a\"; true",
      "POST; If-None-Match: \"a\"; 200; ETag: \"a\"; false",
      "GET; If-None-Match: W/\"a\"; 200; ETag: \"a\"; true",
      "GET; If-None-Match: \"a\"; 200; ETag: W/\"a\"; true",
      "GET; If-None-Match: \"b\", \"a\"; 200; ETag: \"a\"; true",
      "GET; If-None-Match: \"b\"; 200; ETag: \"a\"; false",
      "GET; If-None-Match: *; 200; -; true",
      "GET; If-None-Match: \"a\"; 404; ETag: \"a\"; false",
      "GET; If-None-Match: \"b\"|If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT; 200; ETag: \"a\"|Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT; false",
      "GET; If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT; 200; Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT; true",
      "GET; If-Modified-Since: Sun, 06 Nov 1994 08:49:36 GMT; 200; Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT; false",
      "GET; If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT; 200; Date: Sun, 06 Nov 1994 08:49:30 GMT; true",
      "GET; If-Modified-Since: not a date; 200; Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT; false",
      "GET; If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT; 200; -; false",
      "GET; -; 200; ETag: \"a\"; false",
  })
  void notModified_9110_13_2_2(String method, String reqHeaders, int status, String stored, boolean expected) {
    EntryMeta e = entry(status, "", T0, T0, fields(stored));
    assertThat(POLICY.notModified(request(method, fields(reqHeaders)), e)).isEqualTo(expected);
  }

  @Test
  @DisplayName("responses from the cache carry a current Age, RFC 9111 §5.1")
  void responseHeadersCarryAge_9111_5_1() {
    EntryMeta e = entry(200, "", T0, at(1), "Cache-Control", "max-age=60", "Date", date(0), "Age", "5", "X-A", "1");
    Headers h = POLICY.responseHeaders(e, at(11));
    assertThat(h.getAll("Age")).containsExactly("16");
    assertThat(h.get("X-A")).isEqualTo("1");
    assertThat(POLICY.responseHeaders(entry("Date", date(0)), T0).get("Age")).isEqualTo("0");
  }
}
