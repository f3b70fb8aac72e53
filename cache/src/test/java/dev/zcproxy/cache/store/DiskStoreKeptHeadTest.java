package dev.zcproxy.cache.store;

import static dev.zcproxy.cache.store.StoreFixture.T0;
import static dev.zcproxy.cache.store.StoreFixture.body;
import static dev.zcproxy.cache.store.StoreFixture.meta;
import static dev.zcproxy.cache.store.StoreFixture.store;
import static org.assertj.core.api.Assertions.assertThat;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.zcproxy.cache.Bans;
import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.Headers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link DiskStore#lookupNow(String, java.util.function.LongFunction)}: a head kept elsewhere with the
 * {@link DiskStore.Indexed} it was read as (the proxy's RAM tier) answers the lookup instead of the head cache only
 * while that very index entry is indexed; a replacement, an update in place, a soft purge, a purge and a ban are
 * each seen by the next lookup, and a key with {@code Vary} responses is looked up as before.
 */
class DiskStoreKeptHeadTest {
  private static final long BIG = 1L << 30;

  @TempDir Path tempDir;
  Path dir;
  StoreFixture fx;

  /** Hundreds of files per repetition: /dev/shm when it is a writable tmpfs. */
  @BeforeEach
  void setUp() throws Exception {
    Path shm = Path.of("/dev/shm");
    dir = Files.isDirectory(shm) && Files.isWritable(shm) ? Files.createTempDirectory(shm, "zcproxy-kept-")
        : tempDir.resolve("cache");
    fx = new StoreFixture(dir);
  }

  @AfterEach
  void tearDown() throws Exception {
    if (!dir.startsWith(tempDir)) {
      try (Stream<Path> s = Files.walk(dir)) {
        for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(p);
        }
      }
    }
  }

  @Test
  void aKeptHeadAnswersWithoutTheHeadCacheWhileItsEntryIsIndexed() {
    try (DiskStore s = fx.open(BIG)) {
      EntryMeta a = store(s, meta("http://a/1", "", T0), body(10, 1));
      DiskStore.Indexed ia = s.indexed(a);
      s.dropHeads();
      assertThat(s.lookupNow("http://a/1")).isNull(); // the head cache alone would read the disk
      assertThat(s.lookupNow("http://a/1", gen -> gen == ia.generation() ? ia : null)).containsExactly(a);
      assertThat(s.indexed(a)).isSameAs(ia); // the hit's next question answered with the same pair
      assertThat(s.cachedHeadCount()).isZero(); // nothing was read into the head cache
    }
  }

  @Test
  void aReplacementIsAnsweredEvenWhenTheKeptSideOffersTheOldHeadForAnyGeneration() {
    try (DiskStore s = fx.open(BIG)) {
      EntryMeta a = store(s, meta("http://a/1", "", T0), body(10, 1));
      DiskStore.Indexed ia = s.indexed(a);
      fx.clock.addAndGet(1000);
      EntryMeta b = store(s, meta("http://a/1", "", fx.clock.get()), body(20, 2));
      assertThat(s.lookupNow("http://a/1", gen -> ia)).containsExactly(b);
      assertThat(s.indexed(b).meta()).isEqualTo(b);
    }
  }

  @Test
  void anUpdateInPlaceAndASoftPurgeKeepTheGenerationButNotTheKeptHead() {
    try (DiskStore s = fx.open(BIG)) {
      EntryMeta a = store(s, meta("http://a/1", "", T0), body(10, 1));
      DiskStore.Indexed ia = s.indexed(a);
      EntryMeta merged = s.update(a, a.withHeaders(Headers.of("Cache-Control", "max-age=600", "ETag", "\"v2\""), T0 + 10,
          T0 + 10)).join(); // a 304 merged in
      DiskStore.Indexed im = s.indexed(merged);
      assertThat(im.generation()).isEqualTo(ia.generation()); // the same file: the RAM tier keeps its body
      assertThat(s.lookupNow("http://a/1", gen -> ia)).containsExactly(merged);

      assertThat(s.softInvalidate("http://a/1", T0 + 20).join()).isEqualTo(1);
      List<EntryMeta> found = s.lookupNow("http://a/1", gen -> im);
      assertThat(found).hasSize(1);
      assertThat(found.get(0).invalidatedAt()).isEqualTo(T0 + 20);
    }
  }

  @Test
  void aPurgeAndABanEndTheKeptHeadsAnswers() {
    try (DiskStore s = fx.open(BIG)) {
      EntryMeta a = store(s, meta("http://a/1", "", T0), body(10, 1));
      DiskStore.Indexed ia = s.indexed(a);
      assertThat(s.invalidate("http://a/1")).isEqualTo(1);
      assertThat(s.lookupNow("http://a/1", gen -> ia)).isEmpty();

      EntryMeta b = store(s, meta("http://a/img/2", "", T0), body(10, 2));
      DiskStore.Indexed ib = s.indexed(b);
      fx.clock.addAndGet(1000);
      s.ban(Bans.Kind.PREFIX, "http://a/img/", "").join();
      assertThat(s.lookupNow("http://a/img/2", gen -> ib)).isEmpty();
      assertThat(s.entryCount()).isZero();
    }
  }

  @Test
  void aKeyWithVaryResponsesIsLookedUpThroughTheHeadCache() {
    try (DiskStore s = fx.open(BIG)) {
      EntryMeta gz = store(s, meta("http://a/1", "accept-encoding=gzip", T0), body(10, 1));
      EntryMeta br = store(s, meta("http://a/1", "accept-encoding=br", T0), body(10, 2));
      DiskStore.Indexed igz = s.indexed(gz);
      assertThat(s.lookupNow("http://a/1", gen -> igz)).containsExactlyInAnyOrder(gz, br);
    }
  }

  /**
   * What the policies see: a hot key whose head the RAM tier answers is not read from the head cache, so that cache's
   * W-TinyLFU no longer counts it; the index's and the RAM tier's reads still do. Read once per five one-hit wonders
   * (each stored, kept, with a head of ~32 KiB, so the 1 MiB head cache and a 50-body tier turn over many times),
   * the hot key is answered at once every time, never by a read of its file.
   */
  @RepeatedTest(200)
  void aHotKeyAnsweredFromTheKeptSideStaysAnsweredAgainstOneHitWonders() {
    // an index heap budget of 2 MiB: a head cache of 1 MiB (its least), about 60 of these heads
    try (DiskStore s = DiskStore.open(new StoreConfig(dir, BIG, false).withIndexHeapBytes(2L << 20), Runnable::run,
        fx.clock::get, m -> m.responseTime() + 3_600_000L)) {
      assertThat(s.headCacheBytes()).isEqualTo(1L << 20);
      Cache<Long, DiskStore.Indexed> ram = Caffeine.newBuilder().maximumSize(50).executor(Runnable::run).build();
      String pad = "x".repeat(16 * 1024);
      EntryMeta hot = store(s, padded("http://a/hot", pad), body(10, 1));
      DiskStore.Indexed ih = s.indexed(hot);
      ram.put(ih.generation(), ih);
      int wonders = 400;
      for (int i = 0; i < wonders; i++) {
        EntryMeta once = store(s, padded("http://a/once/" + i, pad), body(10, 2));
        DiskStore.Indexed io = s.indexed(once);
        if (io != null) {
          ram.put(io.generation(), io);
        }
        if (i % 5 == 0) {
          assertThat(s.lookupNow("http://a/hot", ram::getIfPresent)).as("hot key at %d", i).containsExactly(hot);
        }
      }
      assertThat(s.cachedHeadCount()).isLessThan(wonders / 4); // the head cache did turn over
    }
  }

  private static EntryMeta padded(String url, String pad) {
    return new EntryMeta(url, "", 200, Headers.of("Cache-Control", "max-age=60", "X-Pad", pad), T0 - 5, T0, 0, 0);
  }
}
