package dev.zcproxy.cache.policy;

import static dev.zcproxy.cache.policy.Fixtures.at;
import static dev.zcproxy.cache.policy.Fixtures.date;
import static dev.zcproxy.cache.policy.Fixtures.entry;
import static dev.zcproxy.cache.policy.Fixtures.fields;
import static dev.zcproxy.cache.policy.Fixtures.response;
import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.Headers;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** A response that sets a cookie is per client: what {@code cache.set-cookie} makes of it. */
class SetCookieTest {

  private static CachePolicy policy(SetCookie mode) {
    PolicyConfig d = PolicyConfig.defaults();
    return new CachePolicy(new PolicyConfig(d.heuristicFraction(), d.heuristicMaxSeconds(), d.keepSeconds(),
        d.cdnCacheControl(), d.surrogateControl(), d.maxVariants(), d.maxObjectBytes(), mode));
  }

  private static String outcome(Storability s) {
    if (s instanceof Storability.DontStore d) {
      return d.reason();
    }
    Headers h = ((Storability.Store) s).headers();
    return h.contains("Set-Cookie") || h.contains("Set-Cookie2") ? "store-with-cookie" : "store";
  }

  @Test
  void theDefaultIsPassAsInNginxAndVarnish() {
    assertThat(PolicyConfig.defaults().setCookie()).isEqualTo(SetCookie.PASS);
    assertThat(new PolicyConfig(0.1, 1, 1, true, true, 16, 1).setCookie()).isEqualTo(SetCookie.PASS);
  }

  @DisplayName("storable with Set-Cookie, per mode")
  @ParameterizedTest(name = "[{index}] {0} [{1}] -> {2}")
  @CsvSource(delimiter = ';', nullValues = "-", value = {
      "PASS; Cache-Control: max-age=60|Set-Cookie: a=b; set-cookie",
      "PASS; Cache-Control: public, s-maxage=60|Set-Cookie: a=b; set-cookie",
      "PASS; Cache-Control: max-age=60|set-cookie: a=b|Set-Cookie: c=d; set-cookie",
      "PASS; Cache-Control: max-age=60|Set-Cookie2: a=b; set-cookie",
      "PASS; Cache-Control: max-age=60; store",
      // a reason that comes first stays the reason
      "PASS; Cache-Control: no-store|Set-Cookie: a=b; no-store",
      "PASS; Cache-Control: private, max-age=60|Set-Cookie: a=b; private",
      // the origin said the cookie is not to be shared, the rest is: RFC 9111 §5.2.2.4, §5.2.2.7
      "PASS; Cache-Control: max-age=60, private=\"Set-Cookie\"|Set-Cookie: a=b; store",
      "PASS; Cache-Control: max-age=60, no-cache=\"set-cookie\"|Set-Cookie: a=b; store",
      "PASS; Cache-Control: max-age=60, no-cache=\"set-cookie\"|Set-Cookie: a=b|Set-Cookie2: c=d; set-cookie",
      "STRIP; Cache-Control: max-age=60|Set-Cookie: a=b|Set-Cookie2: c=d; store",
      "STRIP; Cache-Control: max-age=60; store",
      "STRIP; Cache-Control: no-store|Set-Cookie: a=b; no-store",
      "STORE; Cache-Control: max-age=60|Set-Cookie: a=b; store-with-cookie",
  })
  void storable(SetCookie mode, String respHeaders, String expected) {
    Storability s = policy(mode).storable(Fixtures.get(), response(200, fields(respHeaders)));
    assertThat(outcome(s)).isEqualTo(expected);
  }

  @Test
  void stripKeepsEveryOtherField() {
    Storability s = policy(SetCookie.STRIP).storable(Fixtures.get(), response(200,
        "Cache-Control", "max-age=60", "Set-Cookie", "a=b", "Content-Type", "text/plain", "Set-Cookie", "c=d", "Date", date(0)));
    assertThat(((Storability.Store) s).headers().names()).containsExactly("cache-control", "content-type", "date");
  }

  @DisplayName("a 304 never adds a cookie to a stored response unless set-cookie is store")
  @ParameterizedTest(name = "[{index}] {0} -> {1}")
  @CsvSource({"PASS, false", "STRIP, false", "STORE, true"})
  void merge304(SetCookie mode, boolean kept) {
    EntryMeta stored = entry("Cache-Control", "max-age=60", "ETag", "\"a\"", "Date", date(0));
    EntryMeta merged = policy(mode).merge304(stored, response(304, "ETag", "\"a\"", "Set-Cookie", "s=1", "X-A", "2"),
        at(100), at(100));
    assertThat(merged.headers().get("X-A")).isEqualTo("2");
    assertThat(merged.headers().contains("Set-Cookie")).isEqualTo(kept);
  }

  @DisplayName("an entry stored with a cookie under set-cookie: store is served without it after a switch to pass or strip")
  @ParameterizedTest(name = "[{index}] {0} -> {1}")
  @CsvSource({"PASS, false", "STRIP, false", "STORE, true"})
  void storedCookiesAreServedOnlyInStoreMode(SetCookie mode, boolean served) {
    EntryMeta stored = entry("Cache-Control", "max-age=60", "Set-Cookie", "s=1", "Set-Cookie2", "t=2", "Date", date(0));
    Headers h = policy(mode).responseHeaders(stored, at(10));
    assertThat(h.contains("Set-Cookie")).isEqualTo(served);
    assertThat(h.contains("Set-Cookie2")).isEqualTo(served);
    assertThat(h.get("Age")).isEqualTo("10");
    assertThat(h.get("Cache-Control")).isEqualTo("max-age=60");
  }
}
