package dev.zcproxy.cache.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.Headers;
import java.nio.ByteBuffer;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Several threads store, replace, update, remove, abort and read the same few keys on a small store
 * (so that size eviction, expiry and the open-file cache churn), in the spirit of Caffeine's Stresser. Every
 * body read must be the one its meta describes; at the end the files on disk are exactly the indexed
 * entries, and a restart sees the same index.
 */
class DiskStoreStressTest {
  private static final long SEED = 20240611L;
  private static final int THREADS = 4;
  private static final int OPS = 400;
  private static final int KEYS = 24;
  private static final long RETAIN = 600_000L;

  @TempDir Path dir;

  @Test
  void concurrentStoreEvictAndReadKeepDiskAndIndexConsistent() throws Exception {
    StoreFixture fx = new StoreFixture(dir);
    TrackingExecutor io = new TrackingExecutor(Executors.newFixedThreadPool(2));
    List<Throwable> errors = Collections.synchronizedList(new ArrayList<>());
    AtomicInteger opened = new AtomicInteger();
    AtomicInteger stored = new AtomicInteger();
    DiskStore s = DiskStore.open(new StoreConfig(dir, 160 * 1024, false), io, fx.clock::get,
        m -> m.responseTime() + RETAIN, 8);
    s.scanned().join();
    try {
      CountDownLatch start = new CountDownLatch(1);
      List<Thread> threads = new ArrayList<>();
      for (int t = 0; t < THREADS; t++) {
        Random rnd = new Random(SEED + t);
        Thread th = new Thread(() -> {
          try {
            start.await();
            for (int i = 0; i < OPS; i++) {
              step(s, rnd, fx, opened, stored);
            }
          } catch (Throwable e) {
            errors.add(e);
          }
        }, "stress-" + t);
        threads.add(th);
        th.start();
      }
      start.countDown();
      for (Thread th : threads) {
        th.join(TimeUnit.MINUTES.toMillis(2));
        assertThat(th.isAlive()).as(th.getName() + " finished").isFalse();
      }
      assertThat(errors).isEmpty();
      assertThat(stored.get()).isPositive();
      assertThat(opened.get()).isPositive();

      io.awaitQuiet();
      s.cleanUp();
      io.awaitQuiet();

      List<Path> indexed = DiskStoreTest.indexedFiles(s);
      assertThat(fx.tempFiles()).isEmpty();
      assertThat(fx.entryFiles()).containsExactlyInAnyOrderElementsOf(indexed);
      assertThat(s.weightedBytes()).isLessThanOrEqualTo(160 * 1024);
      long primaries = s.index().entries().stream().map(s::head).filter(m -> !m.variant().isEmpty())
          .map(EntryMeta::primaryKey).distinct().count();
      assertThat(s.index().primaryKeyCount()).isEqualTo(primaries);
      for (SharedChannel ch : s.cachedChannels()) {
        assertThat(ch.refCount()).as("only the cache holds it").isEqualTo(1);
      }

      Map<String, EntryMeta> before = s.index().entries().stream()
          .collect(Collectors.toMap(StoreEntry::hash, s::head));
      s.close();
      io.awaitQuiet();
      try (DiskStore again = DiskStore.open(new StoreConfig(dir, 160 * 1024, false), io, fx.clock::get,
          m -> m.responseTime() + RETAIN)) {
        again.scanned().join();
        io.awaitQuiet();
        Map<String, EntryMeta> after = again.index().entries().stream()
            .collect(Collectors.toMap(StoreEntry::hash, again::head));
        assertThat(after).isEqualTo(before);
      }
    } finally {
      s.close();
      io.shutdown();
    }
  }

  private static void step(DiskStore s, Random rnd, StoreFixture fx, AtomicInteger opened, AtomicInteger stored) {
    int k = rnd.nextInt(KEYS);
    String url = "http://stress/" + (k / 2);
    String variant = k % 2 == 0 ? "" : "gzip";
    int op = rnd.nextInt(100);
    if (op < 35) {
      int seed = rnd.nextInt(1_000_000);
      int size = rnd.nextInt(6000);
      EntryMeta meta = new EntryMeta(url, variant, 200, Headers.of("X-Seed", Integer.toString(seed)),
          fx.clock.get(), fx.clock.get() + rnd.nextInt(1000), 0, 0);
      EntryWriter w = s.newWriter(meta, size);
      byte[] body = StoreFixture.body(size, seed);
      for (int off = 0; off < size; off += 1500) {
        w.write(ByteBuffer.wrap(body, off, Math.min(1500, size - off)).slice());
      }
      if (rnd.nextInt(10) == 0) {
        w.abort();
        return;
      }
      EntryMeta published;
      try {
        published = w.commit().join();
      } catch (CompletionException x) {
        // Another thread invalidated this URL while the body was being written: never published.
        assertThat(x.getCause()).isInstanceOf(IllegalStateException.class).hasMessageContaining("invalidated");
        return;
      }
      assertThat(published.bodyLength()).isEqualTo(size);
      stored.incrementAndGet();
    } else if (op < 80) {
      for (EntryMeta m : s.variants(url)) {
        OpenEntry e;
        try {
          e = s.open(m).join();
        } catch (CompletionException x) {
          assertThat(x).hasCauseInstanceOf(NoSuchFileException.class);
          continue;
        }
        try (e) {
          int seed = Integer.parseInt(e.meta().headers().get("X-Seed"));
          assertThat(StoreFixture.readBody(e)).isEqualTo(StoreFixture.body((int) e.meta().bodyLength(), seed));
          opened.incrementAndGet();
        }
      }
    } else if (op < 90) {
      for (EntryMeta m : s.variants(url)) {
        Headers h = m.headers().with("X-Pad", "p".repeat(rnd.nextBoolean() ? 10 : 5000));
        try {
          EntryMeta u = s.update(m, m.withHeaders(h, m.requestTime(), m.responseTime())).join();
          assertThat(u.headers().get("X-Seed")).isEqualTo(m.headers().get("X-Seed"));
        } catch (CompletionException x) {
          assertThat(x.getCause()).isInstanceOfAny(NoSuchFileException.class, IllegalStateException.class);
        }
      }
    } else if (op < 93) {
      s.invalidate(url);
    } else if (op < 96) {
      fx.clock.addAndGet(rnd.nextInt(60_000)); // entries retain for 10 minutes: some expire
    } else {
      s.remove(dev.zcproxy.cache.CacheKey.of(url, variant));
    }
  }

  /** Runs tasks on a pool and can wait until none is queued or running. */
  static final class TrackingExecutor implements Executor {
    private final ExecutorService pool;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final Object quiet = new Object();

    TrackingExecutor(ExecutorService pool) {
      this.pool = pool;
    }

    @Override
    public void execute(Runnable r) {
      inFlight.incrementAndGet();
      try {
        pool.execute(() -> {
          try {
            r.run();
          } finally {
            if (inFlight.decrementAndGet() == 0) {
              synchronized (quiet) {
                quiet.notifyAll();
              }
            }
          }
        });
      } catch (RuntimeException e) {
        inFlight.decrementAndGet();
        throw e;
      }
    }

    void awaitQuiet() throws InterruptedException {
      synchronized (quiet) {
        while (inFlight.get() != 0) {
          quiet.wait(100);
        }
      }
    }

    void shutdown() throws InterruptedException {
      pool.shutdown();
      pool.awaitTermination(1, TimeUnit.MINUTES);
    }
  }

}
