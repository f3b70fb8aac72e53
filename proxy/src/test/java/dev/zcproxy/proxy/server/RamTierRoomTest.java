package dev.zcproxy.proxy.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.Headers;
import dev.zcproxy.cache.store.DiskStore;
import dev.zcproxy.cache.store.EntryWriter;
import dev.zcproxy.cache.store.OpenEntry;
import dev.zcproxy.cache.store.StoreConfig;
import dev.zcproxy.proxy.config.ProxyConfig;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The RAM tier's room is taken by the reads in flight: file hits that come while bodies are being read in see the room
 * those will take, so a tier with room for two bodies starts two reads, not one per hit (the others probe it). And the
 * default tier's size against the keys it is meant to hold.
 */
class RamTierRoomTest {
  @TempDir
  Path dir;

  /** A store in {@code dir} (tasks run at once). */
  static DiskStore store(Path dir) {
    return DiskStore.open(new StoreConfig(dir, 1L << 30, false), Runnable::run, () -> 1_700_000_000_000L,
        m -> Long.MAX_VALUE);
  }

  /** {@code count} fresh entries stored in {@code store}, the i-th with {@code body.apply(i)}. */
  static List<EntryMeta> stored(DiskStore store, int count, java.util.function.IntFunction<byte[]> body) {
    List<EntryMeta> metas = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      EntryMeta meta = new EntryMeta("http://o/k" + i, "", 200, Headers.of("Cache-Control", "max-age=60"),
          1_700_000_000_000L - 5, 1_700_000_000_000L, 0, 0);
      byte[] b = body.apply(i);
      EntryWriter w = store.newWriter(meta, b.length);
      w.write(ByteBuffer.wrap(b));
      metas.add(w.commit().join());
    }
    return metas;
  }

  @Test
  void hitsDuringReadsSeeTheRoomTheReadsWillTake() throws Exception {
    DiskStore store = store(dir);
    int size = 4096;
    List<EntryMeta> metas = stored(store, 10, i -> new byte[size]);
    List<Runnable> reads = new ArrayList<>(); // the I/O pool, held: every hit comes while the reads are pending
    AtomicInteger loaded = new AtomicInteger();
    // room for two 4 KiB bodies with their heads, not three
    RamTier tier = new RamTier(new ProxyConfig.Ram(2 * (size + RamTier.OVERHEAD + RamTier.HEAD_ESTIMATE) + 100, 16 << 10), reads::add,
        loaded::incrementAndGet, () -> { }, () -> { });

    for (EntryMeta m : metas) {
      OpenEntry open = store.openNow(m);
      if (open == null) {
        open = store.open(m).join();
      }
      tier.load(open, open.meta().bodyOffset(), open.meta().bodyLength());
    }
    assertThat(reads).as("reads started by ten hits on a tier with room for two").hasSize(2);
    reads.forEach(Runnable::run);
    assertThat(loaded).hasValue(2);
    tier.close();
    assertThat(tier.offHeapBytes()).isZero();
    store.close();
  }

  /**
   * The many-keys row, 10,000 distinct 4 KiB bodies, fits a 48 MiB tier from the fills with room for each
   * one's head: none is left to a file hit (writev and sendfile) and none is evicted (16 MiB kept about 3,600).
   */
  @Test
  void a48MiBTierKeepsTenThousand4KiBBodiesFromTheirFills() {
    AtomicInteger evicted = new AtomicInteger();
    RamTier tier = new RamTier(new ProxyConfig.Ram(48L << 20, 16L << 10), Runnable::run, () -> { },
        evicted::incrementAndGet, () -> { });
    int kept = 0;
    for (long gen = 1; gen <= 10_000; gen++) {
      kept += tier.keepFilled(gen, new byte[4096]) ? 1 : 0;
    }
    assertThat(kept).isEqualTo(10_000);
    assertThat(tier.size()).isEqualTo(10_000);
    assertThat(evicted).hasValue(0);
    tier.close();
  }
}
