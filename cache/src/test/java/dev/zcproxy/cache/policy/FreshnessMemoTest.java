package dev.zcproxy.cache.policy;

import static dev.zcproxy.cache.policy.Fixtures.T0;
import static dev.zcproxy.cache.policy.Fixtures.URI;
import static dev.zcproxy.cache.policy.Fixtures.at;
import static dev.zcproxy.cache.policy.Fixtures.date;
import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.Headers;
import org.junit.jupiter.api.Test;

/**
 * The freshness a policy keeps in an entry's headers ({@link Headers#derived}) answers for that entry and that
 * policy only: metas sharing one header list, a soft-purged copy and another site's policy each get their own.
 */
class FreshnessMemoTest {
  private static EntryMeta entry(Headers h, long requestTime, long responseTime, long invalidatedAt) {
    return new EntryMeta(URI, "", 200, h, requestTime, responseTime, 1000, 0, invalidatedAt);
  }

  @Test
  void metasSharingOneHeaderListEachGetTheirOwnAge() {
    CachePolicy policy = new CachePolicy(PolicyConfig.defaults());
    Headers h = Headers.of("Cache-Control", "max-age=600");
    EntryMeta early = entry(h, T0, T0, 0);
    EntryMeta late = entry(h, at(100), at(100), 0);
    for (int round = 0; round < 3; round++) { // alternating: each read replaces the other's memo
      assertThat(policy.ageSeconds(early, at(200))).isEqualTo(200);
      assertThat(policy.ageSeconds(late, at(200))).isEqualTo(100);
    }
  }

  @Test
  void aSoftPurgedCopyIsStaleWhileTheOriginalIsFresh() {
    CachePolicy policy = new CachePolicy(PolicyConfig.defaults());
    Headers h = Headers.of("Cache-Control", "max-age=600");
    EntryMeta original = entry(h, T0, T0, 0);
    EntryMeta purged = entry(h, T0, T0, at(10));
    for (int round = 0; round < 3; round++) {
      assertThat(policy.lifetimeSeconds(original)).isEqualTo(600);
      assertThat(policy.lifetimeSeconds(purged)).isEqualTo(10);
    }
  }

  @Test
  void twoPoliciesOnOneEntryEachUseTheirOwnConfig() {
    CachePolicy tenth = new CachePolicy(PolicyConfig.defaults()); // heuristic 10% of Date - Last-Modified
    CachePolicy half = new CachePolicy(new PolicyConfig(0.5, 86_400, 3_600, true, true, 16, Long.MAX_VALUE));
    EntryMeta e = entry(Headers.of("Date", date(0), "Last-Modified", date(-1000)), T0, T0, 0);
    for (int round = 0; round < 3; round++) {
      assertThat(tenth.lifetimeSeconds(e)).isEqualTo(100);
      assertThat(half.lifetimeSeconds(e)).isEqualTo(500);
    }
  }

  @Test
  void theSharedEmptyHeaderListKeepsNoEntry() {
    CachePolicy policy = new CachePolicy(PolicyConfig.defaults());
    EntryMeta bare = entry(Headers.empty(), T0, T0, 0);
    assertThat(policy.lifetimeSeconds(bare)).isZero();
    assertThat(policy.ageSeconds(bare, at(5))).isEqualTo(5);
    assertThat(Headers.empty().derived()).isNull();
  }

  @Test
  void tenThousandEntriesAskedInTurnKeepTheirOwnLifetimes() {
    CachePolicy policy = new CachePolicy(PolicyConfig.defaults());
    EntryMeta[] es = new EntryMeta[10_000];
    for (int i = 0; i < es.length; i++) {
      es[i] = entry(Headers.of("Cache-Control", "max-age=" + (i + 1)), T0, T0, 0);
    }
    for (int round = 0; round < 2; round++) {
      for (int i = 0; i < es.length; i++) {
        assertThat(policy.lifetimeSeconds(es[i])).isEqualTo(i + 1);
      }
    }
  }

  @Test
  void anEntryWithItsOwnHeaderListKeepsItsFreshnessThereOnly() {
    CachePolicy policy = new CachePolicy(PolicyConfig.defaults());
    EntryMeta[] es = new EntryMeta[100];
    for (int i = 0; i < es.length; i++) {
      es[i] = entry(Headers.of("Cache-Control", "max-age=" + (i + 1)), T0, T0, 0);
      assertThat(policy.lifetimeSeconds(es[i])).isEqualTo(i + 1);
    }
    assertThat(policy.memoizedElsewhere()).isZero();
    EntryMeta sharing = entry(es[0].headers(), at(5), at(5), 0); // the slot is taken: this one goes to the memo
    assertThat(policy.ageSeconds(sharing, at(10))).isEqualTo(5);
    assertThat(policy.memoizedElsewhere()).isEqualTo(1);
    assertThat(policy.ageSeconds(es[0], at(10))).isEqualTo(10);
  }

  @Test
  void aStoredUnqualifiedNoCacheIsRevalidatedOnEveryLookupAndAQualifiedOneIsNot() {
    CachePolicy policy = new CachePolicy(PolicyConfig.defaults());
    EntryMeta bare = entry(Headers.of("Cache-Control", "no-cache, max-age=600"), T0, T0, 0);
    EntryMeta qualified = entry(Headers.of("Cache-Control", "no-cache=\"Set-Cookie\", max-age=600"), T0, T0, 0);
    dev.zcproxy.cache.RequestHead req = Fixtures.get();
    for (int round = 0; round < 3; round++) {
      assertThat(policy.select(req, java.util.List.of(bare), at(1))).isInstanceOf(dev.zcproxy.cache.Lookup.Stale.class);
      assertThat(policy.select(req, java.util.List.of(qualified), at(1))).isInstanceOf(dev.zcproxy.cache.Lookup.Fresh.class);
    }
  }
}
