package dev.zcproxy.cache.policy;

import static dev.zcproxy.cache.policy.Fixtures.T0;
import static dev.zcproxy.cache.policy.Fixtures.URI;
import static dev.zcproxy.cache.policy.Fixtures.at;
import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.Headers;
import dev.zcproxy.cache.Lookup;
import dev.zcproxy.cache.RequestHead;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What a lookup keeps in header lists ({@link Headers#derived}): a request's directives with the request's fields (the
 * front hit path offers one list again for a repeated head), an entry's {@code Vary} with the entry's freshness. Every
 * repeated lookup decides as the first one did.
 */
class RequestDirectivesMemoTest {
  private static EntryMeta entry(String variant, Headers h) {
    return new EntryMeta(URI, variant, 200, h, T0, T0, 1000, 0, 0);
  }

  private static RequestHead get(Headers h) {
    return new RequestHead("GET", "http", "example.com", "/a", h);
  }

  private static Lookup select(CachePolicy policy, Headers request, EntryMeta... stored) {
    return policy.select(get(request), List.of(stored), at(10));
  }

  @Test
  void aRepeatedRequestListDecidesAlikeEveryTime() {
    CachePolicy policy = new CachePolicy(PolicyConfig.defaults());
    EntryMeta e = entry("", Headers.of("Cache-Control", "max-age=600"));
    Headers plain = Headers.of("Host", "example.com");
    Headers noCache = Headers.of("Host", "example.com", "Cache-Control", "no-cache");
    Headers pragma = Headers.of("Host", "example.com", "Pragma", "no-cache");
    Headers pragmaAndCc = Headers.of("Host", "example.com", "Pragma", "no-cache", "Cache-Control", "max-stale");
    Headers maxAge = Headers.of("Host", "example.com", "Cache-Control", "max-age=5");
    Headers noStore = Headers.of("Host", "example.com", "Cache-Control", "no-store");
    for (int round = 0; round < 3; round++) {
      assertThat(select(policy, plain, e)).isInstanceOf(Lookup.Fresh.class);
      assertThat(select(policy, noCache, e)).isInstanceOfSatisfying(Lookup.Stale.class,
          s -> assertThat(s.action()).isEqualTo(Lookup.Action.REVALIDATE));
      assertThat(select(policy, pragma, e)).isInstanceOf(Lookup.Stale.class);
      assertThat(select(policy, pragmaAndCc, e)).isInstanceOf(Lookup.Fresh.class); // Pragma only without Cache-Control
      assertThat(select(policy, maxAge, e)).isInstanceOf(Lookup.Stale.class); // age 10 > max-age 5
      assertThat(select(policy, noStore, e)).isInstanceOf(Lookup.Miss.class);
    }
    assertThat(noCache.derived()).isNotNull();
  }

  @Test
  void anEntryWithVaryMatchesOnlyItsVariantAfterItsMemoIsKept() {
    CachePolicy policy = new CachePolicy(PolicyConfig.defaults());
    EntryMeta gzip = entry("accept-encoding=gzip", Headers.of("Cache-Control", "max-age=600", "Vary", "Accept-Encoding"));
    Headers asksGzip = Headers.of("Accept-Encoding", "gzip");
    Headers asksBr = Headers.of("Accept-Encoding", "br");
    for (int round = 0; round < 3; round++) {
      assertThat(select(policy, asksGzip, gzip)).isInstanceOf(Lookup.Fresh.class);
      assertThat(select(policy, asksBr, gzip)).isInstanceOf(Lookup.Miss.class);
      assertThat(select(policy, Headers.empty(), gzip)).isInstanceOf(Lookup.Miss.class);
    }
    EntryMeta star = entry("", Headers.of("Cache-Control", "max-age=600", "Vary", "*"));
    for (int round = 0; round < 3; round++) {
      assertThat(select(policy, asksGzip, star)).isInstanceOf(Lookup.Miss.class);
    }
  }

  @Test
  void anEntryWithoutVaryMatchesOnlyTheEmptyKey() {
    CachePolicy policy = new CachePolicy(PolicyConfig.defaults());
    Headers h = Headers.of("Cache-Control", "max-age=600");
    EntryMeta plain = entry("", h);
    EntryMeta keyed = entry("accept-encoding=gzip", h); // a key its fields do not give: never a candidate
    Headers asksGzip = Headers.of("Accept-Encoding", "gzip");
    for (int round = 0; round < 3; round++) { // the two share one list: each read replaces the other's memo
      assertThat(select(policy, asksGzip, plain)).isInstanceOf(Lookup.Fresh.class);
      assertThat(select(policy, asksGzip, keyed)).isInstanceOf(Lookup.Miss.class);
    }
  }

  @Test
  void oneListAsBothAStoredHeadAndARequestKeepsEachAnswer() {
    CachePolicy policy = new CachePolicy(PolicyConfig.defaults());
    Headers h = Headers.of("Cache-Control", "max-age=600, no-cache");
    EntryMeta e = entry("", h);
    for (int round = 0; round < 3; round++) { // the request's directives and the entry's freshness take turns in the slot
      assertThat(select(policy, h, e)).isInstanceOf(Lookup.Stale.class);
      assertThat(policy.lifetimeSeconds(e)).isEqualTo(600);
    }
  }
}
