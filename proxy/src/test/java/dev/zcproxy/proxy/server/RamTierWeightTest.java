package dev.zcproxy.proxy.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.EncodedHead;
import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.Headers;
import dev.zcproxy.cache.store.DiskStore;
import dev.zcproxy.cache.store.EntryWriter;
import dev.zcproxy.cache.store.StoreConfig;
import dev.zcproxy.proxy.config.ProxyConfig;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import dev.zcproxy.proxy.internal.RamBody;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * The RAM tier's bound counts what a kept body holds in memory (heap, and direct memory for its bytes when off the
 * heap): its bytes, its head once encoded, and the index's entry and meta the body pins with that head. Before, a 1 KiB body with its head weighed ~1.4 KB while it held
 * ~2.3 KB, so a tier of small bodies took more heap than {@code cache.ram-size}.
 */
class RamTierWeightTest {
  private static final long T = 1_700_000_000_000L;
  private static final int N = 2000;
  private static final int SIZE = 1024;

  @TempDir
  Path dir;

  @Test
  void aBodyWithItsHeadWeighsWhatItPins() throws Exception {
    DiskStore store = store();
    List<DiskStore.Indexed> indexed = fill(store, 1);
    RamTier tier = tier(1 << 20);
    keep(tier, indexed);
    DiskStore.Indexed i = indexed.get(0);
    RamTier.Kept kept = tier.peek(i.generation());
    assertThat(kept.head()).isNotNull();
    assertThat(tier.weightedSize()).isEqualTo(RamTier.weight(kept))
        .isGreaterThanOrEqualTo(SIZE + kept.head().head().retainedBytes() + i.heapBytes() + RamTier.OVERHEAD);
    store.close();
  }

  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void smallBodiesWithHeadsHoldNoMoreMemoryThanTheBound(boolean direct) throws Exception {
    DiskStore store = store();
    List<DiskStore.Indexed> indexed = fill(store, N);
    // room for all of them; a tier as large as the direct limit keeps its bodies on the heap
    RamTier tier = tier(direct ? N * 3000L : Math.max(N * 3000L, RamBody.maxDirectMemory()));
    assertThat(tier.direct()).isEqualTo(direct);
    long before = usedHeap();
    keep(tier, indexed);
    long weighed = tier.weightedSize();
    assertThat(tier.size()).isEqualTo(N);
    store.close();
    store = null;
    indexed = null;
    long held = usedHeap(); // the tier is all that holds the metas now (and the index entries, +64 B each)
    tier = null;
    long dropped = usedHeap();
    long offHeap = direct ? (long) N * SIZE : 0; // the bodies' bytes in direct memory
    long pinned = held - dropped + offHeap;
    System.out.printf("%d bodies of %d B with heads (%s): weighed %d B, pinned %d B (%d on the heap; grew %d B)%n", N,
        SIZE, direct ? "direct" : "heap", weighed, pinned, held - dropped, held - before);
    // The index entries (StoreEntry, ~64 B) are the index's while the entries are indexed: not the tier's to count.
    assertThat(pinned - N * 64L).as("memory the tier's bodies pin, less the index entries").isLessThanOrEqualTo(weighed);
    assertThat(weighed).as("not counted several times over").isLessThan(pinned * 3 / 2);
  }

  private DiskStore store() throws Exception {
    return DiskStore.open(new StoreConfig(dir, 1L << 30, false), Runnable::run, () -> T, m -> Long.MAX_VALUE);
  }

  private static RamTier tier(long bytes) {
    return new RamTier(new ProxyConfig.Ram(bytes, 16 << 10), Runnable::run, () -> { }, () -> { }, () -> { });
  }

  /** {@code n} stored entries with the fields an origin usually sends. */
  private static List<DiskStore.Indexed> fill(DiskStore store, int n) throws Exception {
    List<DiskStore.Indexed> out = new ArrayList<>();
    for (int k = 0; k < n; k++) {
      EntryMeta meta = new EntryMeta("http://origin.example:8080/keys/object-" + k, "", 200,
          Headers.of("Date", "Fri, 04 Dec 2026 12:00:00 GMT", "Content-Type", "application/octet-stream",
              "Cache-Control", "public, max-age=3600", "ETag", "\"" + Long.toHexString(k * 0x9E3779B97F4A7C15L) + "\"",
              "Last-Modified", "Thu, 03 Dec 2026 12:00:00 GMT", "Server", "origin/1.0", "Accept-Ranges", "bytes"),
          T - 5, T, 0, 0);
      EntryWriter w = store.newWriter(meta, SIZE);
      w.write(ByteBuffer.wrap(new byte[SIZE]));
      out.add(store.indexed(w.commit().join()));
    }
    return out;
  }

  /** Keeps each entry's body as its fill does and its head as the first fast-path hit does. */
  private static void keep(RamTier tier, List<DiskStore.Indexed> indexed) {
    for (DiskStore.Indexed i : indexed) {
      assertThat(tier.keepFilled(i.generation(), new byte[SIZE])).isTrue();
      EncodedHead.Builder b = EncodedHead.builder(200, "OK");
      i.meta().headers().forEach(b::field);
      b.field("via", "1.1 zcproxy").field("cache-status", "zcproxy; hit").field("content-length", Integer.toString(SIZE));
      tier.withHead(i, tier.peek(i.generation()), new HitHead(b.build(), i.meta(), RamTierWeightTest.class));
    }
  }

  private static long usedHeap() throws InterruptedException {
    long used = Long.MAX_VALUE;
    for (int i = 0; i < 5; i++) {
      System.gc();
      Thread.sleep(20); // lets a concurrent cycle finish; the minimum of several readings is kept
      used = Math.min(used, ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
    }
    return used;
  }
}
