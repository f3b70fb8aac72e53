package dev.zcproxy.cache.store;

import static dev.zcproxy.cache.store.StoreFixture.HOUR;
import static dev.zcproxy.cache.store.StoreFixture.T0;
import static dev.zcproxy.cache.store.StoreFixture.body;
import static dev.zcproxy.cache.store.StoreFixture.readBody;
import static dev.zcproxy.cache.store.StoreFixture.store;
import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.CacheKey;
import dev.zcproxy.cache.EntryMeta;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The index is bounded by heap as well as by disk bytes: many tiny objects are evicted like a few
 * big ones, and a restart over more entries than fit indexes only what fits (the rest is deleted).
 */
class IndexHeapBoundTest {
  private static final long BIG_DISK = 1L << 40;

  @TempDir Path dir;
  StoreFixture fx;

  @BeforeEach
  void setUp() {
    fx = new StoreFixture(dir);
  }

  private DiskStore open(long maxBytes, long heapBytes) {
    return DiskStore.open(new StoreConfig(dir, maxBytes, false).withIndexHeapBytes(heapBytes), Runnable::run, fx.clock::get,
        m -> m.responseTime() + HOUR);
  }

  private static StoreEntry entry(int i) {
    EntryMeta m = HeapEstimateTest.typical(i);
    return new StoreEntry(CacheKey.of(m.primaryKey(), m.variant()).hash(), m, i, T0 + HOUR);
  }

  @Test
  void manyTinyEntriesAreEvictedToStayInsideTheHeapBudget() {
    long budget = 1L << 20;
    AtomicInteger gone = new AtomicInteger();
    StoreIndex index = new StoreIndex(BIG_DISK, budget, Runnable::run, () -> T0, e -> gone.incrementAndGet());
    int n = 20_000; // about 20 MiB of heap if all were kept
    long perEntry = entry(0).heapBytes();
    for (int i = 0; i < n; i++) {
      index.put(entry(i));
    }
    index.cleanUp();

    assertThat(index.heapBytes()).isLessThanOrEqualTo(budget).isGreaterThan(budget / 2);
    assertThat(index.entryCount()).isLessThanOrEqualTo(budget / (perEntry - 16)).isGreaterThan(budget / perEntry / 2);
    assertThat(gone.get()).isEqualTo(n - index.entryCount()); // every evicted entry's file is deleted
    assertThat(index.primaryKeyCount()).isZero(); // no Vary: the index keeps no primary key link
    assertThat(index.diskBytes()).isEqualTo(index.entries().stream().mapToLong(e -> e.diskKiB() << 10).sum());
  }

  @Test
  void theDiskBoundStillHoldsAndLoweringTheMaximumKeepsBothBounds() {
    long budget = 4L << 20;
    long disk = 5L << 20; // 1,000 files of 5 KiB fit on disk, about 5,000 entries in the heap budget
    StoreIndex index = new StoreIndex(disk, budget, Runnable::run, () -> T0, e -> { });
    for (int i = 0; i < 3_000; i++) {
      index.put(entry(i));
    }
    index.cleanUp();
    assertThat(index.diskBytes()).isLessThanOrEqualTo(disk).isGreaterThan(disk / 2);
    assertThat(index.heapBytes()).isLessThanOrEqualTo(budget);

    index.setMaximumKiB(index.configuredMaximumKiB() / 4); // e.g. the file system is filling up
    index.cleanUp();
    assertThat(index.diskBytes()).isLessThanOrEqualTo(disk / 4);
    assertThat(index.heapBytes()).isLessThanOrEqualTo(budget / 4);

    index.setMaximumKiB(Long.MAX_VALUE); // never above the configured bounds
    assertThat(index.maximumKiB()).isEqualTo(index.configuredMaximumKiB());
  }

  @Test
  void aStoreFilledPastItsHeapBudgetKeepsOnlyIndexedFilesAndServesThem() {
    try (DiskStore s = open(BIG_DISK, 12 * 1024)) {
      List<EntryMeta> stored = new ArrayList<>();
      for (int i = 0; i < 400; i++) {
        stored.add(store(s, HeapEstimateTest.typical(i).withBody(0, 0), body(100, i)));
      }
      s.cleanUp();

      assertThat(s.indexHeapBytes()).isLessThanOrEqualTo(12 * 1024);
      assertThat(s.entryCount()).isBetween(20L, 100L);
      assertThat(fx.entryFiles()).hasSize((int) s.entryCount()); // evicted entries left the disk too
      int served = 0;
      for (int i = 0; i < stored.size(); i++) {
        List<EntryMeta> v = s.variants(stored.get(i).primaryKey());
        if (!v.isEmpty()) {
          try (OpenEntry e = s.open(v.get(0)).join()) {
            assertThat(readBody(e)).isEqualTo(body(100, i));
          }
          served++;
        }
      }
      assertThat(served).isEqualTo((int) s.entryCount());
    }
  }

  @Test
  void aRestartOverMoreEntriesThanFitIndexesWhatFitsAndDeletesTheRest() {
    List<EntryMeta> stored = new ArrayList<>();
    try (DiskStore s = open(BIG_DISK, 64L << 20)) {
      for (int i = 0; i < 400; i++) {
        stored.add(store(s, HeapEstimateTest.typical(i).withBody(0, 0), body(100, i)));
      }
      assertThat(s.entryCount()).isEqualTo(400);
    }

    // Restart with a twentieth of the heap the entries need (e.g. a smaller -Xmx).
    try (DiskStore s = open(BIG_DISK, 3 * 1024)) {
      s.scanned().join();
      s.cleanUp();

      assertThat(s.indexHeapBytes()).isLessThanOrEqualTo(3 * 1024);
      assertThat(s.entryCount()).isBetween(5L, 25L);
      assertThat(fx.entryFiles()).hasSize((int) s.entryCount());
      Set<String> kept = new HashSet<>();
      for (int i = 0; i < stored.size(); i++) {
        List<EntryMeta> v = s.variants(stored.get(i).primaryKey());
        if (!v.isEmpty()) {
          assertThat(v).containsExactly(stored.get(i));
          try (OpenEntry e = s.open(v.get(0)).join()) {
            assertThat(readBody(e)).isEqualTo(body(100, i));
          }
          kept.add(stored.get(i).primaryKey());
        }
      }
      assertThat(kept).hasSize((int) s.entryCount());
    }

    // The next restart finds only what was kept: it is not read and deleted again on every start.
    try (DiskStore s = open(BIG_DISK, 3 * 1024)) {
      s.scanned().join();
      assertThat(fx.entryFiles()).hasSize((int) s.entryCount());
    }
  }
}
