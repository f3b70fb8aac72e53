package dev.zcproxy.cache.policy;

import static dev.zcproxy.cache.policy.Fixtures.POLICY;
import static dev.zcproxy.cache.policy.Fixtures.at;
import static dev.zcproxy.cache.policy.Fixtures.entry;
import static dev.zcproxy.cache.policy.Fixtures.get;
import static dev.zcproxy.cache.policy.Fixtures.response;
import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.Lookup;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A soft-purged entry is stale from its purge on, and only from then (fake clock: {@code Fixtures.at}). */
class SoftPurgeTest {

  @Test
  void freshEntryIsStaleFromItsSoftPurgeOn() {
    EntryMeta e = entry("Cache-Control", "max-age=600", "ETag", "\"a\"").withInvalidatedAt(at(100));
    assertThat(POLICY.select(get(), List.of(e), at(99))).isInstanceOf(Lookup.Fresh.class);
    Lookup l = POLICY.select(get(), List.of(e), at(100));
    assertThat(l).isInstanceOf(Lookup.Stale.class);
    assertThat(((Lookup.Stale) l).action()).isEqualTo(Lookup.Action.REVALIDATE);
    assertThat(POLICY.ageSeconds(e, at(100))).isEqualTo(100); // the age is not changed
  }

  @Test
  void staleIfErrorCountsFromThePurge() {
    EntryMeta e = entry("Cache-Control", "max-age=600, stale-if-error=60").withInvalidatedAt(at(100));
    assertThat(POLICY.staleIfError(get(), e, at(160))).isTrue();
    assertThat(POLICY.staleIfError(get(), e, at(161))).isFalse();
  }

  @Test
  void stillRetainedSoThatTheNextRequestRevalidates() {
    EntryMeta e = entry("Cache-Control", "max-age=600", "ETag", "\"a\"");
    EntryMeta purged = e.withInvalidatedAt(at(0));
    assertThat(POLICY.retainUntil(purged)).isEqualTo(POLICY.retainUntil(e)).isGreaterThan(at(600));
  }

  @Test
  void alreadyStaleEntryKeepsItsOwnStaleness() {
    EntryMeta e = entry("Cache-Control", "max-age=10, stale-if-error=60").withInvalidatedAt(at(100));
    assertThat(POLICY.staleIfError(get(), e, at(70))).isTrue();
    assertThat(POLICY.staleIfError(get(), e, at(71))).isFalse();
  }

  @Test
  void revalidationClearsTheMark() {
    EntryMeta e = entry("Cache-Control", "max-age=600", "ETag", "\"a\"").withInvalidatedAt(at(100));
    EntryMeta merged = POLICY.merge304(e, response(304, "ETag", "\"a\""), at(200), at(200));
    assertThat(merged.invalidatedAt()).isZero();
    assertThat(POLICY.select(get(), List.of(merged), at(201))).isInstanceOf(Lookup.Fresh.class);
  }

  @Test
  void anEarlierPurgeWins() {
    EntryMeta e = entry("Cache-Control", "max-age=600").withInvalidatedAt(at(100)).withInvalidatedAt(at(200));
    assertThat(e.invalidatedAt()).isEqualTo(at(100));
  }
}
