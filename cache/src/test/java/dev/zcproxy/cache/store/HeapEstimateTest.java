package dev.zcproxy.cache.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.CacheKey;
import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.Headers;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.util.function.IntFunction;
import org.junit.jupiter.api.Test;

/**
 * The per-entry heap estimate is honest: index N entries as the startup scan does (each from its
 * decoded file header, which is then dropped: heads stay on disk) and compare the heap used after a
 * full GC with the sum of the estimates.
 */
class HeapEstimateTest {
  static final long T0 = StoreFixture.T0;
  static final int N = 20_000;

  /** What an origin typically sends with a small object (hop-by-hop fields removed). */
  static EntryMeta typical(int i) {
    return new EntryMeta("http://origin.example:8081/objects/" + i + ".bin?v=3", "", 200,
        Headers.of("Date", "Tue, 01 Dec 2026 15:" + (i % 60) + ":" + (i % 59) + " GMT",
            "Content-Type", "application/octet-stream",
            "Content-Length", Integer.toString(1000 + i % 5000),
            "Cache-Control", "public, max-age=3600",
            "ETag", "\"5f3a-" + Integer.toHexString(i) + "-17a2b3c4\"",
            "Last-Modified", "Mon, 30 Nov 2026 10:" + (i % 60) + ":00 GMT",
            "Accept-Ranges", "bytes",
            "Server", "nginx/1.22.1"),
        T0 - 5, T0, 1000 + i % 5000, 4096);
  }

  /** Many and unusual fields, a Vary variant, a long URL: the estimate must still not be low. */
  static EntryMeta heavy(int i) {
    return new EntryMeta("https://static.example.com/assets/" + "x".repeat(100 + i % 50) + "/" + i + ".js", "br;q=1.0 " + i,
        200,
        Headers.of("date", "Tue, 01 Dec 2026 15:00:" + (i % 60) + " GMT",
            "content-type", "text/javascript; charset=utf-8-" + i,
            "vary", "Accept-Encoding",
            "x-custom-trace", "trace-" + i + "-" + "ab".repeat(20),
            "set-cookie", "sid=" + i + "; Path=/; HttpOnly",
            "link", "</a" + i + ".css>; rel=preload; as=style",
            "x-unicode", "caf\u00e9-\u2603-" + i),
        T0 - 5, T0, 300, 4096);
  }

  @Test
  void typicalEntriesCostWhatTheEstimateSays() throws Exception {
    double[] r = measure(HeapEstimateTest::typical);
    System.out.printf("typical entry: measured %.0f B, estimated %.0f B of heap%n", r[0], r[1]);
    assertThat(r[1]).isBetween(r[0] * 0.95, r[0] * 1.5);
  }

  @Test
  void heavyEntriesCostWhatTheEstimateSays() throws Exception {
    double[] r = measure(HeapEstimateTest::heavy);
    System.out.printf("heavy entry: measured %.0f B, estimated %.0f B of heap%n", r[0], r[1]);
    assertThat(r[1]).isBetween(r[0] * 0.95, r[0] * 1.5);
  }

  /** {measured heap per entry, estimated heap per entry}. */
  private static double[] measure(IntFunction<EntryMeta> metas) throws Exception {
    // Encoded before the baseline: the files' bytes are not the index's heap.
    byte[][] headers = new byte[N][];
    for (int i = 0; i < N; i++) {
      EntryMeta m = metas.apply(i);
      headers[i] = EntryFormat.encodeHeader(EntryFormat.encodeMeta(m), m.bodyOffset(), m.bodyLength()).array();
    }
    StoreIndex index = new StoreIndex(1L << 40, 1L << 40, Runnable::run, () -> T0, e -> { });
    index.put(entry(headers[0], 0)); // warm the classes and Caffeine's first table
    index.remove(entry(headers[0], 0).hash());
    long before = usedHeap();
    long estimated = 0;
    for (int i = 0; i < N; i++) {
      StoreEntry e = entry(headers[i], i);
      estimated += e.heapBytes();
      index.put(e);
    }
    index.cleanUp();
    long after = usedHeap();
    assertThat(index.entryCount()).isEqualTo(N);
    assertThat(index.heapBytes()).isEqualTo(estimated);
    index = null;
    long dropped = usedHeap();
    // What the index held is what its drop frees; the growth from the baseline should agree (a
    // baseline still holding an earlier test's garbage would make it read low).
    long held = after - dropped;
    System.out.printf("grew %d B, freed %d B%n", after - before, held);
    return new double[] {held / (double) N, estimated / (double) N};
  }

  /** An index entry as the scan builds it: the meta read from the file is dropped, only the entry stays. */
  private static StoreEntry entry(byte[] header, long generation) throws Exception {
    EntryMeta meta = EntryFormat.decode(ByteBuffer.wrap(header)).meta();
    String hash = CacheKey.of(meta.primaryKey(), meta.variant()).hash();
    StoreEntry.Extra extra = meta.variant().isEmpty() ? null
        : new StoreEntry.Extra(Key128.of(CacheKey.of(meta.primaryKey(), "").primaryHash()), java.util.List.of());
    return new StoreEntry(hash, meta, generation, T0 + 3_600_000L, extra);
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
