package dev.zcproxy.proxy.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.EncodedHead;
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
 * those will take, so a tier with room for two bodies starts two reads, not one per hit (the others probe it); and once
 * its policy evicted, room is read into only through a probe the policy kept.
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
    // room for two 4 KiB bodies with their heads (body + 96 + 512 each), not three
    RamTier tier = new RamTier(new ProxyConfig.Ram(2 * (size + 96 + 512) + 100, 16 << 10), reads::add,
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

  /**
   * Once the policy evicted, the room an eviction left is not read into: a file hit probes instead, and the body is
   * read only when a later hit finds its probe kept. Before, each eviction's few hundred bytes of room (a body kept with
   * its head makes way for a probe or a body without one) let the next file hit of any key read its body at once, past
   * the policy: at 10,000 4 KiB keys ~780 reads and evictions a second, bodies promoted to the old generation and a
   * full collection every few seconds. A body dropped (it left the index) makes room the reads may take again.
   */
  @Test
  void afterAnEvictionAReadIntoTheRoomItLeftWaitsForThePolicy() throws Exception {
    DiskStore store = DiskStore.open(new StoreConfig(dir, 1L << 30, false), Runnable::run, () -> 1_700_000_000_000L,
        m -> Long.MAX_VALUE);
    int size = 4096;
    EntryMeta[] metas = new EntryMeta[3];
    for (int i = 0; i < metas.length; i++) {
      metas[i] = stored(store, "http://o/k" + i, size);
    }
    List<Runnable> reads = new ArrayList<>();
    AtomicInteger loaded = new AtomicInteger();
    AtomicInteger evicted = new AtomicInteger();
    // room for two 4 KiB bodies with their heads (body + 96 + 512 each)
    int tierBytes = 2 * (size + 96 + 512) + 100;
    RamTier tier = new RamTier(new ProxyConfig.Ram(tierBytes, 16 << 10), reads::add, loaded::incrementAndGet,
        evicted::incrementAndGet, () -> { });

    long k0 = hit(store, tier, metas[0]);
    assertThat(reads).as("room: read at once").hasSize(1);
    reads.remove(0).run();
    // k0 kept with a head that makes it heavier than the whole tier: the policy evicts it, the tier is empty again
    EncodedHead heavy = EncodedHead.builder(200, "OK").field("X-Pad", "p".repeat(tierBytes)).build();
    DiskStore.Indexed indexed = store.indexed(metas[0]);
    tier.withHead(indexed, tier.peek(k0), new HitHead(heavy, metas[0], null));
    tier.size(); // the policy's pending work done
    assertThat(evicted).hasValue(1);
    assertThat(tier.peek(k0)).isNull();

    // room for two bodies by weight, but the policy has evicted: the hit probes
    long k1 = hit(store, tier, metas[1]);
    assertThat(reads).as("a read into the room an eviction left").isEmpty();
    hit(store, tier, metas[1]); // its probe was kept: now it is read
    assertThat(reads).hasSize(1);
    reads.remove(0).run();
    assertThat(loaded).hasValue(2);
    assertThat(tier.peek(k1)).isNotNull();

    tier.drop(k1); // it left the index: room the policy did not make
    hit(store, tier, metas[2]);
    assertThat(reads).as("room made by a drop: read at once").hasSize(1);
    reads.remove(0).run();
    assertThat(loaded).hasValue(3);
    store.close();
  }

  private static EntryMeta stored(DiskStore store, String key, int size) throws Exception {
    EntryMeta meta = new EntryMeta(key, "", 200, Headers.of("Cache-Control", "max-age=60"), 1_700_000_000_000L - 5,
        1_700_000_000_000L, 0, 0);
    EntryWriter w = store.newWriter(meta, size);
    w.write(ByteBuffer.wrap(new byte[size]));
    return w.commit().join();
  }

  /** A file hit of {@code meta}: its open file handed to the tier; the file's generation. */
  private static long hit(DiskStore store, RamTier tier, EntryMeta meta) {
    OpenEntry open = store.openNow(meta);
    if (open == null) {
      open = store.open(meta).join();
    }
    long generation = open.generation();
    tier.load(open, open.meta().bodyOffset(), open.meta().bodyLength());
    return generation;
  }
}
