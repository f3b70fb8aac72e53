package dev.zcproxy.cache.store;

import static dev.zcproxy.cache.store.StoreFixture.HOUR;
import static dev.zcproxy.cache.store.StoreFixture.T0;
import static dev.zcproxy.cache.store.StoreFixture.body;
import static dev.zcproxy.cache.store.StoreFixture.meta;
import static dev.zcproxy.cache.store.StoreFixture.readBody;
import static dev.zcproxy.cache.store.StoreFixture.store;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.zcproxy.cache.EntryMeta;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
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
 * Lookups now that heads live in the entry files: a key hash is never trusted alone (a forced
 * collision serves nothing of the other URL), and after a restart a key the scan has not reached yet
 * is found on disk by its hash.
 */
class DiskStoreLookupTest {
  /** Every key hashes to the same 32 digits. */
  static final KeyHasher COLLIDING = new KeyHasher() {
    @Override
    public String hash(String primary, String variant) {
      return "0123456789abcdef0123456789abcdef";
    }

    @Override
    public String primaryHash(String primary) {
      return "fedcba9876543210fedcba9876543210";
    }
  };

  @TempDir Path tempDir;
  Path dir;
  StoreFixture fx;
  ExecutorService io;

  /** Tens of thousands of files are slow to create on a busy disk: /dev/shm when it is a writable tmpfs. */
  @BeforeEach
  void setUp() throws IOException {
    Path shm = Path.of("/dev/shm");
    dir = Files.isDirectory(shm) && Files.isWritable(shm)
        ? Files.createTempDirectory(shm, "zcproxy-lookup-")
        : tempDir.resolve("cache");
    fx = new StoreFixture(dir);
    io = Executors.newFixedThreadPool(3);
  }

  @AfterEach
  void tearDown() throws Exception {
    io.shutdownNow();
    io.awaitTermination(10, TimeUnit.SECONDS);
    if (!dir.startsWith(tempDir)) {
      try (Stream<Path> s = Files.walk(dir)) {
        for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(p);
        }
      }
    }
  }

  private DiskStore open(KeyHasher hasher, CompletableFuture<?> scanGate) {
    return DiskStore.open(new StoreConfig(dir, 1L << 30, false), io, fx.clock::get, m -> m.responseTime() + HOUR,
        DiskStore.DEFAULT_MAX_OPEN_FILES, hasher, scanGate);
  }

  @Test
  void theLookupKeyIsTheFileNamesHash() {
    for (String[] k : new String[][] {{"http://a/1", ""}, {"https://b.example/x?y=1", "gzip"}, {"http://caf\u00e9/\u2603", "br;v"}}) {
      assertThat(KeyHasher.SHA256.key(k[0], k[1]))
          .isEqualTo(Key128.of(dev.zcproxy.cache.CacheKey.of(k[0], k[1]).hash()))
          .extracting(Key128::hex).isEqualTo(dev.zcproxy.cache.CacheKey.of(k[0], k[1]).hash());
    }
  }

  @Test
  void aForcedHashCollisionNeverServesTheOtherUrlsObject() throws Exception {
    try (DiskStore s = open(COLLIDING, CompletableFuture.completedFuture(null))) {
      s.scanned().get(10, TimeUnit.SECONDS);
      EntryMeta a = store(s, meta("http://a/1"), body(10, 1));
      EntryMeta b = store(s, meta("http://a/2"), body(20, 2)); // same hash: replaces a in the index

      for (int round = 0; round < 2; round++) { // heads cached, then read from the file
        assertThat(s.variants("http://a/1")).isEmpty();
        assertThat(s.lookup("http://a/1").get(10, TimeUnit.SECONDS)).isEmpty();
        assertThat(s.head(a.key()).get(10, TimeUnit.SECONDS)).isNull();
        assertThatThrownBy(() -> s.open(a).join()).hasCauseInstanceOf(NoSuchFileException.class);

        assertThat(s.lookup("http://a/2").get(10, TimeUnit.SECONDS)).containsExactly(b);
        try (OpenEntry e = s.open(b).get(10, TimeUnit.SECONDS)) {
          assertThat(e.meta()).isEqualTo(b);
          assertThat(readBody(e)).isEqualTo(body(20, 2));
        }
        s.dropHeads();
      }
      assertThat(s.invalidate("http://a/1")).isLessThanOrEqualTo(1); // may evict b: a cache may always forget
    }
  }

  @Test
  void openNowGivesOnlyAFileAlreadyOpenAndNothingOnceTheEntryIsGone() throws Exception {
    try (DiskStore s = open(KeyHasher.SHA256, CompletableFuture.completedFuture(null))) {
      s.scanned().get(10, TimeUnit.SECONDS);
      EntryMeta a = store(s, meta("http://a/now"), body(3000, 7));
      s.dropHeads();
      assertThat(s.openNow(a)).as("head not in memory: the disk would be read").isNull();
      assertThat(s.lookup("http://a/now").get(10, TimeUnit.SECONDS)).containsExactly(a);
      try (OpenEntry first = s.open(a).get(10, TimeUnit.SECONDS)) { // opened on the I/O pool, then kept open
        assertThat(readBody(first)).isEqualTo(body(3000, 7));
      }
      OpenEntry now = s.openNow(a);
      assertThat(now).as("the open-file cache holds it").isNotNull();
      try (now) {
        assertThat(now.meta()).isEqualTo(a);
        assertThat(s.openNow(meta("http://a/other"))).as("another key").isNull();
        assertThat(s.invalidate("http://a/now")).isEqualTo(1);
        assertThat(s.openNow(a)).as("no longer indexed").isNull();
        assertThat(readBody(now)).as("a file open when its entry went is still read whole").isEqualTo(body(3000, 7));
      }
    }
  }

  @Test
  void theStoreKeepsWhatClientConnectionsLeaveOfTheDescriptorLimitOpen() {
    assertThat(DiskStore.maxOpenFilesFor(-1)).as("limit unknown").isEqualTo(1024);
    assertThat(DiskStore.maxOpenFilesFor(1024)).as("a quarter of a small limit").isEqualTo(256);
    assertThat(DiskStore.maxOpenFilesFor(4096)).isEqualTo(1024);
    assertThat(DiskStore.maxOpenFilesFor(20_000)).as("half for clients, 1,024 for the rest").isEqualTo(8_976);
    assertThat(DiskStore.maxOpenFilesFor(65_536)).as("bin/zcproxy's limit where permitted: 10,000 keys' files fit")
        .isEqualTo(16_384);
    assertThat(DiskStore.maxOpenFilesFor(1L << 20)).isEqualTo(16_384);
  }

  @Test
  void byDefaultMoreThan1024FilesStayOpenSoTheirHitsNeedNoOpen() throws Exception {
    long fdLimit = ((com.sun.management.UnixOperatingSystemMXBean)
        java.lang.management.ManagementFactory.getOperatingSystemMXBean()).getMaxFileDescriptorCount();
    int n = 2_000;
    org.junit.jupiter.api.Assumptions.assumeTrue(DiskStore.maxOpenFilesFor(fdLimit) >= n, "descriptor limit " + fdLimit);
    try (DiskStore s = DiskStore.open(new StoreConfig(dir, 1L << 30, false), io, fx.clock::get,
        m -> m.responseTime() + HOUR)) {
      s.scanned().get(10, TimeUnit.SECONDS);
      List<EntryMeta> metas = new java.util.ArrayList<>();
      for (int i = 0; i < n; i++) {
        metas.add(store(s, meta("http://a/many?k=" + i), body(100, i)));
      }
      for (EntryMeta m : metas) { // each hit's first open, on the I/O pool; the file is then kept open
        s.open(m).get(10, TimeUnit.SECONDS).close();
      }
      s.cleanUp();
      int open = 0;
      for (EntryMeta m : metas) {
        OpenEntry now = s.openNow(m);
        if (now != null) {
          open++;
          now.close();
        }
      }
      assertThat(open).as("files a later hit finds open (no open(2), the front path)").isEqualTo(n);
    }
  }

  @Test
  void openNowHandsNothingToTheIoExecutorHoweverOftenItIsCalled() throws Exception {
    // its Javadoc's promise ("schedules nothing"): the hit path calls it on an event loop, where a task to the I/O pool
    // every few reads (the open-file set's maintenance) cost a thread wake-up each way
    java.util.concurrent.atomic.AtomicInteger tasks = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.Executor counting = task -> {
      tasks.incrementAndGet();
      io.execute(task);
    };
    try (DiskStore s = DiskStore.open(new StoreConfig(dir, 1L << 30, false), counting, fx.clock::get,
        m -> m.responseTime() + HOUR, 128, KeyHasher.SHA256, CompletableFuture.completedFuture(null))) {
      // 100 files of at most 128 open: over half the bound, where Caffeine starts recording reads (its sketch is made)
      s.scanned().get(10, TimeUnit.SECONDS);
      List<EntryMeta> metas = new java.util.ArrayList<>();
      for (int i = 0; i < 100; i++) {
        metas.add(store(s, meta("http://a/tasks?k=" + i), body(100, i)));
      }
      for (EntryMeta m : metas) { // each file's first open, on the I/O pool; then kept open
        s.open(m).get(10, TimeUnit.SECONDS).close();
      }
      s.cleanUp();
      int before = tasks.get();
      for (int round = 0; round < 50; round++) {
        for (EntryMeta m : metas) {
          OpenEntry now = s.openNow(m);
          assertThat(now).as("kept open").isNotNull();
          now.close();
        }
      }
      assertThat(tasks.get() - before).as("tasks handed to the I/O executor by 5,000 openNow calls").isZero();
    }
  }

  @Test
  void aVaryVariantOfACollidingUrlIsNotServedEither() throws Exception {
    try (DiskStore s = open(COLLIDING, CompletableFuture.completedFuture(null))) {
      s.scanned().get(10, TimeUnit.SECONDS);
      EntryMeta gz = store(s, meta("http://a/v", "gzip", T0), body(10, 1));
      s.dropHeads();
      assertThat(s.variants("http://a/other")).isEmpty();
      assertThat(s.variants("http://a/v")).containsExactly(gz);
    }
  }

  @Test
  void afterARestartAKeyTheScanHasNotReachedIsFoundOnDiskNotMissed() throws Exception {
    int n = 20_000;
    List<EntryMeta> seeded = seed(n);
    CompletableFuture<Void> gate = new CompletableFuture<>();
    try (DiskStore s = open(KeyHasher.SHA256, gate)) {
      EntryMeta wanted = seeded.get(12_345);
      List<EntryMeta> found = s.lookup(wanted.primaryKey()).get(10, TimeUnit.SECONDS);

      assertThat(s.scanned()).as("the scan is held").isNotDone();
      assertThat(found).containsExactly(wanted);
      try (OpenEntry e = s.open(found.get(0)).get(10, TimeUnit.SECONDS)) {
        assertThat(readBody(e)).isEqualTo(body(16, 12_345));
      }
      assertThat(s.foundOnDisk()).isEqualTo(1);
      assertThat(s.entryCount()).isEqualTo(1);
      assertThat(s.lookup("http://seed.example/not-there").get(10, TimeUnit.SECONDS)).isEmpty();

      gate.complete(null);
      s.scanned().get(120, TimeUnit.SECONDS);
      s.cleanUp();
      assertThat(s.entryCount()).isEqualTo(n);
      assertThat(fx.entryFiles()).hasSize(n); // the one found early was neither indexed twice nor deleted
      assertThat(s.variants(seeded.get(0).primaryKey())).containsExactly(seeded.get(0));
      assertThat(s.variants(wanted.primaryKey())).containsExactly(wanted);
    }
  }

  @Test
  void aPurgeWhileTheScanRunsIsNotUndoneByTheScan() throws Exception {
    List<EntryMeta> seeded = seed(50);
    CompletableFuture<Void> gate = new CompletableFuture<>();
    try (DiskStore s = open(KeyHasher.SHA256, gate)) {
      EntryMeta purged = seeded.get(7);
      s.invalidate(purged.primaryKey()); // nothing indexed yet: its file is still on disk
      io.submit(() -> { }).get(10, TimeUnit.SECONDS); // work the purge queued
      io.submit(() -> { }).get(10, TimeUnit.SECONDS);

      gate.complete(null);
      s.scanned().get(60, TimeUnit.SECONDS);
      s.cleanUp();
      assertThat(s.variants(purged.primaryKey())).isEmpty();
      assertThat(s.variants(seeded.get(8).primaryKey())).containsExactly(seeded.get(8));
      assertThat(s.entryCount()).isEqualTo(49);
    }
  }

  /** Writes {@code n} entry files straight into place, as an earlier run would have left them. */
  private List<EntryMeta> seed(int n) throws IOException {
    StoreLayout layout = new StoreLayout(dir);
    Set<Path> dirs = new HashSet<>();
    List<EntryMeta> out = new java.util.ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      byte[] body = body(16, i);
      EntryMeta m = meta("http://seed.example/o/" + i);
      byte[] metaBytes = EntryFormat.encodeMeta(m);
      long offset = EntryFormat.bodyOffsetFor(metaBytes.length);
      Path file = layout.entryPath(m.key().hash(), (0x5EEDL << 40) | i);
      if (dirs.add(file.getParent())) {
        Files.createDirectories(file.getParent());
      }
      try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
        DiskStore.writeFully(ch, EntryFormat.encodeHeader(metaBytes, offset, body.length), 0);
        DiskStore.writeFully(ch, ByteBuffer.wrap(body), offset);
      }
      out.add(m.withBody(body.length, offset));
    }
    return out;
  }
}
