package dev.zcproxy.cache.store;

import static dev.zcproxy.cache.store.StoreFixture.HOUR;
import static dev.zcproxy.cache.store.StoreFixture.T0;
import static dev.zcproxy.cache.store.StoreFixture.body;
import static dev.zcproxy.cache.store.StoreFixture.meta;
import static dev.zcproxy.cache.store.StoreFixture.readBody;
import static dev.zcproxy.cache.store.StoreFixture.store;
import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.Bans;
import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.Headers;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The index snapshot with real entry files: a clean stop writes it and a restart indexes from it
 * before the scan has read a file; a crash (the directory as it was at a kill, copied while the store
 * still ran) loses nothing but time; a damaged snapshot falls back to the scan; and nothing purged,
 * replaced, removed or banned after the snapshot is served or kept.
 */
class DiskStoreSnapshotTest {
  static final long BIG = 1L << 30;

  @TempDir Path tempDir;
  Path dir;
  StoreFixture fx;
  ExecutorService io;
  private static final int IO_THREADS = 2;

  @BeforeEach
  void setUp() {
    dir = tempDir.resolve("cache");
    fx = new StoreFixture(dir);
    io = Executors.newFixedThreadPool(IO_THREADS);
  }

  @AfterEach
  void tearDown() throws InterruptedException {
    io.shutdownNow();
    io.awaitTermination(10, TimeUnit.SECONDS);
  }

  private DiskStore open(Path d, CompletableFuture<?> scanGate) {
    return DiskStore.open(new StoreConfig(d, BIG, false).withTagHeaders(List.of("Surrogate-Key")), io, fx.clock::get,
        m -> m.responseTime() + HOUR, DiskStore.DEFAULT_MAX_OPEN_FILES, KeyHasher.SHA256, scanGate);
  }

  private static EntryMeta tagged(String url, String tags) {
    return new EntryMeta(url, "", 200, Headers.of("Content-Type", "text/plain", "Surrogate-Key", tags),
        T0 - 5, T0, 0, 0);
  }

  /** Waits for the work queued on the I/O executor so far (removal notices delete files there). */
  private void drainIo() throws Exception {
    for (int i = 0; i < 3; i++) {
      io.submit(() -> { }).get(10, TimeUnit.SECONDS);
    }
  }

  /**
   * Waits until every I/O thread has finished what it took so far: one task per pool thread, meeting at a
   * barrier ({@link #drainIo} can finish on one thread while the other still runs a removal notice). Only
   * when no task of the store blocks a thread (the scan has ended).
   */
  private void drainAllIo() throws Exception {
    java.util.concurrent.CyclicBarrier all = new java.util.concurrent.CyclicBarrier(IO_THREADS);
    List<java.util.concurrent.Future<?>> meet = new ArrayList<>();
    for (int i = 0; i < IO_THREADS; i++) {
      meet.add(io.submit(() -> all.await(10, TimeUnit.SECONDS)));
    }
    for (java.util.concurrent.Future<?> f : meet) {
      f.get(10, TimeUnit.SECONDS);
    }
  }

  /** A copy of the cache directory as it is now: what a kill -9 would leave (no snapshot at stop). */
  private Path crashImage() throws IOException {
    Path image = tempDir.resolve("image-" + System.nanoTime());
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.toList()) {
        Path to = image.resolve(dir.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(to);
        } else {
          Files.copy(p, to);
        }
      }
    }
    return image;
  }

  private static long entryFiles(Path d) throws IOException {
    try (Stream<Path> s = Files.walk(d)) {
      return s.filter(Files::isRegularFile).filter(p -> StoreLayout.parse(p.getFileName().toString()) != null).count();
    }
  }

  /** The bytes of the entry files under {@code d}, each rounded up to KiB (as the index counts them). */
  private static long diskBytes(Path d) throws IOException {
    long n = 0;
    try (Stream<Path> s = Files.walk(d)) {
      for (Path p : s.filter(Files::isRegularFile).filter(p -> StoreLayout.parse(p.getFileName().toString()) != null).toList()) {
        n += (Files.size(p) + 1023) >>> 10 << 10;
      }
    }
    return n;
  }

  @Test
  void aCleanStopWritesTheSnapshotAndARestartIndexesFromItBeforeTheScanReadsAFile() throws Exception {
    List<EntryMeta> stored = new ArrayList<>();
    EntryMeta gzip;
    EntryMeta news;
    try (DiskStore s = open(dir, CompletableFuture.completedFuture(null))) {
      s.scanned().get(10, TimeUnit.SECONDS);
      for (int i = 0; i < 40; i++) {
        stored.add(store(s, meta("http://a/" + i), body(10, i)));
      }
      gzip = store(s, meta("http://a/v", "gzip", T0), body(12, 99)); // a Vary variant: found only through its link
      news = store(s, tagged("http://a/news", "news sport"), body(8, 98));
    }
    assertThat(dir.resolve(IndexSnapshot.FILE)).exists();

    CompletableFuture<Void> gate = new CompletableFuture<>(); // the scan never starts here
    try (DiskStore s = open(dir, gate)) {
      s.indexLoaded().get(10, TimeUnit.SECONDS);
      assertThat(s.scanned()).isNotDone();
      assertThat(s.entryCount()).isEqualTo(42);
      for (int i = 0; i < 40; i++) {
        assertThat(s.lookup("http://a/" + i).get(10, TimeUnit.SECONDS)).containsExactly(stored.get(i));
      }
      assertThat(s.lookup("http://a/v").get(10, TimeUnit.SECONDS)).containsExactly(gzip);
      assertThat(s.tagged("sport")).containsExactly(news);
      try (OpenEntry e = s.open(stored.get(7)).get(10, TimeUnit.SECONDS)) {
        assertThat(readBody(e)).isEqualTo(body(10, 7));
      }
      assertThat(s.foundOnDisk()).as("nothing had to be looked for on disk").isZero();

      gate.complete(null);
      s.scanned().get(10, TimeUnit.SECONDS);
      s.cleanUp();
      assertThat(s.entryCount()).isEqualTo(42);
    }
    assertThat(entryFiles(dir)).isEqualTo(42);
  }

  @Test
  void aStartExecutorHoldsOnlyTheStartUpWorkWhileLookupsFindTheirEntriesOnDisk() throws Exception {
    List<EntryMeta> stored = new ArrayList<>();
    try (DiskStore s = open(dir, CompletableFuture.completedFuture(null))) {
      s.scanned().get(10, TimeUnit.SECONDS);
      for (int i = 0; i < 3; i++) {
        stored.add(store(s, meta("http://a/" + i), body(10, i)));
      }
    }
    assertThat(dir.resolve(IndexSnapshot.FILE)).exists();

    List<Runnable> held = new ArrayList<>(); // a start executor that has not let anything through yet
    try (DiskStore s = DiskStore.open(new StoreConfig(dir, BIG, false), io, held::add, fx.clock::get,
        m -> m.responseTime() + HOUR)) {
      assertThat(held).hasSize(1); // the snapshot load and the scan, one task
      assertThat(s.lookup("http://a/1").get(10, TimeUnit.SECONDS)).as("found on disk by its hash, on the I/O executor")
          .containsExactly(stored.get(1));
      assertThat(s.foundOnDisk()).isEqualTo(1);
      assertThat(s.indexLoaded()).isNotDone();
      assertThat(held).hasSize(1);

      held.forEach(io::execute);
      s.scanned().get(10, TimeUnit.SECONDS);
      assertThat(s.entryCount()).isEqualTo(3);
      for (int i = 0; i < 3; i++) {
        assertThat(s.lookup("http://a/" + i).get(10, TimeUnit.SECONDS)).containsExactly(stored.get(i));
      }
      assertThat(s.foundOnDisk()).isEqualTo(1);
    }
  }

  @Test
  void aCrashLosesNothingButTime() throws Exception {
    Path image;
    EntryMeta a;
    EntryMeta b;
    EntryMeta c;
    EntryMeta aUpdated;
    try (DiskStore s = open(dir, CompletableFuture.completedFuture(null))) {
      s.scanned().get(10, TimeUnit.SECONDS);
      a = store(s, meta("http://a/a"), body(10, 1));
      b = store(s, meta("http://a/b"), body(10, 2));
      s.writeSnapshot();
      c = store(s, meta("http://a/c"), body(10, 3)); // after the snapshot
      // A 304 after the snapshot: new headers in place (same file), retained an hour from the new response.
      aUpdated = s.update(a, a.withHeaders(Headers.of("Content-Type", "text/plain", "ETag", "\"v2\""),
          T0 + 1000, T0 + 30 * 60_000L)).get(10, TimeUnit.SECONDS);
      image = crashImage();
    }

    CompletableFuture<Void> gate = new CompletableFuture<>();
    try (DiskStore s = open(image, gate)) {
      s.indexLoaded().get(10, TimeUnit.SECONDS);
      assertThat(s.lookup("http://a/b").get(10, TimeUnit.SECONDS)).containsExactly(b);
      assertThat(s.lookup("http://a/c").get(10, TimeUnit.SECONDS)).as("found on disk by its hash").containsExactly(c);

      gate.complete(null);
      s.scanned().get(10, TimeUnit.SECONDS);
      s.cleanUp();
      assertThat(s.entryCount()).isEqualTo(3);
      // Before anyone asked for a: the index keeps it as long as its update says, not as the snapshot said.
      StoreEntry ea = s.index().peek(s.hashOf(a.key()));
      assertThat(ea.retainUntil).isEqualTo(T0 + 30 * 60_000L + HOUR);
      assertThat(ea.isOf(aUpdated)).isTrue();
      assertThat(s.lookup("http://a/a").get(10, TimeUnit.SECONDS)).containsExactly(aUpdated);
      try (OpenEntry e = s.open(aUpdated).get(10, TimeUnit.SECONDS)) {
        assertThat(readBody(e)).isEqualTo(body(10, 1));
      }
    }
    assertThat(entryFiles(image)).isEqualTo(3);
    // The scan found files the snapshot did not know: a whole new one is written, the journal is gone.
    assertThat(IndexSnapshot.read(image, List.of("Surrogate-Key"), r -> { }).records()).isEqualTo(3);
    assertThat(IndexJournal.ids(image)).isEmpty();
  }

  @Test
  void nothingPurgedReplacedRemovedOrBannedAfterTheSnapshotComesBackAfterACrash() throws Exception {
    Path image;
    EntryMeta d2;
    EntryMeta kept;
    try (DiskStore s = open(dir, CompletableFuture.completedFuture(null))) {
      s.scanned().get(10, TimeUnit.SECONDS);
      store(s, meta("http://a/purged"), body(10, 1));
      EntryMeta removed = store(s, meta("http://a/removed"), body(10, 2));
      store(s, meta("http://a/banned/1"), body(10, 3));
      store(s, meta("http://a/d", "", T0), body(10, 4));
      kept = store(s, meta("http://a/kept"), body(10, 5));
      s.writeSnapshot();

      assertThat(s.invalidate("http://a/purged")).isEqualTo(1);
      s.remove(removed.key()); // as an eviction would
      d2 = store(s, meta("http://a/d", "", T0 + 10), body(10, 6)); // a newer response: a new file
      fx.clock.addAndGet(1000);
      s.ban(Bans.Kind.PREFIX, "http://a/banned/", "").get(10, TimeUnit.SECONDS);
      drainAllIo(); // a deletion still running on the other I/O thread would pull a file from under the copy
      image = crashImage();
    }
    assertThat(entryFiles(image)).as("purged, removed and replaced files were deleted before the crash").isEqualTo(3);

    CompletableFuture<Void> gate = new CompletableFuture<>();
    try (DiskStore s = open(image, gate)) {
      s.indexLoaded().get(10, TimeUnit.SECONDS);
      assertThat(s.lookup("http://a/purged").get(10, TimeUnit.SECONDS)).isEmpty();
      assertThat(s.lookup("http://a/removed").get(10, TimeUnit.SECONDS)).isEmpty();
      assertThat(s.lookup("http://a/banned/1").get(10, TimeUnit.SECONDS)).isEmpty();
      assertThat(s.lookup("http://a/d").get(10, TimeUnit.SECONDS)).as("the newer file, found on disk").containsExactly(d2);
      assertThat(s.lookup("http://a/kept").get(10, TimeUnit.SECONDS)).containsExactly(kept);

      gate.complete(null);
      s.scanned().get(10, TimeUnit.SECONDS);
      s.cleanUp();
      drainIo();
      assertThat(s.variants("http://a/purged")).isEmpty();
      assertThat(s.variants("http://a/removed")).isEmpty();
      assertThat(s.variants("http://a/d")).containsExactly(d2);
      assertThat(s.entryCount()).isEqualTo(2);
    }
    assertThat(entryFiles(image)).isEqualTo(2);
  }

  @Test
  void entriesOfTheSnapshotWhoseFilesAreGoneLeaveTheIndexWhenTheScanEnds() throws Exception {
    Path image;
    try (DiskStore s = open(dir, CompletableFuture.completedFuture(null))) {
      s.scanned().get(10, TimeUnit.SECONDS);
      for (int i = 0; i < 10; i++) {
        store(s, meta("http://a/" + i), body(10, i));
      }
      s.writeSnapshot();
      for (int i = 0; i < 5; i++) {
        s.invalidate("http://a/" + i);
      }
      drainAllIo(); // a deletion still running on the other I/O thread would pull a file from under the copy
      image = crashImage();
    }
    try (DiskStore s = open(image, CompletableFuture.completedFuture(null))) {
      s.scanned().get(10, TimeUnit.SECONDS); // nobody asked for the purged keys
      s.cleanUp();
      drainAllIo(); // the removal notices of the gone entries update the byte count on the I/O executor
      assertThat(s.entryCount()).isEqualTo(5);
      assertThat(s.weightedBytes()).as("the gone files are not counted").isEqualTo(diskBytes(image));
    }
  }

  @Test
  void aDamagedOrCutShortSnapshotFallsBackToTheScan() throws Exception {
    try (DiskStore s = open(dir, CompletableFuture.completedFuture(null))) {
      s.scanned().get(10, TimeUnit.SECONDS);
      for (int i = 0; i < 20; i++) {
        store(s, meta("http://a/" + i), body(10, i));
      }
    }
    Path snap = dir.resolve(IndexSnapshot.FILE);
    byte[] whole = Files.readAllBytes(snap);
    for (int variant = 0; variant < 3; variant++) {
      byte[] damaged = whole.clone();
      if (variant == 0) {
        damaged[damaged.length / 2] ^= 0x10; // a flipped bit inside the entries
      } else if (variant == 1) {
        damaged = java.util.Arrays.copyOf(whole, whole.length / 2); // cut short
      } else {
        java.util.Arrays.fill(damaged, (byte) 0x5a); // not a snapshot at all
      }
      Files.write(snap, damaged);
      try (DiskStore s = open(dir, CompletableFuture.completedFuture(null))) {
        s.scanned().get(10, TimeUnit.SECONDS);
        s.cleanUp();
        assertThat(s.entryCount()).as("variant %d", variant).isEqualTo(20);
        assertThat(s.variants("http://a/13")).hasSize(1);
      }
      assertThat(entryFiles(dir)).isEqualTo(20);
      IndexSnapshot.Result r = IndexSnapshot.read(dir, List.of("Surrogate-Key"), x -> { });
      assertThat(r.complete()).as("a whole snapshot written after the scan").isTrue();
      assertThat(r.records()).isEqualTo(20);
    }
  }

  @Test
  void entriesPastTheirRetentionAreNotLoadedAndTheirFilesAreDeleted() throws Exception {
    try (DiskStore s = open(dir, CompletableFuture.completedFuture(null))) {
      s.scanned().get(10, TimeUnit.SECONDS);
      store(s, meta("http://a/old", "", T0), body(10, 1));
      store(s, meta("http://a/new", "", T0 + HOUR), body(10, 2));
    }
    fx.clock.set(T0 + HOUR + 1);
    CompletableFuture<Void> gate = new CompletableFuture<>();
    try (DiskStore s = open(dir, gate)) {
      s.indexLoaded().get(10, TimeUnit.SECONDS);
      assertThat(s.entryCount()).isEqualTo(1);
      assertThat(entryFiles(dir)).isEqualTo(1);
      assertThat(s.variants("http://a/new")).hasSize(1);
      gate.complete(null);
      s.scanned().get(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void aCorruptEntryFileTheSnapshotKnowsIsDroppedAtItsFirstRead() throws Exception {
    EntryMeta m;
    try (DiskStore s = open(dir, CompletableFuture.completedFuture(null))) {
      s.scanned().get(10, TimeUnit.SECONDS);
      m = store(s, meta("http://a/x"), body(10, 1));
    }
    Path file = fx.entryFiles().get(0);
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.truncate(ch.size() - 1);
    }
    CompletableFuture<Void> gate = new CompletableFuture<>();
    try (DiskStore s = open(dir, gate)) {
      s.indexLoaded().get(10, TimeUnit.SECONDS);
      assertThat(s.entryCount()).isEqualTo(1);
      assertThat(s.lookup(m.primaryKey()).get(10, TimeUnit.SECONDS)).isEmpty();
      drainIo();
      s.cleanUp();
      drainIo();
      assertThat(s.entryCount()).isZero();
      assertThat(file).doesNotExist();
      gate.complete(null);
      s.scanned().get(10, TimeUnit.SECONDS);
    }
  }
  @Test
  void aFileIndexedFromTheSnapshotWhileALookupReadsItIsNotTakenForAnOlderCopyAndDeleted() throws Exception {
    EntryMeta m;
    try (DiskStore s = open(dir, CompletableFuture.completedFuture(null))) {
      s.scanned().get(10, TimeUnit.SECONDS);
      m = store(s, meta("http://a/raced"), body(10, 1));
    }
    Files.delete(dir.resolve(IndexSnapshot.FILE)); // the loader below is played by the hook
    // While the lookup's scan of the key's file reads it (the key check hashes the URL), the snapshot
    // loader indexes the same file: the scan must see the same generation, not a duplicate to delete.
    DiskStore[] store = new DiskStore[1];
    boolean[] armed = {true};
    KeyHasher racing = new KeyHasher() {
      @Override
      public String hash(String primary, String variant) {
        String h = KeyHasher.SHA256.hash(primary, variant);
        if (armed[0] && store[0] != null && primary.equals("http://a/raced") && StackWalker.getInstance()
            .walk(f -> f.anyMatch(x -> x.getMethodName().equals("readHeader")))) {
          armed[0] = false;
          Path file = fx.entryFiles().get(0);
          StoreLayout.Name name = StoreLayout.parse(file.getFileName().toString());
          store[0].index().putIfAbsent(store[0].entry(name.hash(), m, name.generation()));
        }
        return h;
      }

      @Override
      public String primaryHash(String primary) {
        return KeyHasher.SHA256.primaryHash(primary);
      }
    };
    CompletableFuture<Void> gate = new CompletableFuture<>();
    try (DiskStore s = DiskStore.open(new StoreConfig(dir, BIG, false).withTagHeaders(List.of("Surrogate-Key")), io,
        fx.clock::get, x -> x.responseTime() + HOUR, DiskStore.DEFAULT_MAX_OPEN_FILES, racing, gate)) {
      store[0] = s;
      s.indexLoaded().get(10, TimeUnit.SECONDS);
      assertThat(s.lookup("http://a/raced").get(10, TimeUnit.SECONDS)).containsExactly(m);
      assertThat(armed[0]).as("the race was played").isFalse();
      assertThat(fx.entryFiles()).hasSize(1);
      try (OpenEntry e = s.open(m).get(10, TimeUnit.SECONDS)) {
        assertThat(readBody(e)).isEqualTo(body(10, 1));
      }
      gate.complete(null);
      s.scanned().get(10, TimeUnit.SECONDS);
    }
  }
}
