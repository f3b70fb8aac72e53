package dev.zcproxy.cache.policy;

import static dev.zcproxy.cache.policy.Fixtures.POLICY;
import static dev.zcproxy.cache.policy.Fixtures.date;
import static dev.zcproxy.cache.policy.Fixtures.fields;
import static dev.zcproxy.cache.policy.Fixtures.request;
import static dev.zcproxy.cache.policy.Fixtures.response;
import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.Headers;
import dev.zcproxy.cache.RequestHead;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class StorabilityTest {

  private static String outcome(Storability s) {
    return s instanceof Storability.DontStore d ? d.reason() : "store";
  }

  @DisplayName("may this response be stored, RFC 9111 §3")
  @ParameterizedTest(name = "[{index}] {0} {1} {2} [{3}] -> {4}")
  @CsvSource(delimiter = ';', nullValues = "-", value = {
      // method
      "GET; -; 200; Cache-Control: max-age=60; store",
      "HEAD; -; 200; Cache-Control: max-age=60; method",
      "POST; -; 200; Cache-Control: max-age=60; method",
      // RFC 9110 §9.3.3: a POST response with explicit freshness and its own URI in Content-Location
      "POST; -; 200; Cache-Control: max-age=60|Content-Location: /a; store",
      "POST; -; 200; Cache-Control: max-age=60|Content-Location: http://example.com/a; store",
      "POST; -; 200; Expires: Thu, 01 Jan 2060 00:00:00 GMT|Content-Location: /a; store",
      "POST; -; 200; Cache-Control: max-age=60|Content-Location: /b; method",
      "POST; -; 200; Cache-Control: max-age=60|Content-Location: http://other.example/a; method",
      "POST; -; 200; Cache-Control: max-age=60|Content-Location: ; method",
      "POST; -; 200; Content-Location: /a; method",
      "POST; -; 200; Cache-Control: public|Content-Location: /a; method",
      "POST; Cache-Control: no-store; 200; Cache-Control: max-age=60|Content-Location: /a; request-no-store",
      "POST; -; 200; Cache-Control: max-age=60, no-store|Content-Location: /a; no-store",
      "PUT; -; 200; Cache-Control: max-age=60|Content-Location: /a; method",
      // status
      "GET; -; 206; Cache-Control: max-age=60; partial",
      "GET; -; 304; Cache-Control: max-age=60; status",
      "GET; -; 100; Cache-Control: max-age=60; status",
      "GET; -; 200; -; store",
      "GET; -; 203; -; store",
      "GET; -; 204; -; store",
      "GET; -; 300; -; store",
      "GET; -; 301; -; store",
      "GET; -; 308; -; store",
      "GET; -; 404; -; store",
      "GET; -; 405; -; store",
      "GET; -; 410; -; store",
      "GET; -; 414; -; store",
      "GET; -; 501; -; store",
      "GET; -; 302; -; no-freshness",
      "GET; -; 307; -; no-freshness",
      "GET; -; 400; -; no-freshness",
      "GET; -; 403; -; no-freshness",
      "GET; -; 500; -; no-freshness",
      "GET; -; 503; -; no-freshness",
      "GET; -; 302; Cache-Control: max-age=60; store",
      "GET; -; 500; Expires: 0; store",
      "GET; -; 503; Cache-Control: s-maxage=10; store",
      "GET; -; 307; Cache-Control: public; store",
      "GET; -; 299; Cache-Control: max-age=60; store",
      // no-store
      "GET; -; 200; Cache-Control: no-store, max-age=60; no-store",
      "GET; -; 200; Cache-Control: max-age=60|Cache-Control: NO-STORE; no-store",
      "GET; Cache-Control: no-store; 200; Cache-Control: max-age=60; request-no-store",
      "GET; Pragma: no-store; 200; Cache-Control: max-age=60; store",
      // must-understand (§5.2.2.3)
      "GET; -; 200; Cache-Control: must-understand, no-store, max-age=60; store",
      "GET; -; 299; Cache-Control: must-understand, no-store, max-age=60; status",
      "GET; -; 299; Cache-Control: must-understand, max-age=60; status",
      // private (§5.2.2.7)
      "GET; -; 200; Cache-Control: private, max-age=60; private",
      "GET; -; 200; Cache-Control: private=\"Set-Cookie\", max-age=60; store",
      // Authorization (§3.5)
      "GET; Authorization: Basic eDp5; 200; Cache-Control: max-age=60; authorization",
      "GET; Authorization: Basic eDp5; 200; Cache-Control: public, max-age=60; store",
      "GET; Authorization: Basic eDp5; 200; Cache-Control: s-maxage=60; store",
      "GET; Authorization: Basic eDp5; 200; Cache-Control: must-revalidate, max-age=60; store",
      // Vary (§4.1)
      "GET; -; 200; Cache-Control: max-age=60|Vary: *; vary-star",
      "GET; -; 200; Cache-Control: max-age=60|Vary: Accept, *; vary-star",
      "GET; -; 200; Cache-Control: max-age=60|Vary: Accept; store",
      // size
      "GET; -; 200; Cache-Control: max-age=60|Content-Length: 1001; too-large",
      "GET; -; 200; Cache-Control: max-age=60|Content-Length: 1000; store",
      "GET; -; 200; Cache-Control: max-age=60|Content-Length: 99999999999999999999; too-large",
      // targeted fields (RFC 9213)
      "GET; -; 200; Cache-Control: no-store|CDN-Cache-Control: max-age=600; store",
      "GET; -; 200; Cache-Control: max-age=600|CDN-Cache-Control: no-store; no-store",
      "GET; -; 200; Cache-Control: max-age=600|CDN-Cache-Control: private; private",
      "GET; -; 200; Cache-Control: no-store|CDN-Cache-Control: max-age=10000, &&&; no-store",
      "GET; -; 200; Cache-Control: max-age=600|Surrogate-Control: no-store; no-store",
      "GET; -; 200; Surrogate-Control: max-age=600; store",
      "GET; -; 302; Surrogate-Control: max-age=600; store",
      "GET; -; 302; CDN-Cache-Control: max-age=600; store",
  })
  void storable_9111_3(String method, String reqHeaders, int status, String respHeaders, String expected) {
    PolicyConfig config = new PolicyConfig(0.1, 86_400, 3_600, true, true, 16, 1000);
    RequestHead req = request(method, fields(reqHeaders));
    Storability s = new CachePolicy(config).storable(req, response(status, fields(respHeaders)));
    assertThat(outcome(s)).isEqualTo(expected);
  }

  @DisplayName("targeted fields are ignored when disabled, RFC 9213")
  @ParameterizedTest(name = "[{index}] {0} -> {1}")
  @CsvSource(delimiter = ';', value = {
      "Cache-Control: no-store|CDN-Cache-Control: max-age=600; no-store",
      "Cache-Control: max-age=600|CDN-Cache-Control: no-store; store",
      "Cache-Control: max-age=600|Surrogate-Control: no-store; store",
      "Surrogate-Control: max-age=600|Date: x; store",
  })
  void targetedFieldsOff_9213(String respHeaders, String expected) {
    CachePolicy off = new CachePolicy(new PolicyConfig(0.1, 86_400, 3_600, false, false, 16, Long.MAX_VALUE));
    assertThat(outcome(off.storable(Fixtures.get(), response(200, fields(respHeaders))))).isEqualTo(expected);
  }

  @Test
  @DisplayName("qualified private and no-cache fields and hop-by-hop fields are not stored, RFC 9111 §3.1, §5.2.2.4, §5.2.2.7")
  void qualifiedFieldsAndHopByHopNotStored_9111_3_1() {
    Storability s = POLICY.storable(Fixtures.get(), response(200,
        "Cache-Control", "max-age=60, private=\"Set-Cookie, x-secret\", no-cache=\"X-Token\"",
        "Set-Cookie", "a=b", "X-Secret", "s", "X-Token", "t", "Connection", "close, X-Hop", "X-Hop", "1",
        "Keep-Alive", "timeout=5", "Transfer-Encoding", "chunked", "Content-Type", "text/plain", "Date", date(0)));
    assertThat(s).isInstanceOf(Storability.Store.class);
    Headers stored = ((Storability.Store) s).headers();
    assertThat(stored.names()).containsExactly("cache-control", "content-type", "date");
  }

  @Test
  @DisplayName("the variant is the secondary key of the request under the response's Vary, RFC 9111 §4.1")
  void variantFromVary_9111_4_1() {
    Storability s = POLICY.storable(Fixtures.get("Accept-Encoding", "gzip", "Foo", "1"),
        response(200, "Cache-Control", "max-age=60", "Vary", "Foo, accept-encoding"));
    assertThat(((Storability.Store) s).variant()).isEqualTo("accept-encoding=gzip\nfoo=1");
    Storability none = POLICY.storable(Fixtures.get("Foo", "1"), response(200, "Cache-Control", "max-age=60"));
    assertThat(((Storability.Store) none).variant()).isEmpty();
  }

  @org.junit.jupiter.api.Test
  @org.junit.jupiter.api.DisplayName("Surrogate-Control targeted at this device applies, targeted at another device does not (Edge Architecture 1.0)")
  void surrogateControlTargeting() {
    assertThat(outcome(POLICY.storable(Fixtures.get(), response(200, "Cache-Control", "no-store",
        "Surrogate-Control", "max-age=10000;zcproxy")))).isEqualTo("store");
    assertThat(outcome(POLICY.storable(Fixtures.get(), response(302,
        "Surrogate-Control", "max-age=10000;other-cache")))).isEqualTo("no-freshness");
    assertThat(outcome(POLICY.storable(Fixtures.get(), response(200, "Surrogate-Control", "max-age=600, no-store;zcproxy"))))
        .isEqualTo("no-store");
  }
}
