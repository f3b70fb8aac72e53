package dev.zcproxy.cache.store;

import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.Headers;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code loadtest/scale.sh}'s filler: {@code fill DIR N BASE_URL BODY_BYTES} stores N small objects
 * {@code BASE_URL/obj/<i>} through the store API ({@link DiskStore#newWriter}: temp file, body,
 * rename, index, as a proxy fill does, without HTTP), fresh for a day, then prints one {@code RESULT}
 * line: fill rate and the heap the index takes per entry after a full GC (the head cache emptied
 * first, so only the index counts; the baseline is the same store before the fill). Public only so
 * that the java launcher can start it.
 */
public final class ScaleTool {
  private ScaleTool() {}

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[1]);
    java.nio.file.Files.createDirectories(dir); // the free-space probe needs it before the scan creates it
    int n = Integer.parseInt(args[2]);
    String base = args[3];
    int bodyBytes = Integer.parseInt(args[4]);
    long now = System.currentTimeMillis();
    String date = DateTimeFormatter.RFC_1123_DATE_TIME.format(ZonedDateTime.now(ZoneOffset.UTC));
    if (args[0].equals("seed")) {
      seed(dir, n, base, bodyBytes, now, date, args.length > 5 ? Integer.parseInt(args[5]) : 2);
      return;
    }
    ExecutorService io = Executors.newFixedThreadPool(2);
    try (DiskStore s = DiskStore.open(new StoreConfig(dir, 1L << 40, false), io, System::currentTimeMillis,
        m -> m.responseTime() + 7 * 86_400_000L)) {
      s.scanned().get(10, TimeUnit.MINUTES);
      long baseline = usedAfterGc();
      Semaphore inFlight = new Semaphore(64);
      AtomicInteger failed = new AtomicInteger();
      byte[] body = new byte[bodyBytes];
      long start = System.nanoTime();
      for (int i = 0; i < n; i++) {
        inFlight.acquire();
        EntryMeta meta = meta(base, i, bodyBytes, now, date);
        EntryWriter w = s.newWriter(meta, body.length);
        w.write(ByteBuffer.wrap(body));
        w.commit().whenComplete((m, t) -> {
          if (t != null && failed.getAndIncrement() == 0) {
            t.printStackTrace();
          }
          inFlight.release();
        });
        if (i > 0 && i % 100_000 == 0) {
          System.out.printf("filled %d (%.0f/s)%n", i, i / ((System.nanoTime() - start) / 1e9));
        }
      }
      inFlight.acquire(64);
      double seconds = (System.nanoTime() - start) / 1e9;
      s.cleanUp();
      io.submit(() -> { }).get();
      io.submit(() -> { }).get();
      long withHeads = usedAfterGc();
      s.dropHeads();
      long used = usedAfterGc();
      long entries = s.entryCount();
      System.out.printf("RESULT entries=%d failed=%d seconds=%.1f rate=%.0f heapPerEntry=%.1f estimatePerEntry=%.1f"
              + " withHeadsPerEntry=%.1f baselineMiB=%d maxMiB=%d%n",
          entries, failed.get(), seconds, n / seconds, (used - baseline) / (double) entries,
          s.indexHeapBytes() / (double) entries, (withHeads - baseline) / (double) entries, baseline >> 20,
          Runtime.getRuntime().maxMemory() >> 20);
    } finally {
      io.shutdown();
    }
  }

  static EntryMeta meta(String base, int i, int bodyBytes, long now, String date) {
    return new EntryMeta(base + "/obj/" + i, "", 200,
        Headers.of("Date", date, "Content-Type", "application/octet-stream",
            "Content-Length", Integer.toString(bodyBytes), "Cache-Control", "public, max-age=86400",
            "ETag", "\"" + Integer.toHexString(i) + "\""),
        now, now, 0, 0);
  }

  /**
   * Writes N entry files straight into place in the entry format (no temp file, no index, no HTTP), as
   * an earlier run would have left them, with {@code threads} threads; prints the rate.
   */
  private static void seed(Path dir, int n, String base, int bodyBytes, long now, String date, int threads) throws Exception {
    StoreLayout layout = new StoreLayout(dir);
    java.util.Set<Path> dirs = java.util.concurrent.ConcurrentHashMap.newKeySet();
    byte[] body = new byte[bodyBytes];
    AtomicInteger next = new AtomicInteger();
    long start = System.nanoTime();
    Runnable worker = () -> {
      try {
        for (int i; (i = next.getAndIncrement()) < n; ) {
          EntryMeta m = meta(base, i, bodyBytes, now, date);
          byte[] metaBytes = EntryFormat.encodeMeta(m);
          long offset = EntryFormat.bodyOffsetFor(metaBytes.length);
          Path file = layout.entryPath(m.key().hash(), (0x5CA1EL << 40) | i);
          if (!dirs.contains(file.getParent())) {
            java.nio.file.Files.createDirectories(file.getParent());
            dirs.add(file.getParent());
          }
          try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file,
              java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.TRUNCATE_EXISTING,
              java.nio.file.StandardOpenOption.WRITE)) {
            DiskStore.writeFully(ch, EntryFormat.encodeHeader(metaBytes, offset, body.length), 0);
            DiskStore.writeFully(ch, ByteBuffer.wrap(body), offset);
          }
        }
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    };
    Thread[] ts = new Thread[threads];
    for (int t = 0; t < ts.length; t++) {
      ts[t] = new Thread(worker);
      ts[t].start();
    }
    for (Thread t : ts) {
      t.join();
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    System.out.printf("RESULT seeded=%d seconds=%.1f rate=%.0f%n", n, seconds, n / seconds);
  }

  private static long usedAfterGc() throws InterruptedException {
    long used = Long.MAX_VALUE;
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(50);
      used = Math.min(used, ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
    }
    return used;
  }
}
