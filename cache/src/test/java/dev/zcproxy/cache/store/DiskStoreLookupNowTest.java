package dev.zcproxy.cache.store;

import static dev.zcproxy.cache.store.StoreFixture.T0;
import static dev.zcproxy.cache.store.StoreFixture.body;
import static dev.zcproxy.cache.store.StoreFixture.meta;
import static dev.zcproxy.cache.store.StoreFixture.store;
import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.Bans;
import dev.zcproxy.cache.EntryMeta;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The hit path's lookup ({@link DiskStore#lookupNow}, {@link DiskStore#indexed}): what a thread remembers of its last
 * answer (the head-cache key, the one-head list, the {@link DiskStore.Indexed}) never stands in for the index or the
 * head cache. A replaced entry, a dropped head, a ban and a {@code Vary} variant indexed later are all seen by the
 * very next lookup on the same thread.
 */
class DiskStoreLookupNowTest {
  private static final long BIG = 1L << 30;

  @TempDir Path dir;
  StoreFixture fx;

  @BeforeEach
  void setUp() {
    fx = new StoreFixture(dir);
  }

  @Test
  void aRepeatedLookupAnswersTheSameHeadAndTheReplacementOnceStored() {
    try (DiskStore s = fx.open(BIG)) {
      EntryMeta a = store(s, meta("http://a/1", "", T0), body(10, 1));
      List<EntryMeta> first = s.lookupNow("http://a/1");
      assertThat(first).containsExactly(a);
      assertThat(s.lookupNow("http://a/1")).containsExactly(a);
      DiskStore.Indexed ia = s.indexed(a);
      assertThat(ia.meta()).isEqualTo(a);
      assertThat(s.indexed(a)).isEqualTo(ia);

      fx.clock.addAndGet(1000);
      EntryMeta b = store(s, meta("http://a/1", "", fx.clock.get()), body(20, 2)); // a new file for the same key
      assertThat(b).isNotEqualTo(a);
      assertThat(s.lookupNow("http://a/1")).containsExactly(b);
      DiskStore.Indexed ib = s.indexed(b);
      assertThat(ib.meta()).isEqualTo(b);
      assertThat(ib.generation()).isNotEqualTo(ia.generation());
      assertThat(s.indexed(a).generation()).isEqualTo(ib.generation()); // the key's file now: b's
      assertThat(first).containsExactly(a); // a list handed out earlier does not change
    }
  }

  @Test
  void aHeadDroppedFromTheHeadCacheIsNotAnsweredFromTheThreadsLastLookup() {
    try (DiskStore s = fx.open(BIG)) {
      EntryMeta a = store(s, meta("http://a/1", "", T0), body(10, 1));
      assertThat(s.lookupNow("http://a/1")).containsExactly(a);
      s.dropHeads();
      assertThat(s.lookupNow("http://a/1")).isNull(); // would read the disk: the normal path's
      assertThat(s.lookup("http://a/1").join()).containsExactly(a); // read back into the head cache
      assertThat(s.lookupNow("http://a/1")).containsExactly(a);
    }
  }

  @Test
  void aBanMadeAfterALookupAppliesToTheNextOneAndRemovesTheEntry() {
    try (DiskStore s = fx.open(BIG)) {
      EntryMeta a = store(s, meta("http://a/img/1", "", T0), body(10, 1));
      assertThat(s.lookupNow("http://a/img/1")).containsExactly(a);
      fx.clock.addAndGet(1000);
      Bans.Ban ban = s.ban(Bans.Kind.PREFIX, "http://a/img/", "").join();
      assertThat(s.lookupNow("http://a/img/1")).isEmpty();
      assertThat(ban.removed()).isEqualTo(1);
      assertThat(s.banMatches()).isEqualTo(1);
      assertThat(s.lookupNow("http://a/img/1")).isEmpty(); // gone from the index: nothing to look up
      assertThat(s.entryCount()).isZero();
    }
  }

  @Test
  void aVaryVariantIndexedAfterAPlainLookupIsListedWithTheOthers() {
    try (DiskStore s = fx.open(BIG)) {
      EntryMeta plain = store(s, meta("http://a/2", "", T0), body(10, 1)); // no Vary anywhere: the one-entry path
      assertThat(s.lookupNow("http://a/2")).containsExactly(plain);
      assertThat(s.lookupNow("http://a/none")).isEmpty();

      EntryMeta gz = store(s, meta("http://a/v", "gzip", T0), body(10, 2));
      EntryMeta br = store(s, meta("http://a/v", "br", T0), body(12, 3));
      assertThat(s.lookupNow("http://a/v")).containsExactlyInAnyOrder(gz, br);
      assertThat(s.lookupNow("http://a/2")).containsExactly(plain); // still found with variants indexed elsewhere
      assertThat(s.lookupNow("http://a/none")).isEmpty();
    }
  }

  @Test
  void aLookupOfAnotherUrlBetweenTwoOfTheSameAnswersEachItsOwnHead() {
    try (DiskStore s = fx.open(BIG)) {
      EntryMeta a = store(s, meta("http://a/1", "", T0), body(10, 1));
      EntryMeta b = store(s, meta("http://a/2", "", T0), body(10, 2));
      for (int i = 0; i < 3; i++) {
        assertThat(s.lookupNow("http://a/1")).containsExactly(a);
        assertThat(s.indexed(a).meta()).isEqualTo(a);
        assertThat(s.lookupNow("http://a/2")).containsExactly(b);
        assertThat(s.indexed(b).meta()).isEqualTo(b);
      }
    }
  }
}
