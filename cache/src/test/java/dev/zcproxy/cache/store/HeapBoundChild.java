package dev.zcproxy.cache.store;

import dev.zcproxy.cache.EntryMeta;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The child JVM of {@link ForkedHeapBoundTest}: opens a store with the default index heap share of
 * its (small) heap, then {@code fill DIR FROM COUNT} stores tiny entries through the store API, or
 * {@code scan DIR COUNT} restarts over the directory and looks up keys {@code 0..COUNT-1}. Prints
 * one {@code RESULT} line; an OutOfMemoryError ends the JVM with a non-zero status.
 * Public only so that the java launcher can start it.
 */
public final class HeapBoundChild {
  private HeapBoundChild() {}

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[1]);
    ExecutorService io = Executors.newFixedThreadPool(2);
    StoreFixture fx = new StoreFixture(dir);
    int served = 0;
    int found = 0;
    try (DiskStore s = DiskStore.open(new StoreConfig(dir, 1L << 40, false), io, fx.clock::get,
        m -> m.responseTime() + StoreFixture.HOUR)) {
      s.scanned().get(120, TimeUnit.SECONDS);
      if (args[0].equals("fill")) {
        int from = Integer.parseInt(args[2]);
        int count = Integer.parseInt(args[3]);
        Semaphore inFlight = new Semaphore(32);
        AtomicInteger failed = new AtomicInteger();
        byte[] body = new byte[16];
        for (int i = from; i < from + count; i++) {
          inFlight.acquire();
          EntryWriter w = s.newWriter(HeapEstimateTest.typical(i).withBody(0, 0), body.length);
          w.write(ByteBuffer.wrap(body));
          w.commit().whenComplete((m, t) -> {
            if (t != null) {
              failed.incrementAndGet();
            }
            inFlight.release();
          });
        }
        inFlight.acquire(32);
        if (failed.get() > 0) {
          throw new IllegalStateException(failed.get() + " writes failed");
        }
      } else {
        int count = Integer.parseInt(args[2]);
        for (int i = 0; i < count; i++) {
          List<EntryMeta> v = s.variants(HeapEstimateTest.typical(i).primaryKey());
          if (!v.isEmpty()) {
            found++;
            if (i % 50 == 0) {
              try (OpenEntry e = s.open(v.get(0)).get(10, TimeUnit.SECONDS)) {
                served += StoreFixture.readBody(e).length == v.get(0).bodyLength() ? 1 : 0;
              }
            }
          }
        }
      }
      s.cleanUp();
      io.submit(() -> { }).get(); // removal notices of the last evictions ran (two threads: twice)
      io.submit(() -> { }).get();
      System.gc();
      long used = Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory();
      System.out.printf("RESULT entries=%d heap=%d budget=%d found=%d served=%d used=%d max=%d%n",
          s.entryCount(), s.indexHeapBytes(), s.config().indexHeapBytes(), found, served, used,
          Runtime.getRuntime().maxMemory());
    } finally {
      io.shutdown();
    }
  }
}
