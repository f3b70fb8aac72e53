package dev.zcproxy.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The proxy as a child process under {@code ulimit -n 1024}, driven to both of its descriptor bounds at once: more
 * cache files hit than the store keeps open ({@code DiskStore.maxOpenFilesFor(1024)} = 256) and more client connections
 * than it admits (half the limit, 512, although {@code listen.max-connections} is left at its default of 10,000).
 *
 * <p>What is graceful here: connections beyond the bound wait in the kernel's accept queue (they hold no descriptor of
 * the proxy), the admitted ones (idle, busy, or sending their head byte by byte) are all served, misses and passes
 * still get origin connections, the admin port answers, closed slots are taken by the waiting connections, whose
 * requests are then answered, no {@code accept} ever fails with {@code EMFILE}, and every descriptor the flood took is
 * given back. Counted from outside: {@code /proc/<pid>/fd} and {@code /proc/net/tcp}.
 */
class DescriptorBoundIT {
  private static final int FD_LIMIT = 1024;
  private static final int OPEN_FILES = 256; // DiskStore.maxOpenFilesFor(1024): a quarter of the limit
  private static final int ADMITTED = FD_LIMIT / 2; // the clients' half
  private static final int KEYS = 400; // more than OPEN_FILES: the open-file set is full and evicting
  private static final int BODY = 2048; // above nothing: the RAM tier is off, every hit is a file hit
  private static final int WORKERS = 4;
  private static final int SLOW = 20;
  private static final int BEYOND = 300; // with these the client sockets alone would pass the limit
  private static final int ASKING = 20; // of those, the ones that send a request while they wait
  private static final String SLOW_HEAD = "GET /k/7 HTTP/1.1\r\nHost: h\r\n\r\n";

  @TempDir
  Path tmp;

  private FixtureOrigin origin;
  private Process proxy;
  private final List<String> log = new CopyOnWriteArrayList<>();
  private final List<SocketChannel> opened = new ArrayList<>();

  @AfterEach
  void stop() throws Exception {
    for (SocketChannel c : opened) {
      c.close();
    }
    if (proxy != null) {
      proxy.destroyForcibly();
      proxy.waitFor(20, TimeUnit.SECONDS);
    }
    if (origin != null) {
      origin.close();
    }
  }

  @Test
  void filesAndClientConnectionsAtTheirBoundsLeaveDescriptorsForOriginsAndAdminAndGiveThemAllBack() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(Path.of("/proc/self/fd")) && Files.exists(Path.of("/proc/net/tcp")),
        "counts descriptors in /proc (Linux)");
    origin = FixtureOrigin.start();
    for (int i = 0; i < KEYS; i++) {
      origin.serve("/k/" + i, body(i), "Cache-Control", "max-age=600");
    }
    for (int i = 0; i < 20; i++) {
      origin.serve("/m/" + i, body(1000 + i), "Cache-Control", "max-age=600");
    }
    origin.serve("/pass", body(2000), "Cache-Control", "no-store");
    Path cache = tmp.resolve("cache");
    int[] ports = start(cache);
    int port = ports[0];
    long pid = proxy.pid();

    // 1. the open-file set: every key filled, then hit, over a few keep-alive connections
    List<Socket> workers = new ArrayList<>();
    for (int i = 0; i < WORKERS; i++) {
      Socket s = new Socket();
      s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
      s.setSoTimeout(10_000);
      workers.add(s);
    }
    List<java.util.concurrent.Future<?>> fills = new ArrayList<>();
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(WORKERS);
    try {
      for (int w = 0; w < WORKERS; w++) {
        Socket s = workers.get(w);
        int first = w;
        fills.add(pool.submit(() -> {
          for (int i = first; i < KEYS; i += WORKERS) {
            assertThat(get(s, "/k/" + i).xCache).isEqualTo("MISS");
          }
          for (int i = first; i < KEYS; i += WORKERS) {
            Response r = get(s, "/k/" + i);
            assertThat(r.xCache).as("/k/" + i).isEqualTo("HIT");
            assertThat(r.body).isEqualTo(body(i));
          }
          return null;
        }));
      }
      for (var f : fills) {
        f.get(60, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    for (int i = 0; i < KEYS; i++) {
      assertThat(origin.requests("/k/" + i)).isEqualTo(1);
    }
    for (Socket s : workers) { // a pass on each connection first: splice pipes kept per event loop are not a leak
      assertThat(get(s, "/pass").body).isEqualTo(body(2000));
    }
    Path cacheReal = cache.toRealPath();
    await(() -> Fds.of(pid, port, origin.port(), cacheReal).files <= OPEN_FILES, "the open-file set to shrink to its bound",
        () -> Fds.of(pid, port, origin.port(), cacheReal) + "; cache files open more than once or not entries: "
            + Fds.oddFiles(pid, cacheReal));
    Fds before = Fds.of(pid, port, origin.port(), cacheReal);
    assertThat(before.files).as("cache files open: the set is full").isGreaterThan(OPEN_FILES / 2).isLessThanOrEqualTo(OPEN_FILES);
    assertThat(before.clients).isEqualTo(WORKERS);

    // 2. slow clients: the first half of a head, byte by byte, round robin
    List<SocketChannel> slow = new ArrayList<>();
    for (int i = 0; i < SLOW; i++) {
      slow.add(connect(port));
    }
    for (int k = 0; k < SLOW_HEAD.length() / 2; k++) {
      for (SocketChannel c : slow) {
        c.write(ByteBuffer.wrap(new byte[] {(byte) SLOW_HEAD.charAt(k)}));
      }
    }
    // 3. idle clients up to the bound, then the ones beyond it, the first of them with a request sent
    List<SocketChannel> idle = new ArrayList<>();
    for (int i = WORKERS + SLOW; i < ADMITTED; i++) {
      idle.add(connect(port));
    }
    await(() -> Fds.of(pid, port, origin.port(), cacheReal).clients == ADMITTED, "the proxy to accept up to the bound");
    List<SocketChannel> beyond = new ArrayList<>();
    for (int i = 0; i < BEYOND; i++) {
      beyond.add(connect(port));
    }
    for (SocketChannel c : beyond.subList(0, ASKING)) {
      c.write(ByteBuffer.wrap("GET /k/5 HTTP/1.1\r\nHost: h\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1)));
    }

    // 4. while the bound is held: hits, misses, passes on admitted connections; the admin port; the slow heads end
    for (int i = 0; i < KEYS; i += 10) {
      Response r = get(workers.get(0), "/k/" + i);
      assertThat(r.xCache).as("/k/%d: %d, Cache-Status %s", i, r.status, r.cacheStatus).isEqualTo("HIT");
      assertThat(r.cacheStatus).contains("hit");
      assertThat(r.body).isEqualTo(body(i));
    }
    int originBefore = origin.totalRequests();
    for (int i = 0; i < 20; i++) {
      Response r = get(workers.get(i % WORKERS), "/m/" + i);
      assertThat(r.status).isEqualTo(200);
      assertThat(r.xCache).isEqualTo("MISS");
      assertThat(r.body).isEqualTo(body(1000 + i));
    }
    for (int i = 0; i < 10; i++) {
      Response r = get(workers.get(i % WORKERS), "/pass");
      assertThat(r.status).isEqualTo(200);
      assertThat(r.body).isEqualTo(body(2000));
    }
    assertThat(origin.totalRequests() - originBefore).as("every miss and pass reached the origin").isEqualTo(30);
    int originAfterMisses = origin.totalRequests();
    for (int i = 0; i < 20; i++) {
      // a HIT, or (the response above may end before its fill is committed, as it did once under load) a request
      // that joined that fill: either way from the cache, never the origin again
      Response r = get(workers.get(i % WORKERS), "/m/" + i);
      assertThat(r.body).isEqualTo(body(1000 + i));
      if (!"HIT".equals(r.xCache)) {
        assertThat(r.cacheStatus).as("/m/%d: %s", i, r.xCache).contains("collapsed");
      }
    }
    assertThat(origin.totalRequests()).as("the second request for each /m/ key").isEqualTo(originAfterMisses);
    try (Socket admin = new Socket()) {
      admin.connect(new InetSocketAddress("127.0.0.1", ports[1]), 5_000);
      admin.setSoTimeout(10_000);
      Response health = get(admin, "/health");
      assertThat(health.status).isEqualTo(200);
    }
    for (SocketChannel c : slow) {
      c.write(ByteBuffer.wrap(SLOW_HEAD.substring(SLOW_HEAD.length() / 2).getBytes(StandardCharsets.ISO_8859_1)));
      c.configureBlocking(true);
      c.socket().setSoTimeout(10_000);
      Response r = read(c.socket().getInputStream());
      assertThat(r.xCache).isEqualTo("HIT");
      assertThat(r.body).isEqualTo(body(7));
    }

    // the ones beyond the bound wait in the kernel's accept queue: not accepted, not closed, not answered
    Fds peak = Fds.of(pid, port, origin.port(), cacheReal);
    assertThat(peak.clients).as("client connections held").isEqualTo(ADMITTED);
    assertThat(unanswered(beyond)).as("connections beyond the bound waiting").isEqualTo(BEYOND);
    assertThat(unanswered(idle)).as("the admitted idle connections stay open").isEqualTo(idle.size());
    assertThat(peak.total).isLessThan(FD_LIMIT);

    // 5. once the idle ones close, every waiting connection is accepted and the requests sent meanwhile are answered
    for (SocketChannel c : idle) {
      c.close();
    }
    await(() -> Fds.of(pid, port, origin.port(), cacheReal).clients == WORKERS + SLOW + BEYOND,
        "the waiting connections to be accepted");
    for (SocketChannel c : beyond.subList(0, ASKING)) {
      c.configureBlocking(true);
      c.socket().setSoTimeout(10_000);
      Response r = read(c.socket().getInputStream());
      assertThat(r.xCache).isEqualTo("HIT");
      assertThat(r.body).isEqualTo(body(5));
    }
    assertThat(unanswered(beyond.subList(ASKING, BEYOND))).as("the others accepted and open").isEqualTo(BEYOND - ASKING);
    try (Socket again = new Socket()) {
      again.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
      again.setSoTimeout(10_000);
      assertThat(get(again, "/k/3").xCache).isEqualTo("HIT");
    }

    // 6. everything closes: the descriptors come back, the proxy is alive and never ran out
    for (SocketChannel c : opened) {
      c.close();
    }
    for (Socket s : workers) {
      s.close();
    }
    await(() -> Fds.of(pid, port, origin.port(), cacheReal).clients == 0, "every client connection to be closed");
    Fds after = Fds.of(pid, port, origin.port(), cacheReal);
    assertThat(after.files).isLessThanOrEqualTo(OPEN_FILES);
    assertThat(after.other).as("descriptors that are neither client, origin nor cache file: no leak").isEqualTo(before.other);
    assertThat(proxy.isAlive()).isTrue();
    try (Socket last = new Socket()) {
      last.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
      last.setSoTimeout(10_000);
      assertThat(get(last, "/k/0").xCache).isEqualTo("HIT");
    }
    assertThat(log).noneMatch(l -> l.contains("Too many open files"));
    assertThat(log).anyMatch(l -> l.contains("listen.max-connections (10000) is more than half"));
    assertThat(log).anyMatch(l -> l.contains("listen.max-connections (512) reached: new client connections wait"));
    System.out.printf("DescriptorBoundIT: fds before %s, peak %s, after %s; origin requests %d%n",
        before, peak, after, origin.totalRequests());
  }

  /** Starts the jar under the descriptor limit; returns the proxy's and the admin's ports. */
  private int[] start(Path cache) throws Exception {
    Path yaml = tmp.resolve("proxy.yaml");
    Files.writeString(yaml, String.join("\n",
        "listen:", "  address: 127.0.0.1:0", "  request-head-timeout: 60s", "  idle-timeout: 60s",
        "origin:", "  url: " + origin.url(),
        "cache:", "  dir: " + cache, "  ram-size: 0",
        "admin:", "  address: 127.0.0.1:0",
        "logging:", "  access-log: off", ""));
    Path jar = Path.of("target", "zcproxy.jar").toAbsolutePath();
    assertThat(jar).exists();
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    ProcessBuilder pb = new ProcessBuilder("bash", "-c", "ulimit -n " + FD_LIMIT + " && exec \"$0\" \"$@\"",
        java, "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-jar", jar.toString(), "--config", yaml.toString())
        .redirectErrorStream(true);
    pb.environment().remove("ZCPROXY_ADMIN_TOKEN");
    proxy = pb.start();
    CountDownLatch started = new CountDownLatch(1);
    Thread reader = new Thread(() -> {
      try (var out = new java.io.BufferedReader(new java.io.InputStreamReader(proxy.getInputStream(), StandardCharsets.UTF_8))) {
        for (String l = out.readLine(); l != null; l = out.readLine()) {
          log.add(l);
          if (l.startsWith("zcproxy listening on")) {
            started.countDown();
          }
        }
      } catch (IOException e) {
        // the child is gone
      }
    }, "proxy-output");
    reader.setDaemon(true);
    reader.start();
    assertThat(started.await(60, TimeUnit.SECONDS)).as("start line; output: %s", log).isTrue();
    String line = log.stream().filter(l -> l.startsWith("zcproxy listening on")).findFirst().orElseThrow();
    Matcher m = Pattern.compile("http://127\\.0\\.0\\.1:(\\d+) .*admin http://127\\.0\\.0\\.1:(\\d+)").matcher(line);
    assertThat(m.find()).as(line).isTrue();
    return new int[] {Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2))};
  }

  private SocketChannel connect(int port) throws IOException {
    SocketChannel c = SocketChannel.open();
    opened.add(c);
    c.connect(new InetSocketAddress("127.0.0.1", port));
    c.configureBlocking(false);
    return c;
  }

  /** How many of {@code channels} are open and have nothing to read: neither answered nor closed by the proxy. */
  private static int unanswered(List<SocketChannel> channels) throws IOException {
    int quiet = 0;
    ByteBuffer b = ByteBuffer.allocate(1);
    for (SocketChannel c : channels) {
      b.clear();
      if (c.read(b) == 0) {
        quiet++;
      }
    }
    return quiet;
  }

  private static void await(BooleanSupplier condition, String what) throws Exception {
    await(condition, what, () -> "");
  }

  /** Polls {@code condition} for up to 15 s; on timeout fails naming {@code what} and what {@code state} says then. */
  private static void await(BooleanSupplier condition, String what, java.util.function.Supplier<String> state)
      throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        org.assertj.core.api.Assertions.fail("timed out waiting for " + what + ": " + state.get());
      }
      Thread.sleep(20); // polling another process's descriptors; bounded by the deadline
    }
  }

  static byte[] body(int seed) {
    byte[] b = new byte[BODY];
    for (int i = 0; i < b.length; i++) {
      b[i] = (byte) ('a' + (seed * 31 + i) % 26);
    }
    return b;
  }

  private record Response(int status, String xCache, String cacheStatus, byte[] body) {}

  private static Response get(Socket s, String path) throws IOException {
    s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: h\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
    return read(s.getInputStream());
  }

  /** One HTTP/1.1 response with a Content-Length body. */
  private static Response read(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int matched = 0;
    while (matched < 4) {
      int c = in.read();
      if (c < 0) {
        throw new IOException("closed after " + head);
      }
      head.write(c);
      matched = (c == "\r\n\r\n".charAt(matched)) ? matched + 1 : (c == '\r' ? 1 : 0);
    }
    String[] lines = head.toString(StandardCharsets.ISO_8859_1).split("\r\n");
    Map<String, String> fields = new HashMap<>();
    for (int i = 1; i < lines.length; i++) {
      int colon = lines[i].indexOf(':');
      fields.put(lines[i].substring(0, colon).trim().toLowerCase(), lines[i].substring(colon + 1).trim());
    }
    byte[] body = in.readNBytes(Integer.parseInt(fields.getOrDefault("content-length", "0")));
    return new Response(Integer.parseInt(lines[0].split(" ")[1]), fields.get("x-cache"), fields.get("cache-status"), body);
  }

  /** The child's descriptors by kind: client sockets, origin sockets, cache files and the rest. */
  private record Fds(int total, int clients, int origins, int files, int other) {
    static Fds of(long pid, int proxyPort, int originPort, Path cache) {
      Map<String, int[]> sockets = tcpSockets();
      int total = 0;
      int clients = 0;
      int origins = 0;
      int files = 0;
      String[] names = Path.of("/proc", Long.toString(pid), "fd").toFile().list();
      assertThat(names).as("/proc/%d/fd", pid).isNotNull();
      for (String n : names) {
        String target;
        try {
          target = Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), "fd", n)).toString();
        } catch (IOException closedMeanwhile) {
          continue;
        }
        total++;
        if (target.startsWith(cache.toString())) {
          files++;
        } else if (target.startsWith("socket:[")) {
          int[] ports = sockets.get(target.substring(8, target.length() - 1));
          if (ports != null && ports[0] == proxyPort && ports[2] != 0x0A) {
            clients++;
          } else if (ports != null && ports[1] == originPort) {
            origins++;
          }
        }
      }
      return new Fds(total, clients, origins, files, total - clients - origins - files);
    }

    /**
     * For a failure message: how many distinct cache files the process holds, the ones it holds by more than one
     * descriptor, and the ones that are not entries (temporary files, journals, snapshots, the directory itself).
     */
    static String oddFiles(long pid, Path cache) {
      Map<String, Integer> open = new java.util.TreeMap<>();
      String[] names = Path.of("/proc", Long.toString(pid), "fd").toFile().list();
      for (String n : names == null ? new String[0] : names) {
        try {
          String target = Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), "fd", n)).toString();
          if (target.startsWith(cache.toString())) {
            open.merge(cache.relativize(Path.of(target.replace(" (deleted)", ""))).toString()
                + (target.endsWith(" (deleted)") ? " (deleted)" : ""), 1, Integer::sum);
          }
        } catch (IOException | RuntimeException closedMeanwhile) {
          // gone between list and read
        }
      }
      List<String> odd = new ArrayList<>();
      open.forEach((f, count) -> {
        if (count > 1 || f.contains("deleted") || !f.contains("/") || f.contains("tmp") || f.contains("index")) {
          odd.add(f + " x" + count);
        }
      });
      return open.size() + " distinct, " + odd.size() + " odd " + odd.subList(0, Math.min(odd.size(), 20));
    }

    /** inode to {local port, remote port, state}, from /proc/net/tcp and tcp6. */
    private static Map<String, int[]> tcpSockets() {
      Map<String, int[]> m = new HashMap<>();
      for (String f : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
        List<String> lines;
        try {
          lines = Files.readAllLines(Path.of(f));
        } catch (IOException e) {
          continue;
        }
        for (String l : lines.subList(1, lines.size())) {
          String[] c = l.trim().split("\\s+");
          int local = Integer.parseInt(c[1].substring(c[1].indexOf(':') + 1), 16);
          int remote = Integer.parseInt(c[2].substring(c[2].indexOf(':') + 1), 16);
          m.put(c[9], new int[] {local, remote, Integer.parseInt(c[3], 16)});
        }
      }
      return m;
    }
  }
}
