package dev.zcproxy.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * The cache directory on a real, small file system (a 16 MiB tmpfs, mounted by the test: needs root,
 * as in CI) that fills up: every client still gets its whole body, what cannot be stored passes
 * through, and the cache evicts and stores again once the disk was full.
 *
 * <p>Not root: the test fails, unless {@code -Dzcproxy.skipRootTests=true} (for local runs only).
 */
class DiskFullIT {
  static final int MIB = 1 << 20;

  @TempDir
  Path tmp;
  Path cacheDir;
  boolean mounted;
  FixtureOrigin origin;
  ProxyFixture proxy;
  ListAppender<ILoggingEvent> access;
  Logger accessLogger;

  @BeforeEach
  void mountTmpfs() throws Exception {
    cacheDir = tmp.resolve("cache");
    Files.createDirectories(cacheDir);
    if (!"root".equals(System.getProperty("user.name"))) {
      Assumptions.assumeFalse(Boolean.getBoolean("zcproxy.skipRootTests"), "not root: skipped (-Dzcproxy.skipRootTests)");
      fail("DiskFullIT mounts a tmpfs and must run as root (CI does); run with -Dzcproxy.skipRootTests=true to skip locally");
    }
    run("mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", cacheDir.toString());
    mounted = true;
    origin = FixtureOrigin.start();
    accessLogger = (Logger) LoggerFactory.getLogger("zcproxy.access");
    access = new ListAppender<>();
    access.start();
    accessLogger.addAppender(access);
  }

  @AfterEach
  void unmount() throws Exception {
    try {
      if (proxy != null) {
        proxy.close();
      }
      if (origin != null) {
        origin.close();
      }
      if (access != null) {
        accessLogger.detachAppender(access);
      }
    } finally {
      if (mounted) {
        run("umount", cacheDir.toString());
      }
    }
  }

  private static void run(String... cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException(String.join(" ", cmd) + " failed: " + out);
    }
  }

  static byte[] body(int size, int seed) {
    byte[] b = new byte[size];
    long x = seed * 0x9E3779B97F4A7C15L + 1;
    for (int i = 0; i < size; i++) {
      x ^= x << 13;
      x ^= x >>> 7;
      x ^= x << 17;
      b[i] = (byte) x;
    }
    return b;
  }

  static String sha256(byte[] b) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
  }

  private void start(String... extra) throws Exception {
    List<String> yaml = new ArrayList<>(List.of("cache.max-size: 1GiB", "cache.max-object-size: 1GiB", "cache.min-free: 1MiB",
        "logging.access-log: stdout"));
    yaml.addAll(List.of(extra));
    proxy = ProxyFixture.start(origin.url(), cacheDir, yaml.toArray(String[]::new));
  }

  /** Serves {@code body} with a long freshness lifetime. */
  private void serve(String path, byte[] body) {
    origin.serve(path, body, "Cache-Control", "max-age=600");
  }

  private long storeFailures() {
    Matcher m = Pattern.compile("\"store_failures\":(\\d+)").matcher(proxy.server.metrics().toJson());
    assertThat(m.find()).isTrue();
    return Long.parseLong(m.group(1));
  }

  /** The access-log lines for {@code path}: each must say 200 and the whole length. */
  private List<String> accessLines(String path) {
    List<String> out = new ArrayList<>();
    for (ILoggingEvent e : List.copyOf(access.list)) {
      if (e.getFormattedMessage().contains(" " + path + " ")) {
        out.add(e.getFormattedMessage());
      }
    }
    return out;
  }

  private void assertWhole(String path, byte[] expected) throws Exception {
    ProxyFixture.Streamed got = proxy.getStreamed(path);
    assertThat(got.response().statusCode()).isEqualTo(200);
    assertThat(got.bytes()).as("body bytes of %s", path).isEqualTo(expected.length);
    assertThat(got.sha256()).as("body of %s", path).isEqualTo(sha256(expected));
  }

  private String xCache(String path) throws Exception {
    HttpResponse<byte[]> r = proxy.get(path);
    return r.headers().firstValue("x-cache").orElse("");
  }

  /** Waits (bounded) until the access log has {@code n} lines for {@code path}: the line is written when the response ended. */
  private List<String> awaitAccessLines(String path, int n) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    List<String> lines = accessLines(path);
    while (lines.size() < n && System.nanoTime() < deadline) {
      Thread.sleep(20);
      lines = accessLines(path);
    }
    return lines;
  }

  @Test
  void anObjectLargerThanTheFileSystemPassesThroughWholeAndTheCacheStillStores() throws Exception {
    byte[] big = body(22 * MIB, 1);
    serve("/big", big);
    start();
    for (int i = 0; i < 3; i++) {
      assertWhole("/big", big);
    }
    assertThat(awaitAccessLines("/big", 3)).allSatisfy(l -> assertThat(l).contains(" 200 " + big.length + " "));
    assertThat(storeFailures()).isGreaterThanOrEqualTo(1);
    assertThat(origin.requests("/big")).isEqualTo(3);
    assertCacheStillWorks();
  }

  @Test
  void aFullDiskEvictsAndStoresAgain() throws Exception {
    start();
    // 3 MiB objects on a 16 MiB file system: at most four or five fit; each new one must be stored
    // (evicting older ones), never cut, never refused for good.
    for (int i = 0; i < 8; i++) {
      byte[] b = body(3 * MIB, 100 + i);
      serve("/o" + i, b);
      assertWhole("/o" + i, b);
      proxy.server.metrics().whenStored(i + 1).get(20, TimeUnit.SECONDS);
      assertThat(xCache("/o" + i)).as("object %d after the disk was full", i).isEqualTo("HIT");
    }
    assertThat(proxy.server.store().entryCount()).isLessThanOrEqualTo(5);
    assertThat(proxy.server.store().evictedForSpace()).as("entries evicted to make room on the file system").isGreaterThanOrEqualTo(3);
    assertThat(origin.requests("/o7")).isEqualTo(1);
    assertThat(awaitAccessLines("/o7", 2)).allSatisfy(l -> assertThat(l).contains(" 200 "));
  }

  @Test
  void eightParallelClientsOnLargeObjectsAllGetWholeBodies() throws Exception {
    int objects = 6;
    byte[][] bodies = new byte[objects][];
    for (int i = 0; i < objects; i++) {
      bodies[i] = body(8 * MIB, 200 + i);
      serve("/p" + i, bodies[i]);
    }
    start("listen.event-loops: 2");
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<String>> results = new ArrayList<>();
      for (int c = 0; c < 8; c++) {
        int client = c;
        results.add(pool.submit(() -> {
          for (int r = 0; r < 4; r++) {
            int o = (client + r * 3) % objects;
            ProxyFixture.Streamed got = proxy.getStreamed("/p" + o);
            if (got.response().statusCode() != 200 || got.bytes() != bodies[o].length || !got.sha256().equals(sha256(bodies[o]))) {
              return "client " + client + " /p" + o + ": " + got.response().statusCode() + " " + got.bytes() + " bytes";
            }
          }
          return "ok";
        }));
      }
      for (Future<String> f : results) {
        assertThat(f.get(180, TimeUnit.SECONDS)).isEqualTo("ok");
      }
    } finally {
      pool.shutdownNow();
    }
    for (int i = 0; i < objects; i++) {
      for (String line : awaitAccessLines("/p" + i, 1)) {
        assertThat(line).contains(" 200 " + bodies[i].length + " ");
      }
    }
    assertCacheStillWorks();
  }

  /**
   * After the disk was full: once the fills in flight have ended and the files evicted under readers
   * are closed (until then their space is not free, and a full disk may rightly pass a body through
   * unstored), a new object is stored and served as a hit.
   */
  private void assertCacheStillWorks() throws Exception {
    byte[] small = body(2 * MIB, 9);
    serve("/after", small);
    awaitQuiet();
    long stored = storedCount();
    assertWhole("/after", small);
    proxy.server.metrics().whenStored(stored + 1).get(20, TimeUnit.SECONDS);
    assertThat(xCache("/after")).isEqualTo("HIT");
    assertThat(origin.requests("/after")).isEqualTo(1);
  }

  /** Waits (bounded) until no fill is in flight and no deleted file under the cache directory is still open. */
  private void awaitQuiet() throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (fillsInFlight() > 0 || !openDeletedFiles().isEmpty()) {
      if (System.nanoTime() > deadline) {
        fail("still busy after 20 s: " + fillsInFlight() + " fills in flight, open deleted files " + openDeletedFiles());
      }
      Thread.sleep(20);
    }
  }

  private long fillsInFlight() {
    Matcher m = Pattern.compile("\"in_flight\":(\\d+)").matcher(proxy.server.metrics().toJson());
    assertThat(m.find()).isTrue();
    return Long.parseLong(m.group(1));
  }

  /** The files under the cache directory this JVM holds open although they were deleted. */
  private List<String> openDeletedFiles() throws IOException {
    List<String> out = new ArrayList<>();
    try (DirectoryStream<Path> fds = Files.newDirectoryStream(Path.of("/proc/self/fd"))) {
      for (Path fd : fds) {
        try {
          String target = Files.readSymbolicLink(fd).toString();
          if (target.startsWith(cacheDir.toString()) && target.endsWith(" (deleted)")) {
            out.add(target);
          }
        } catch (IOException closedMeanwhile) {
          // the descriptor was closed while listing
        }
      }
    }
    return out;
  }

  private long storedCount() {
    Matcher m = Pattern.compile("\"stored\":(\\d+)").matcher(proxy.server.metrics().toJson());
    assertThat(m.find()).isTrue();
    return Long.parseLong(m.group(1));
  }
}
