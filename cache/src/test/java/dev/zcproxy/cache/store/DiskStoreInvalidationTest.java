package dev.zcproxy.cache.store;

import static dev.zcproxy.cache.store.StoreFixture.T0;
import static dev.zcproxy.cache.store.StoreFixture.body;
import static dev.zcproxy.cache.store.StoreFixture.meta;
import static dev.zcproxy.cache.store.StoreFixture.store;
import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.Bans;
import dev.zcproxy.cache.EntryMeta;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Soft purge, bans and tags in the store (the matching itself is tested on its own). */
class DiskStoreInvalidationTest {
  private static final long BIG = 1L << 30;

  @TempDir Path dir;
  StoreFixture fx;

  @BeforeEach
  void setUp() {
    fx = new StoreFixture(dir);
  }

  @Test
  void softInvalidateMarksEveryVariantInTheIndexAndOnDisk() {
    try (DiskStore s = fx.open(BIG)) {
      store(s, meta("http://a/x", "", T0), body(100, 1));
      store(s, meta("http://a/x", "gzip", T0), body(100, 2));
      store(s, meta("http://a/y", "", T0), body(100, 3));

      assertThat(s.softInvalidate("http://a/x", T0 + 7).join()).isEqualTo(2);

      assertThat(s.variants("http://a/x")).extracting(EntryMeta::invalidatedAt).containsOnly(T0 + 7);
      assertThat(s.variants("http://a/y")).extracting(EntryMeta::invalidatedAt).containsOnly(0L);
    }
    try (DiskStore s = fx.open(BIG)) {
      assertThat(s.variants("http://a/x")).hasSize(2).extracting(EntryMeta::invalidatedAt).containsOnly(T0 + 7);
    }
  }

  @Test
  void banRemovesMatchingEntriesStoredBeforeItAtLookupOnly() {
    try (DiskStore s = fx.open(BIG)) {
      for (int i = 0; i < 50; i++) {
        store(s, meta("http://a/img/" + i, "", T0), body(10, i));
        store(s, meta("http://a/css/" + i, "", T0), body(10, i));
      }
      fx.clock.addAndGet(1000);
      Bans.Ban b = s.ban(Bans.Kind.PREFIX, "http://a/img/", "").join();
      assertThat(s.entryCount()).isEqualTo(100); // nothing scanned

      assertThat(s.variants("http://a/img/3")).isEmpty();
      assertThat(s.variants("http://a/css/3")).hasSize(1);
      assertThat(b.removed()).isEqualTo(1);
      assertThat(s.banMatches()).isEqualTo(1);

      // Stored after the ban: not banned.
      fx.clock.addAndGet(1000);
      store(s, meta("http://a/img/3", "", fx.clock.get()), body(10, 3));
      assertThat(s.variants("http://a/img/3")).hasSize(1);
    }
  }

  @Test
  void bansSurviveARestartAndTheSweepShrinksTheList() {
    try (DiskStore s = fx.open(BIG)) {
      for (int i = 0; i < 20; i++) {
        store(s, meta("http://a/x/" + i, "", T0), body(10, i));
      }
      fx.clock.addAndGet(1000);
      s.ban(Bans.Kind.REGEX, "/x/1[0-9]$", "").join();
    }
    try (DiskStore s = fx.open(BIG)) {
      assertThat(s.bans().list()).extracting(Bans.Ban::expression).containsExactly("/x/1[0-9]$");
      assertThat(s.variants("http://a/x/15")).isEmpty();
      assertThat(s.variants("http://a/x/5")).hasSize(1);

      s.sweepBans();
      // Ten matched in all; the ban stays while entries older than it remain.
      assertThat(s.bans().list().get(0).removed()).isEqualTo(10);
      assertThat(s.entryCount()).isEqualTo(10);
      assertThat(s.bans().size()).isEqualTo(1);

      // Once every entry is newer than the ban, the sweep drops it, on disk too.
      for (int i = 0; i < 10; i++) {
        s.remove(dev.zcproxy.cache.CacheKey.of("http://a/x/" + i, ""));
      }
      s.cleanUp();
      fx.clock.addAndGet(1000);
      store(s, meta("http://a/new", "", fx.clock.get()), body(10, 1));
      s.sweepBans();
      assertThat(s.bans().isEmpty()).isTrue();
    }
    try (DiskStore s = fx.open(BIG)) {
      assertThat(s.bans().isEmpty()).isTrue();
    }
  }

  @Test
  void headerBanMatchesStoredHeaders() {
    try (DiskStore s = fx.open(BIG)) {
      store(s, meta("http://a/1", "", T0), body(10, 1));
      EntryMeta tagged = new EntryMeta("http://a/2", "", 200, dev.zcproxy.cache.Headers.of("X-Owner", "team-a"), T0, T0, 0, 0);
      store(s, tagged, body(10, 2));
      s.ban(Bans.Kind.HEADER, "x-owner", "team-a").join();
      assertThat(s.variants("http://a/2")).isEmpty();
      assertThat(s.variants("http://a/1")).hasSize(1);
    }
  }

  private static EntryMeta tagged(String url, String... headers) {
    return new EntryMeta(url, "", 200, dev.zcproxy.cache.Headers.of(headers), T0, T0, 0, 0);
  }

  private DiskStore openTagged() {
    return DiskStore.open(new StoreConfig(dir, BIG, false).withTagHeaders(java.util.List.of("Surrogate-Key", "Cache-Tag")),
        Runnable::run, fx.clock::get, m -> m.responseTime() + StoreFixture.HOUR);
  }

  @Test
  void tagsAreIndexedFromBothHeaderStylesAndPurgedOrSoftPurged() {
    try (DiskStore s = openTagged()) {
      store(s, tagged("http://a/1", "Surrogate-Key", "news  sport"), body(10, 1));
      store(s, tagged("http://a/2", "Cache-Tag", "sport,weather"), body(10, 2));
      store(s, tagged("http://a/3", "X-Other", "sport"), body(10, 3));

      assertThat(s.tagged("sport")).extracting(EntryMeta::primaryKey).containsExactlyInAnyOrder("http://a/1", "http://a/2");
      assertThat(s.softPurgeTag("weather", T0 + 5).join()).isEqualTo(1);
      assertThat(s.variants("http://a/2")).extracting(EntryMeta::invalidatedAt).containsExactly(T0 + 5);
      assertThat(s.tagged("weather")).hasSize(1); // still tagged after the update

      assertThat(s.purgeTag("sport")).isEqualTo(2);
      assertThat(s.variants("http://a/1")).isEmpty();
      assertThat(s.variants("http://a/3")).hasSize(1);
      s.cleanUp();
      assertThat(s.tagged("sport")).isEmpty();
      assertThat(s.tagCount()).isZero(); // every set emptied when its entries left
    }
  }

  @Test
  void theStartupScanRebuildsTheTagIndexAndTagsPerEntryAreCapped() {
    StringBuilder many = new StringBuilder();
    for (int i = 0; i < 100; i++) {
      many.append("t").append(i).append(' ');
    }
    try (DiskStore s = openTagged()) {
      store(s, tagged("http://a/1", "Surrogate-Key", "news"), body(10, 1));
      store(s, tagged("http://a/many", "Surrogate-Key", many.toString()), body(10, 2));
    }
    try (DiskStore s = openTagged()) {
      assertThat(s.tagged("news")).extracting(EntryMeta::primaryKey).containsExactly("http://a/1");
      assertThat(s.tagged("t0")).hasSize(1);
      assertThat(s.tagged("t" + (TagIndex.MAX_TAGS_PER_ENTRY - 1))).hasSize(1);
      assertThat(s.tagged("t" + TagIndex.MAX_TAGS_PER_ENTRY)).isEmpty();
    }
  }
}
