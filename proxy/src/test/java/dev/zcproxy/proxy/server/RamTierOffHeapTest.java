package dev.zcproxy.proxy.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.store.DiskStore;
import dev.zcproxy.cache.store.OpenEntry;
import dev.zcproxy.proxy.config.ProxyConfig;
import io.netty.buffer.ByteBuf;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The RAM tier's bodies live in direct memory of the tier's own allocator: each body is freed when it leaves the tier
 * (dropped, replaced, evicted, the tier closed), and a body that leaves while a hit reads it is freed after that read,
 * never under it. Counted by the allocator's metric, which must be back at 0 once the tier is closed.
 */
class RamTierOffHeapTest {
  private static final ProxyConfig.Ram ROOMY = new ProxyConfig.Ram(1L << 20, 16L << 10);

  @TempDir
  Path dir;

  private static byte[] filled(int length, int value) {
    byte[] b = new byte[length];
    Arrays.fill(b, (byte) value);
    return b;
  }

  private static RamTier tier(ProxyConfig.Ram config, AtomicInteger evicted) {
    return new RamTier(config, Runnable::run, () -> { }, evicted::incrementAndGet, () -> { });
  }

  @Test
  void bodiesAreFreedWhenDroppedReplacedAndClosed() {
    RamTier tier = tier(ROOMY, new AtomicInteger());
    assertThat(tier.keepFilled(1, filled(4096, 'a'))).isTrue();
    assertThat(tier.keepFilled(2, filled(1000, 'b'))).isTrue();
    assertThat(tier.offHeapBytes()).as("the bodies' blocks, off the heap").isEqualTo(2 * 4096);
    assertThat(tier.copy(1)).isEqualTo(filled(4096, 'a'));
    assertThat(tier.has(2)).isTrue();

    tier.drop(1);
    assertThat(tier.offHeapBytes()).as("after a drop").isEqualTo(4096);
    assertThat(tier.copy(1)).isNull();

    assertThat(tier.keepFilled(2, filled(2000, 'c'))).isTrue(); // the same generation again: the old body is freed
    assertThat(tier.offHeapBytes()).as("after a replacement").isEqualTo(4096);
    assertThat(tier.copy(2)).isEqualTo(filled(2000, 'c'));

    assertThat(tier.offHeapReserved()).as("one slab taken from the system").isEqualTo(BodySlab.SLAB);
    tier.close();
    assertThat(tier.offHeapBytes()).as("after close").isZero();
    assertThat(tier.offHeapReserved()).as("direct memory after close").isZero();
    assertThat(tier.keepFilled(3, filled(10, 'd'))).isFalse(); // a fill that ends after close keeps nothing
    assertThat(tier.size()).isZero();
    assertThat(tier.offHeapReserved()).isZero();
  }

  /**
   * Blocks given back by 4 KiB bodies are taken by 1 KiB and 16 KiB ones: a tier that turns over from one size to
   * others takes no more memory from the system (per-body allocations left holes that other sizes did not fit).
   */
  @Test
  void memoryFreedByOneSizeIsTakenByAnother() {
    RamTier tier = tier(new ProxyConfig.Ram(1L << 20, 16L << 10), new AtomicInteger());
    long gen = 1;
    while (tier.keepFilled(gen, filled(4096, 'k'))) {
      gen++;
    }
    long reserved = tier.offHeapReserved();
    for (long g = 1; g < gen; g++) {
      tier.drop(g);
    }
    int kept = 0;
    for (int i = 0; i < 1000; i++) {
      kept += tier.keepFilled(gen++, filled(i % 4 == 0 ? 16384 : 1024, 'z')) ? 1 : 0;
    }
    assertThat(kept).isPositive();
    assertThat(tier.offHeapReserved()).as("no memory beyond what the 4 KiB bodies took").isEqualTo(reserved);
    tier.close();
    assertThat(tier.offHeapReserved()).isZero();
  }

  /** Bodies over several slabs go back to the free list and are kept again (failed: the free list held one slab). */
  @Test
  void bodiesOverSeveralSlabsAreFreedAndKeptAgain() {
    RamTier tier = tier(new ProxyConfig.Ram(4L << 20, 16L << 10), new AtomicInteger());
    for (int round = 0; round < 3; round++) {
      int kept = 0;
      for (long g = 1; g <= 1000; g++) {
        kept += tier.keepFilled(g, filled(4096, (int) g)) ? 1 : 0;
      }
      assertThat(kept).as("round %d", round).isGreaterThan(2 * BodySlab.SLAB / 4096);
      assertThat(tier.copy(kept)).isEqualTo(filled(4096, kept));
      for (long g = 1; g <= 1000; g++) {
        tier.drop(g);
      }
      assertThat(tier.offHeapBytes()).isZero();
    }
    tier.close();
    assertThat(tier.offHeapReserved()).isZero();
  }

  @Test
  void aBodyDroppedWhileAHitReadsItIsFreedAfterTheRead() {
    RamTier tier = tier(ROOMY, new AtomicInteger());
    tier.keepFilled(7, filled(4096, 'x'));
    RamTier.Kept kept = tier.kept(7);
    ByteBuf held = RamTier.retain(kept.body()); // a hit's write, under way
    assertThat(held).isNotNull();

    tier.drop(7); // purged (or evicted by another thread's put) in the middle of the write
    assertThat(tier.offHeapBytes()).as("still held by the write").isEqualTo(4096);
    byte[] read = new byte[4096];
    held.getBytes(0, read);
    assertThat(read).isEqualTo(filled(4096, 'x'));

    tier.close(); // and the proxy stops meanwhile: the slab waits for the write
    assertThat(tier.offHeapReserved()).as("held by the write").isPositive();
    held.release(); // the write ended
    assertThat(tier.offHeapBytes()).as("freed after the write").isZero();
    assertThat(tier.offHeapReserved()).as("given back after the write").isZero();
    // a hit that found the body before the drop but reads it only now: refused, never the freed memory
    assertThat(RamTier.retain(kept.body())).isNull();
    assertThat(RamTier.copyOf(kept.body())).isNull();
    assertThat(kept.body().refCnt()).isZero();
  }

  @Test
  void bodiesEvictedFromAFullTierAreFreed() throws Exception {
    DiskStore store = RamTierRoomTest.store(dir);
    int size = 4096;
    List<EntryMeta> metas = RamTierRoomTest.stored(store, 12, i -> filled(size, i));
    AtomicInteger evicted = new AtomicInteger();
    // room for three bodies with their heads: twelve keys hit again and again turn it over
    RamTier tier = tier(new ProxyConfig.Ram(3 * (size + RamTier.OVERHEAD + RamTier.HEAD_ESTIMATE), 16 << 10), evicted);
    for (int round = 0; round < 20 && evicted.get() == 0; round++) {
      for (EntryMeta m : metas) {
        OpenEntry open = store.open(m).join();
        tier.load(open, open.meta().bodyOffset(), open.meta().bodyLength()); // a file hit: read in, or probe
      }
    }
    assertThat(evicted.get()).as("bodies evicted by the tier's policy").isPositive();
    assertThat(tier.offHeapBytes()).as("only the bodies kept take memory").isEqualTo(tier.size() * size);
    for (int i = 0; i < metas.size(); i++) {
      DiskStore.Indexed indexed = store.indexed(metas.get(i));
      byte[] copy = tier.copy(indexed.generation());
      if (copy != null) {
        assertThat(copy).isEqualTo(filled(size, i));
      }
    }
    tier.close();
    assertThat(tier.offHeapBytes()).isZero();
    assertThat(tier.offHeapReserved()).isZero();
    store.close();
  }

  /**
   * Hits copy bodies on two threads while a third drops and keeps them again: every copy is the body's bytes or
   * nothing (a body freed under a read would show another body's bytes once malloc reuses its memory), and no byte
   * is left allocated after close.
   */
  @Test
  void hitsRacingDropsReadWholeBodiesOrNoneAndLeaveNothingAllocated() throws Exception {
    RamTier tier = tier(ROOMY, new AtomicInteger());
    int keys = 8;
    for (int g = 1; g <= keys; g++) {
      tier.keepFilled(g, filled(4096, g));
    }
    CountDownLatch start = new CountDownLatch(1);
    AtomicLong wrong = new AtomicLong();
    AtomicLong read = new AtomicLong();
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < 2; t++) {
      threads.add(new Thread(() -> {
        await(start);
        for (int i = 0; i < 200_000; i++) {
          int g = 1 + i % keys;
          RamTier.Kept kept = tier.kept(g);
          byte[] copy = kept == null ? null : RamTier.copyOf(kept.body());
          if (copy == null) {
            continue;
          }
          read.incrementAndGet();
          for (byte b : copy) {
            if (b != (byte) g) {
              wrong.incrementAndGet();
              break;
            }
          }
        }
      }));
    }
    threads.add(new Thread(() -> {
      await(start);
      for (int i = 0; i < 50_000; i++) {
        int g = 1 + i % keys;
        tier.drop(g);
        tier.keepFilled(g, filled(4096, g));
      }
    }));
    threads.forEach(Thread::start);
    start.countDown();
    for (Thread t : threads) {
      t.join();
    }
    assertThat(wrong).as("copies with another body's bytes").hasValue(0);
    assertThat(read.get()).isPositive();
    assertThat(tier.offHeapBytes()).isEqualTo(tier.size() * 4096L);
    tier.close();
    assertThat(tier.offHeapBytes()).as("after close").isZero();
    assertThat(tier.offHeapReserved()).as("direct memory after close").isZero();
  }

  private static void await(CountDownLatch latch) {
    try {
      latch.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
