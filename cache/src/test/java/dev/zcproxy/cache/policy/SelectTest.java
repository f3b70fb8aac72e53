package dev.zcproxy.cache.policy;

import static dev.zcproxy.cache.policy.Fixtures.POLICY;
import static dev.zcproxy.cache.policy.Fixtures.T0;
import static dev.zcproxy.cache.policy.Fixtures.at;
import static dev.zcproxy.cache.policy.Fixtures.date;
import static dev.zcproxy.cache.policy.Fixtures.fields;
import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.Headers;
import dev.zcproxy.cache.Lookup;
import dev.zcproxy.cache.RequestHead;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SelectTest {

  static String outcome(Lookup l) {
    if (l instanceof Lookup.Fresh f) {
      return "fresh " + f.ageSeconds();
    }
    if (l instanceof Lookup.Stale s) {
      return switch (s.action()) {
        case REVALIDATE -> "revalidate";
        case SERVE_STALE -> "serve-stale";
        case SERVE_STALE_AND_REVALIDATE -> "swr";
      };
    }
    Lookup.Miss m = (Lookup.Miss) l;
    return "miss " + m.detail() + (m.onlyIfCached() ? " only-if-cached" : "");
  }

  @DisplayName("freshness and request/response directives at lookup, RFC 9111 §4.2, §5.2, RFC 5861")
  @ParameterizedTest(name = "[{index}] req [{0}] resp [{1}] at +{2}s -> {3}")
  @CsvSource(delimiter = ';', nullValues = "-", value = {
      // §4.2 fresh / stale
      "-; Cache-Control: max-age=60; 10; fresh 10",
      "-; Cache-Control: max-age=60; 59; fresh 59",
      "-; Cache-Control: max-age=60; 60; revalidate",
      "-; Cache-Control: max-age=60|Age: 50; 10; revalidate",
      "-; Cache-Control: max-age=0; 0; revalidate",
      "-; Expires: 0; 0; revalidate",
      // §5.2.1.4 request no-cache, §5.4 Pragma
      "Cache-Control: no-cache; Cache-Control: max-age=60; 10; revalidate",
      "Pragma: no-cache; Cache-Control: max-age=60; 10; revalidate",
      "Pragma: no-cache|Cache-Control: max-stale; Cache-Control: max-age=60; 10; fresh 10",
      "Cache-Control: no-cache; Cache-Control: max-age=60, immutable; 10; revalidate",
      // §5.2.2.4 response no-cache
      "-; Cache-Control: no-cache, max-age=60; 10; revalidate",
      "-; Cache-Control: no-cache=\"X-A\", max-age=60; 10; fresh 10",
      "-; CDN-Cache-Control: no-cache|Cache-Control: max-age=600; 10; revalidate",
      // §5.2.1.1 request max-age
      "Cache-Control: max-age=0; Cache-Control: max-age=60; 0; revalidate",
      "Cache-Control: max-age=30; Cache-Control: max-age=60; 30; fresh 30",
      "Cache-Control: max-age=30; Cache-Control: max-age=60; 31; revalidate",
      "Cache-Control: max-age=30, max-stale; Cache-Control: max-age=60; 90; revalidate",
      "Cache-Control: max-age=abc; Cache-Control: max-age=60; 10; revalidate",
      // §5.2.1.3 min-fresh
      "Cache-Control: min-fresh=30; Cache-Control: max-age=60; 30; fresh 30",
      "Cache-Control: min-fresh=30; Cache-Control: max-age=60; 31; revalidate",
      // §5.2.1.5 request no-store: a stored response is not used either
      "Cache-Control: no-store; Cache-Control: max-age=60; 10; miss request",
      "Cache-Control: no-store, only-if-cached; Cache-Control: max-age=60; 10; miss request only-if-cached",
      // §5.2.1.2 max-stale
      "Cache-Control: max-stale; Cache-Control: max-age=60; 1000; serve-stale",
      "Cache-Control: max-stale=10; Cache-Control: max-age=60; 70; serve-stale",
      "Cache-Control: max-stale=10; Cache-Control: max-age=60; 71; revalidate",
      "Cache-Control: max-stale=-1; Cache-Control: max-age=60; 61; revalidate",
      "Cache-Control: max-stale; Cache-Control: max-age=60, must-revalidate; 61; revalidate",
      "Cache-Control: max-stale; Cache-Control: max-age=60, proxy-revalidate; 61; revalidate",
      "Cache-Control: max-stale; Cache-Control: s-maxage=60; 61; revalidate",
      "Cache-Control: max-stale; Cache-Control: no-cache, max-age=60; 61; revalidate",
      // RFC 5861 §3 stale-while-revalidate
      "-; Cache-Control: max-age=60, stale-while-revalidate=30; 70; swr",
      "-; Cache-Control: max-age=60, stale-while-revalidate=30; 90; swr",
      "-; Cache-Control: max-age=60, stale-while-revalidate=30; 91; revalidate",
      "-; Cache-Control: max-age=60, stale-while-revalidate=30; 30; fresh 30",
      "-; Cache-Control: max-age=60, stale-while-revalidate=30, must-revalidate; 70; revalidate",
      "-; Cache-Control: max-age=60, stale-while-revalidate=30, proxy-revalidate; 70; revalidate",
      "-; Cache-Control: s-maxage=60, stale-while-revalidate=30; 70; swr",
      "-; Cache-Control: max-age=60, stale-while-revalidate=x; 70; revalidate",
      "-; CDN-Cache-Control: max-age=60, stale-while-revalidate=30; 70; swr",
      // §5.2.1.7 only-if-cached
      "Cache-Control: only-if-cached; Cache-Control: max-age=60; 10; fresh 10",
      "Cache-Control: only-if-cached; Cache-Control: max-age=60; 61; miss stale only-if-cached",
      "Cache-Control: only-if-cached, max-stale; Cache-Control: max-age=60; 61; serve-stale",
      "Cache-Control: only-if-cached, no-cache; Cache-Control: max-age=60; 10; miss request only-if-cached",
      "Cache-Control: only-if-cached; Cache-Control: max-age=60, stale-while-revalidate=30; 70; swr",
  })
  void lookup_9111_4_2(String reqHeaders, String respHeaders, long nowSeconds, String expected) {
    Headers rh = Headers.of(fields(respHeaders)).toBuilder().add("Date", date(0)).build();
    EntryMeta e = new EntryMeta(Fixtures.URI, "", 200, rh, T0, T0, 10, 0);
    Lookup l = POLICY.select(Fixtures.get(fields(reqHeaders)), List.of(e), at(nowSeconds));
    assertThat(outcome(l)).isEqualTo(expected);
  }

  @Test
  @DisplayName("nothing stored for the URI is a uri-miss, RFC 9211 §2.5")
  void emptyVariantsAreUriMiss_9111_4() {
    assertThat(outcome(POLICY.select(Fixtures.get(), List.of(), T0))).isEqualTo("miss uri-miss");
    assertThat(outcome(POLICY.select(Fixtures.get("Cache-Control", "only-if-cached"), List.of(), T0)))
        .isEqualTo("miss uri-miss only-if-cached");
  }

  @DisplayName("a variant in the Content-Language the request prefers most is selected, RFC 9111 §4.1, RFC 9110 §12.5.4")
  @ParameterizedTest(name = "[{index}] Vary: {0}, stored [{1}] in [{2}], new [{3}] -> {4}")
  @CsvSource(delimiter = '#', nullValues = "-", value = {
      "Accept-Language # Accept-Language: en, de # de # Accept-Language: fr;q=0.5, de;q=1.0 # fresh 1",
      "Accept-Language # Accept-Language: en, de # de # Accept-Language: DE # fresh 1",
      "Accept-Language # Accept-Language: en, de # De # Accept-Language: de, fr # fresh 1",
      "Accept-Language # Accept-Language: en, de # de # Accept-Language: fr, de;q=0.9 # miss vary-miss",
      "Accept-Language # Accept-Language: en, de # de # Accept-Language: de-ch # miss vary-miss",
      "Accept-Language # Accept-Language: en, de # de-CH # Accept-Language: de # miss vary-miss",
      "Accept-Language # Accept-Language: en, de # de # Accept-Language: * # miss vary-miss",
      "Accept-Language # Accept-Language: en, de # de # Accept-Language: de;q=0 # miss vary-miss",
      "Accept-Language # Accept-Language: en, de # de # - # miss vary-miss",
      "Accept-Language # Accept-Language: en, de # de, en # Accept-Language: de # miss vary-miss",
      "Accept-Language # Accept-Language: en, de # - # Accept-Language: de # miss vary-miss",
      "Accept-Language, Foo # Accept-Language: en, de|Foo: 1 # de # Accept-Language: de|Foo: 1 # fresh 1",
      "Accept-Language, Foo # Accept-Language: en, de|Foo: 1 # de # Accept-Language: de|Foo: 2 # miss vary-miss",
  })
  void contentLanguageSelection_9111_4_1(String vary, String storedReq, String contentLanguage, String newReq,
      String expected) {
    RequestHead original = Fixtures.get(fields(storedReq));
    Headers.Builder h = Headers.builder().add("Cache-Control", "max-age=60").add("Date", date(0)).add("Vary", vary);
    if (contentLanguage != null) {
      h.add("Content-Language", contentLanguage);
    }
    Storability.Store store = (Storability.Store) POLICY.storable(original, new dev.zcproxy.cache.ResponseHead(200, h.build()));
    EntryMeta e = new EntryMeta(Fixtures.URI, store.variant(), 200, store.headers(), T0, T0, 10, 0);
    assertThat(outcome(POLICY.select(Fixtures.get(fields(newReq)), List.of(e), at(1)))).isEqualTo(expected);
  }

  /** Stores a response varying on {@code vary} for a request with {@code storedReq}, then looks up {@code newReq}. */
  private static String varyLookup(String vary, String storedReq, String newReq) {
    RequestHead original = Fixtures.get(fields(storedReq));
    var resp = Fixtures.response(200, "Cache-Control", "max-age=60", "Date", date(0), "Vary", vary);
    Storability s = POLICY.storable(original, resp);
    if (!(s instanceof Storability.Store store)) {
      return "not stored";
    }
    EntryMeta e = new EntryMeta(Fixtures.URI, store.variant(), 200, store.headers(), T0, T0, 10, 0);
    return outcome(POLICY.select(Fixtures.get(fields(newReq)), List.of(e), at(1)));
  }

  @DisplayName("Vary selects stored variants by the request fields it names, RFC 9111 §4.1")
  @ParameterizedTest(name = "[{index}] Vary: {0}, stored [{1}], new [{2}] -> {3}")
  @CsvSource(delimiter = ';', nullValues = "-", value = {
      "Foo; Foo: 1; Foo: 1; fresh 1",
      "Foo; Foo: 1; Foo: 2; miss vary-miss",
      "Foo; Foo: 1; -; miss vary-miss",
      "Foo; -; Foo: 1; miss vary-miss",
      "Foo; -; -; fresh 1",
      "Foo; Foo: ; -; miss vary-miss",
      "Foo; Foo: ; Foo: ; fresh 1",
      "Foo; Foo: 1|Other: 2; Foo: 1|Other: 3; fresh 1",
      "foo; Foo: 1; FOO: 1; fresh 1",
      "Foo, Bar; Foo: 1|Bar: abc; Bar: abc|Foo: 1; fresh 1",
      "Foo, Bar; Foo: 1|Bar: abc; Foo: 2|Bar: abc; miss vary-miss",
      "Foo, Bar; Foo: 1; -; miss vary-miss",
      "Foo, Bar, Baz; Foo: 1|Baz: 789; Foo: 1|Baz: 789; fresh 1",
      "Foo, Bar, Baz; Foo: 1|Bar: abc4|Baz: 789; Foo: 1|Bar: abc|Baz: 789; miss vary-miss",
      "Foo; Foo: 1,2; Foo:  1 ,  2 ; fresh 1",
      "Foo; Foo: 1, 2; Foo: 1|Foo: 2; fresh 1",
      "Foo; Foo: a b; Foo: a  b; miss vary-miss",
      "*; Foo: 1; Foo: 1; not stored",
  })
  void varySelection_9111_4_1(String vary, String storedReq, String newReq, String expected) {
    assertThat(varyLookup(vary, storedReq, newReq)).isEqualTo(expected);
  }

  @Test
  @DisplayName("a stored Vary: * never matches, RFC 9111 §4.1")
  void varyStarNeverMatches_9111_4_1() {
    EntryMeta e = new EntryMeta(Fixtures.URI, "", 200,
        Headers.of("Cache-Control", "max-age=60", "Vary", "*", "Date", date(0)), T0, T0, 10, 0);
    assertThat(outcome(POLICY.select(Fixtures.get(), List.of(e), at(1)))).isEqualTo("miss vary-miss");
  }

  @Test
  @DisplayName("of several matching variants the most recent is used, RFC 9111 §4.1")
  void mostRecentMatchWins_9111_4_1() {
    List<EntryMeta> variants = new ArrayList<>();
    variants.add(new EntryMeta(Fixtures.URI, "foo=1", 200,
        Headers.of("Vary", "Foo", "Cache-Control", "max-age=600", "Date", date(10), "X-N", "older"), at(10), at(10), 1, 0));
    variants.add(new EntryMeta(Fixtures.URI, "foo=1", 200,
        Headers.of("Vary", "Foo", "Cache-Control", "max-age=600", "Date", date(20), "X-N", "newer"), at(20), at(20), 1, 0));
    variants.add(new EntryMeta(Fixtures.URI, "foo=2", 200,
        Headers.of("Vary", "Foo", "Cache-Control", "max-age=600", "Date", date(30), "X-N", "other"), at(30), at(30), 1, 0));
    variants.add(new EntryMeta(Fixtures.URI, "foo=1", 200,
        Headers.of("Vary", "Foo", "Cache-Control", "max-age=600", "Date", date(20), "X-N", "newest"), at(19), at(21), 1, 0));
    Lookup l = POLICY.select(Fixtures.get("Foo", "1"), variants, at(40));
    assertThat(((Lookup.Fresh) l).entry().headers().get("X-N")).isEqualTo("newest");
  }

  @Test
  @DisplayName("Accept-Language is normalised for Vary: order of equal weights, case and spaces do not matter, RFC 9111 §4.1")
  void acceptLanguageNormalisation_9111_4_1() {
    assertThat(varyLookup("Accept-Language", "Accept-Language: en, de", "Accept-Language: de, en")).isEqualTo("fresh 1");
    assertThat(varyLookup("Accept-Language", "Accept-Language: en, de", "Accept-Language: eN, De")).isEqualTo("fresh 1");
    assertThat(varyLookup("Accept-Language", "Accept-Language: en, de", "Accept-Language:  en ,   de")).isEqualTo("fresh 1");
    assertThat(varyLookup("Accept-Language", "Accept-Language: en;q=0.5, de", "Accept-Language: de;q=1.0, EN;Q=0.50"))
        .isEqualTo("fresh 1");
    // Different weights are a different preference: another variant.
    assertThat(varyLookup("Accept-Language", "Accept-Language: en;q=0.5, de", "Accept-Language: en, de;q=0.5"))
        .isEqualTo("miss vary-miss");
  }
}
