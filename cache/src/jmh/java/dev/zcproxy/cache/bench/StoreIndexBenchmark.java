package dev.zcproxy.cache.bench;

import dev.zcproxy.cache.CacheKey;
import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.Headers;
import dev.zcproxy.cache.store.DiskStore;
import dev.zcproxy.cache.store.EntryWriter;
import dev.zcproxy.cache.store.OpenEntry;
import dev.zcproxy.cache.store.StoreConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The index side of a hit: {@link DiskStore#variants} for keys drawn from a precomputed Zipf (s = 1)
 * or uniform sequence over {@code n} stored entries, and {@link DiskStore#open} + {@link OpenEntry#close}
 * of an entry whose channel is already in the store's open-file cache (the 512 most popular keys, fewer
 * than the cache's 1024 channels). The store lives in a temp directory, filled once per fork with
 * {@code n} entries of 16-byte bodies (no fsync) and deleted at the end; its clock is fixed, so nothing
 * expires, and its bound (1 GiB) evicts nothing.
 *
 * <p>Run: {@code mvn -B -q -pl cache -Pbench package -DskipTests && java -jar cache/target/benchmarks.jar
 * StoreIndexBenchmark -f 1 -wi 3 -i 5}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class StoreIndexBenchmark {
  private static final long T0 = 1_700_000_000_000L;
  private static final long DAY = 86_400_000L;
  private static final int HOT = 512;
  private static final int SEQUENCE = 1 << 16; // a power of two: the cursor wraps with a mask
  private static final int FILL_BATCH = 256; // writers in flight at once (each holds a temp file open)

  /** How many entries the store holds. */
  @Param("10000")
  public int n;

  /** How lookup keys are drawn: {@code zipf} (rank r with weight 1/r) or {@code uniform}. */
  @Param({"zipf", "uniform"})
  public String dist;

  private Path dir;
  private ExecutorService io;
  private DiskStore store;
  String[] lookupKeys; // SEQUENCE primary keys, in draw order
  EntryMeta[] openMetas; // SEQUENCE published metas among the HOT most popular, in draw order

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    dir = Files.createTempDirectory("zcproxy-jmh-store-");
    io = Executors.newFixedThreadPool(2, r -> {
      Thread t = new Thread(r, "bench-cache-io");
      t.setDaemon(true);
      return t;
    });
    store = DiskStore.open(new StoreConfig(dir, 1L << 30, false), io, () -> T0 + 60_000, m -> m.responseTime() + DAY);
    store.scanned().join();

    Headers headers = Headers.of("Content-Type", "application/json", "Cache-Control", "public, max-age=3600",
        "ETag", "\"abc123\"");
    byte[] body = new byte[16];
    EntryMeta[] published = new EntryMeta[n];
    List<CompletableFuture<EntryMeta>> batch = new ArrayList<>(FILL_BATCH);
    for (int i = 0; i < n; i++) {
      EntryMeta meta = new EntryMeta(key(i), "", 200, headers, T0 - 5, T0, 0, 0);
      EntryWriter w = store.newWriter(meta, body.length);
      w.write(ByteBuffer.wrap(body.clone()));
      batch.add(w.commit());
      if (batch.size() == FILL_BATCH || i == n - 1) {
        int first = i + 1 - batch.size();
        for (int j = 0; j < batch.size(); j++) {
          published[first + j] = batch.get(j).join();
        }
        batch.clear();
      }
    }
    store.cleanUp();
    for (int i = 0; i < n; i++) {
      if (store.variants(key(i)).size() != 1) {
        throw new IllegalStateException("setup: entry " + i + " not indexed (" + store.entryCount() + " of " + n + ")");
      }
    }

    int[] ranks = draw(n, SEQUENCE, 42);
    int[] hotRanks = draw(Math.min(HOT, n), SEQUENCE, 43);
    lookupKeys = new String[SEQUENCE];
    openMetas = new EntryMeta[SEQUENCE];
    for (int i = 0; i < SEQUENCE; i++) {
      lookupKeys[i] = key(ranks[i]);
      openMetas[i] = published[hotRanks[i]];
    }
    // Open each hot entry once so that the measured opens find their channel cached.
    for (int r = 0; r < Math.min(HOT, n); r++) {
      store.open(published[r]).join().close();
    }
  }

  private static String key(int i) {
    return CacheKey.primaryOf("https", "api.example.com", "/v1/items/" + i + "?fields=id,name,price");
  }

  /** {@code count} ranks in [0, size): Zipf with s = 1 by inverse CDF, or uniform; seeded, so repeatable. */
  private int[] draw(int size, int count, long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    int[] out = new int[count];
    if (dist.equals("uniform")) {
      for (int i = 0; i < count; i++) {
        out[i] = rnd.nextInt(size);
      }
      return out;
    }
    if (!dist.equals("zipf")) {
      throw new IllegalArgumentException("dist: " + dist);
    }
    double[] cdf = new double[size];
    double sum = 0;
    for (int r = 0; r < size; r++) {
      sum += 1.0 / (r + 1);
      cdf[r] = sum;
    }
    for (int i = 0; i < count; i++) {
      double u = rnd.nextDouble() * sum;
      int lo = 0;
      int hi = size - 1;
      while (lo < hi) {
        int mid = (lo + hi) >>> 1;
        if (cdf[mid] < u) {
          lo = mid + 1;
        } else {
          hi = mid;
        }
      }
      out[i] = lo;
    }
    return out;
  }

  @TearDown(Level.Trial)
  public void tearDown() throws Exception {
    store.close();
    io.shutdown();
    io.awaitTermination(10, TimeUnit.SECONDS);
    try (Stream<Path> s = Files.walk(dir)) {
      s.sorted(Comparator.reverseOrder()).forEach(p -> {
        try {
          Files.delete(p);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    }
  }

  /** Each measuring thread's own position in the precomputed sequences. */
  @State(Scope.Thread)
  public static class Cursor {
    int next;

    int advance() {
      return next++ & (SEQUENCE - 1);
    }
  }

  /** The variants stored for a primary key: the index lookup of every cacheable request. */
  @Benchmark
  public List<EntryMeta> variants(Cursor c) {
    return store.variants(lookupKeys[c.advance()]);
  }

  /**
   * The index side of a RAM-tier hit: the lookup, then {@link DiskStore#indexed} of the entry it found (the
   * current meta and file generation that key the RAM copy). Before the per-thread key memo this hashed the
   * URL twice (SHA-256 each).
   */
  @Benchmark
  public DiskStore.Indexed hitLookup(Cursor c) {
    List<EntryMeta> found = store.lookup(lookupKeys[c.advance()]).getNow(null);
    return found == null || found.isEmpty() ? null : store.indexed(found.get(0));
  }

  /** The non-blocking lookup the proxy makes ({@link DiskStore#lookup}); heads cached, so it completes at once. */
  @Benchmark
  public List<EntryMeta> lookup(Cursor c) {
    return store.lookup(lookupKeys[c.advance()]).getNow(null);
  }

  /** Opening a hit whose file channel is cached (completes without an executor hop), then releasing it. */
  @Benchmark
  public OpenEntry openCachedAndClose(Cursor c) {
    CompletableFuture<OpenEntry> f = store.open(openMetas[c.advance()]);
    OpenEntry e = f.join();
    e.close();
    return e;
  }
}
