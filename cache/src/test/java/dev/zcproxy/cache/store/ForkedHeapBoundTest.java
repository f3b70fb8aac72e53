package dev.zcproxy.cache.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.CacheKey;
import dev.zcproxy.cache.EntryMeta;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * End to end in a JVM with a small heap ({@code -Xmx16m}, the store with its default index heap
 * share): a directory holding far more tiny entries than that heap can index is scanned at start,
 * more are stored through the API, and the store restarts again; no OutOfMemoryError, the index
 * within its budget, lookups served, and the disk holding exactly the indexed files. Before the index
 * was bounded by heap, the first scan died of OutOfMemoryError, and so did every restart.
 */
class ForkedHeapBoundTest {
  private static final String HEAP = "-Xmx16m";
  /** On disk before the first start: more than 25% of 16 MiB can index (and ten times what 16 MiB could before heads left the index). */
  private static final int SEEDED = 30_000;
  private static final int FILLED = 6_000;

  @TempDir Path tempDir;
  Path dir;

  /**
   * Creating tens of thousands of files is slow on a busy disk (about 2 ms each here), and this test
   * is about heap, not disk: it works in /dev/shm when that is a writable tmpfs, else in a temp dir.
   */
  @BeforeEach
  void setUp() throws IOException {
    Path shm = Path.of("/dev/shm");
    dir = Files.isDirectory(shm) && Files.isWritable(shm)
        ? Files.createTempDirectory(shm, "zcproxy-heap-bound-")
        : tempDir.resolve("cache");
  }

  @AfterEach
  void tearDown() throws IOException {
    if (!dir.startsWith(tempDir)) {
      try (Stream<Path> s = Files.walk(dir)) {
        for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(p);
        }
      }
    }
  }

  @Test
  void aSmallHeapNeverDiesOfTheNumberOfObjects() throws Exception {
    seed(SEEDED);

    Map<String, Long> scan = child("scan", dir.toString(), Integer.toString(SEEDED));
    assertWithinBudget(scan);
    assertThat(scan.get("found")).isEqualTo(scan.get("entries"));
    assertThat(scan.get("served")).isPositive();
    assertThat(entryFiles()).isEqualTo(scan.get("entries")); // the rest was deleted, not left uncounted

    Map<String, Long> fill = child("fill", dir.toString(), Integer.toString(SEEDED), Integer.toString(FILLED));
    assertWithinBudget(fill);

    Map<String, Long> restart = child("scan", dir.toString(), Integer.toString(SEEDED + FILLED));
    assertWithinBudget(restart);
    assertThat(restart.get("found")).isEqualTo(restart.get("entries"));
    assertThat(restart.get("entries")).isGreaterThan(fill.get("entries") * 9 / 10);
    assertThat(entryFiles()).isEqualTo(restart.get("entries"));
  }

  private static void assertWithinBudget(Map<String, Long> r) {
    assertThat(r.get("heap")).isLessThanOrEqualTo(r.get("budget"));
    assertThat(r.get("heap")).isGreaterThan(r.get("budget") / 2); // it did fill up
    assertThat(r.get("budget")).isLessThanOrEqualTo(r.get("max") / 4);
  }

  /** Writes {@code n} entry files as an earlier run with a bigger heap would have left them. */
  private void seed(int n) throws IOException {
    StoreLayout layout = new StoreLayout(dir);
    Set<Path> dirs = new HashSet<>();
    byte[] body = new byte[16];
    for (int i = 0; i < n; i++) {
      EntryMeta m = HeapEstimateTest.typical(i);
      String hash = CacheKey.of(m.primaryKey(), m.variant()).hash();
      byte[] metaBytes = EntryFormat.encodeMeta(m);
      long offset = EntryFormat.bodyOffsetFor(metaBytes.length);
      Path file = layout.entryPath(hash, (0x5EED00L << 40) | i);
      if (dirs.add(file.getParent())) {
        Files.createDirectories(file.getParent());
      }
      try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
        DiskStore.writeFully(ch, EntryFormat.encodeHeader(metaBytes, offset, body.length), 0);
        DiskStore.writeFully(ch, ByteBuffer.wrap(body), offset);
      }
    }
  }

  private long entryFiles() throws IOException {
    try (Stream<Path> s = Files.walk(dir)) {
      return s.filter(Files::isRegularFile).filter(p -> !p.getParent().getFileName().toString().equals(StoreLayout.TMP))
          .filter(p -> !p.getParent().equals(dir)) // the index snapshot
          .count();
    }
  }

  /** Runs {@link HeapBoundChild} in a JVM with {@link #HEAP}; returns its RESULT numbers. */
  private Map<String, Long> child(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), HEAP, "-XX:+ExitOnOutOfMemoryError",
        "-cp", System.getProperty("java.class.path"), HeapBoundChild.class.getName()));
    cmd.addAll(List.of(args));
    Path out = Files.createTempFile(tempDir, "child", ".log");
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
    try {
      assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("child finished in 120 s").isTrue();
      String log = Files.readString(out);
      assertThat(p.exitValue()).as("child %s exit status; its output:%n%s", args[0], log).isZero();
      String line = log.lines().filter(l -> l.startsWith("RESULT ")).findFirst().orElseThrow();
      System.out.println(args[0] + ": " + line);
      Map<String, Long> r = new HashMap<>();
      for (String kv : line.substring("RESULT ".length()).split(" ")) {
        String[] parts = kv.split("=");
        r.put(parts[0], Long.parseLong(parts[1]));
      }
      return r;
    } finally {
      p.destroyForcibly();
      Files.deleteIfExists(out);
    }
  }
}
