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
 * those will take, so a tier with room for two bodies starts two reads, not one per hit (the others probe it).
 */
class RamTierRoomTest {
  @TempDir
  Path dir;

  @Test
  void hitsDuringReadsSeeTheRoomTheReadsWillTake() throws Exception {
    DiskStore store = DiskStore.open(new StoreConfig(dir, 1L << 30, false), Runnable::run, () -> 1_700_000_000_000L,
        m -> Long.MAX_VALUE);
    int size = 4096;
    List<EntryMeta> metas = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      EntryMeta meta = new EntryMeta("http://o/k" + i, "", 200, Headers.of("Cache-Control", "max-age=60"),
          1_700_000_000_000L - 5, 1_700_000_000_000L, 0, 0);
      EntryWriter w = store.newWriter(meta, size);
      w.write(ByteBuffer.wrap(new byte[size]));
      metas.add(w.commit().join());
    }
    List<Runnable> reads = new ArrayList<>(); // the I/O pool, held: every hit comes while the reads are pending
    AtomicInteger loaded = new AtomicInteger();
    // room for two 4 KiB bodies in direct memory with their heads, not three
    RamTier tier = new RamTier(new ProxyConfig.Ram(2 * (size + RamTier.OVERHEAD + RamTier.DIRECT_OVERHEAD + RamTier.HEAD_ESTIMATE) + 100, 16 << 10), reads::add,
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
    store.close();
  }
}
