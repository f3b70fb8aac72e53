package dev.zcproxy.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile clients against the resource bounds: too many connections, slowloris heads, clients that never
 * read a large body. Each test drives the resource to its bound and shows that normal clients are still
 * served, and asserts what the hostile client got and what the origin received.
 */
class HostileClientIT {
  @TempDir
  Path cacheDir;
  FixtureOrigin origin;
  ProxyFixture proxy;
  @RegisterExtension
  final RawConnections raw = new RawConnections(() -> proxy);

  @AfterEach
  void stop() throws Exception {
    if (proxy != null) {
      proxy.close();
    }
    if (origin != null) {
      origin.close();
    }
  }

  private static void send(Socket s, String raw) throws IOException {
    OutputStream out = s.getOutputStream();
    out.write(raw.getBytes(StandardCharsets.ISO_8859_1));
    out.flush();
  }

  /** Reads one response with a Content-Length body; returns the head and body as ISO-8859-1 text. */
  private static String readResponse(Socket s) throws IOException {
    InputStream in = s.getInputStream();
    String h = readHead(in);
    int length = 0;
    for (String line : h.split("\r\n")) {
      if (line.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:")) {
        length = Integer.parseInt(line.substring(15).trim());
      }
    }
    return h + new String(in.readNBytes(length), StandardCharsets.ISO_8859_1);
  }

  /** Reads a response head up to and including its empty line. */
  private static String readHead(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int state = 0;
    while (state < 4) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("closed after " + head);
      }
      head.write(b);
      state = (b == '\r' && (state == 0 || state == 2)) || (b == '\n' && (state == 1 || state == 3)) ? state + 1 : 0;
    }
    return head.toString(StandardCharsets.ISO_8859_1);
  }

  /** True when the peer closed (EOF or reset) within the socket's timeout. */
  private static boolean closedByPeer(Socket s) {
    try {
      InputStream in = s.getInputStream();
      while (in.read() >= 0) {
        // drain whatever came before the close
      }
      return true;
    } catch (SocketTimeoutException e) {
      return false;
    } catch (IOException e) {
      return true; // reset
    }
  }

  private static void await(BooleanSupplier condition, long timeoutMs, String what) throws InterruptedException {
    long deadline = System.nanoTime() + timeoutMs * 1_000_000;
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime()).as("waiting for " + what).isLessThan(deadline);
      Thread.sleep(10); // polling server-side counters; bounded by the deadline
    }
  }

  @Test
  void connectionsBeyondMaxConnectionsWaitToBeAcceptedWhileOpenOnesAreServed() throws Exception {
    origin = FixtureOrigin.start();
    origin.serve("/ok", "fine".getBytes(), "Cache-Control", "no-store");
    proxy = ProxyFixture.start(origin.url(), cacheDir, "listen.max-connections: 20");
    List<Socket> admitted = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      Socket s = raw.connect();
      send(s, "GET /ok HTTP/1.1\r\nHost: h\r\n\r\n");
      assertThat(readResponse(s)).startsWith("HTTP/1.1 200").endsWith("fine");
      admitted.add(s);
    }
    assertThat(proxy.server.openClientConnections()).isEqualTo(20);

    // at the bound the listener stops accepting: the 21st waits in the kernel's accept queue, its request unread
    Socket over = raw.connect();
    send(over, "GET /ok HTTP/1.1\r\nHost: h\r\n\r\n");

    // every admitted connection is still served (keep-alive)
    for (Socket s : admitted) {
      send(s, "GET /ok HTTP/1.1\r\nHost: h\r\n\r\n");
      assertThat(readResponse(s)).startsWith("HTTP/1.1 200").endsWith("fine");
    }
    assertThat(proxy.server.openClientConnections()).isEqualTo(20);
    assertThat(origin.requests("/ok")).as("the waiting request did not reach the origin").isEqualTo(40);
    assertThat(over.getInputStream().available()).as("nothing answered the waiting connection").isZero();

    // a slot freed by a closing client is taken by the waiting one, which is served
    admitted.get(0).close();
    assertThat(readResponse(over)).startsWith("HTTP/1.1 200").endsWith("fine");
    assertThat(proxy.server.openClientConnections()).isEqualTo(20);
    assertThat(proxy.server.rejectedClientConnections()).as("none was closed at accept").isZero();
    assertThat(origin.requests("/ok")).isEqualTo(41);
  }

  @Test
  void adminConnectionsHaveABoundAndAHeadTimeoutOfTheirOwn() throws Exception {
    origin = FixtureOrigin.start();
    origin.serve("/ok", "fine".getBytes(), "Cache-Control", "no-store");
    proxy = ProxyFixture.start(origin.url(), cacheDir, "listen.request-head-timeout: 1s", "listen.idle-timeout: 60s");
    String health = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    List<Socket> admitted = new ArrayList<>();
    for (int i = 0; i < 256; i++) {
      Socket s = raw.connectAdmin();
      send(s, health);
      assertThat(readResponse(s)).startsWith("HTTP/1.1 200").contains("\"status\":\"ok\"");
      admitted.add(s);
    }
    assertThat(proxy.server.openAdminConnections()).isEqualTo(256);

    // at its bound the admin listener stops accepting: the next waits in the accept queue, its request unread
    Socket over = raw.connectAdmin();
    send(over, health);
    for (Socket s : admitted) {
      send(s, health);
      assertThat(readResponse(s)).startsWith("HTTP/1.1 200");
    }
    assertThat(over.getInputStream().available()).as("nothing answered the waiting admin connection").isZero();
    // the client listener's connections are not the admin's: clients are served as before
    assertThat(proxy.get("/ok").statusCode()).isEqualTo(200);
    assertThat(proxy.server.openClientConnections()).isLessThan(256);

    // a freed slot is taken by the waiting connection, which is answered
    admitted.remove(0).close();
    assertThat(readResponse(over)).startsWith("HTTP/1.1 200");
    assertThat(proxy.server.openAdminConnections()).isEqualTo(256);

    // a head that never ends is cut at listen.request-head-timeout, as on the client listener, and gives its slot back
    admitted.remove(0).close();
    Socket loris = raw.connectAdmin();
    send(loris, "GET /health HTTP/1.1\r\nHo");
    loris.setSoTimeout(5_000);
    String got = new String(loris.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
    assertThat(got).startsWith("HTTP/1.1 408");
    await(() -> proxy.server.openAdminConnections() == 255, 5_000, "the slowloris connection's slot given back");
    // so is a connection that sends nothing at all (counted from its accept, not from its first bytes)
    Socket silent = raw.connectAdmin();
    silent.setSoTimeout(5_000);
    assertThat(closedByPeer(silent)).as("a silent admin connection closed at the head timeout").isTrue();
    await(() -> proxy.server.openAdminConnections() == 255, 5_000, "the silent connection's slot given back");
  }

  @Test
  void aClosedTunnelGivesItsConnectionSlotBack() throws Exception {
    origin = FixtureOrigin.start();
    var echo = origin.vertx().createNetServer().connectHandler(so -> so.handler(so::write))
        .listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, java.util.concurrent.TimeUnit.SECONDS);
    int port = echo.actualPort();
    proxy = ProxyFixture.start(origin.url(), cacheDir, "listen.max-connections: 2", "transfer.connect-ports: [" + port + "]");
    for (int i = 0; i < 5; i++) { // five tunnels one after another through a bound of two
      try (Socket s = raw.connect()) {
        send(s, "CONNECT 127.0.0.1:" + port + " HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\n\r\n");
        assertThat(readHead(s.getInputStream())).startsWith("HTTP/1.1 200");
        send(s, "ping");
        assertThat(new String(s.getInputStream().readNBytes(4), StandardCharsets.ISO_8859_1)).isEqualTo("ping");
      }
      await(() -> proxy.server.openClientConnections() == 0, 5_000, "the closed tunnel's slot to be given back");
    }
    assertThat(proxy.server.rejectedClientConnections()).isZero();
  }

  @Test
  void anH2cUpgradeIsAnsweredInHttp11AndNeverTunneled() throws Exception {
    origin = FixtureOrigin.start();
    origin.serve("/x", "hello".getBytes(), "Cache-Control", "max-age=60");
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    Socket s = raw.connect();
    // what java.net.http sends by default: an offer to switch this connection to HTTP/2
    send(s, "GET /x HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
        + "HTTP2-Settings: AAEAAEAAAAIAAAABAAMAAABkAAQBAAAAAAUAAEAA\r\n\r\n");
    assertThat(readResponse(s)).startsWith("HTTP/1.1 200").endsWith("hello");
    assertThat(origin.lastRequestHeaders().get("upgrade")).as("the offer is hop-by-hop: not forwarded").isNull();
    send(s, "GET /x HTTP/1.1\r\nHost: h\r\n\r\n");
    assertThat(readResponse(s)).as("the connection is still HTTP/1.1, now a hit").startsWith("HTTP/1.1 200").endsWith("hello");
    assertThat(origin.requests("/x")).isEqualTo(1);
  }

  @Test
  void slowlorisHeadsGet408AtTheHeadTimeoutWhileNormalRequestsAreServed() throws Exception {
    origin = FixtureOrigin.start();
    origin.serve("/ok", "fine".getBytes(), "Cache-Control", "no-store");
    origin.serve("/slow", "never".getBytes(), "Cache-Control", "no-store");
    proxy = ProxyFixture.start(origin.url(), cacheDir, "listen.request-head-timeout: 1s", "listen.idle-timeout: 60s");
    byte[] head = "GET /slow HTTP/1.1\r\nHost: h\r\nX-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1);
    int n = 40;
    List<Socket> loris = new ArrayList<>();
    boolean[] cut = new boolean[n];
    for (int i = 0; i < n; i++) {
      loris.add(raw.connect());
    }
    // one byte per connection every 100 ms: each byte resets an idle timer, only a head timer ends it
    long started = System.nanoTime();
    for (int k = 0; k < 30 && k < head.length - 4; k++) {
      for (int i = 0; i < n; i++) {
        if (cut[i]) {
          continue;
        }
        try {
          loris.get(i).getOutputStream().write(head[k]);
        } catch (IOException e) {
          cut[i] = true; // the proxy closed it
        }
      }
      if (k == 5) {
        // meanwhile, a normal client is served
        assertThat(proxy.get("/ok").statusCode()).isEqualTo(200);
      }
      Thread.sleep(100); // the attack's own pacing, not a wait for the proxy
    }
    long dribbledMs = (System.nanoTime() - started) / 1_000_000;
    assertThat(dribbledMs).as("the attack outlasted the head timeout").isGreaterThan(2_000);
    for (Socket s : loris) {
      s.setSoTimeout(5_000);
      String got = new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
      assertThat(got).startsWith("HTTP/1.1 408");
    }
    assertThat(origin.requests("/slow")).isZero();
    await(() -> proxy.server.openClientConnections() <= 1, 5_000, "slowloris connections to be closed");
    assertThat(proxy.get("/ok").statusCode()).isEqualTo(200);
  }

  @Test
  void aConnectionThatSendsNothingIsClosedAtTheHeadTimeout() throws Exception {
    origin = FixtureOrigin.start();
    proxy = ProxyFixture.start(origin.url(), cacheDir, "listen.request-head-timeout: 500ms");
    Socket s = raw.connect();
    s.setSoTimeout(10_000);
    assertThat(s.getInputStream().readAllBytes()).as("closed silently, no 408 for a connection that sent nothing").isEmpty();
    assertThat(origin.totalRequests()).isZero();
  }

  @Test
  void eachHeadOnAKeepAliveConnectionGetsTheWholeHeadTimeoutFromItsFirstByte() throws Exception {
    origin = FixtureOrigin.start();
    origin.serve("/ok", "fine".getBytes(), "Cache-Control", "no-store");
    proxy = ProxyFixture.start(origin.url(), cacheDir, "listen.request-head-timeout: 3s", "listen.idle-timeout: 60s");
    Socket s = raw.connect();
    long t0 = System.nanoTime();
    send(s, "GET /ok HTTP/1.1\r\nHost: h\r\n\r\n"); // its clock runs from t0 until its head is read
    assertThat(readResponse(s)).startsWith("HTTP/1.1 200");
    sleepUntil(t0, 1_500);
    send(s, "GET /ok HTTP/1.1\r\nHo"); // a new clock from here: it ends 3 s later, not 3 s after t0
    sleepUntil(t0, 3_400); // past the first head's 3 s, within this one's
    send(s, "st: h\r\n\r\n");
    assertThat(readResponse(s)).startsWith("HTTP/1.1 200").endsWith("fine");
    // and a head that stops half-way is still timed: 408, then closed
    send(s, "GET /ok HTTP/1.1\r\nHo");
    assertThat(readResponse(s)).startsWith("HTTP/1.1 408");
    assertThat(closedByPeer(s)).isTrue();
    assertThat(origin.requests("/ok")).isEqualTo(2);
  }

  /** The test's own pacing (a client that takes its time), not a wait for the proxy. */
  private static void sleepUntil(long startNanos, long ms) throws InterruptedException {
    long left = ms - (System.nanoTime() - startNanos) / 1_000_000;
    if (left > 0) {
      Thread.sleep(left);
    }
  }

  @Test
  void aKeepAliveConnectionIdleBetweenRequestsIsLeftToTheIdleTimeout() throws Exception {
    origin = FixtureOrigin.start();
    origin.serve("/ok", "fine".getBytes(), "Cache-Control", "no-store");
    proxy = ProxyFixture.start(origin.url(), cacheDir, "listen.request-head-timeout: 300ms", "listen.idle-timeout: 60s");
    Socket s = raw.connect();
    send(s, "GET /ok HTTP/1.1\r\nHost: h\r\n\r\n");
    assertThat(readResponse(s)).startsWith("HTTP/1.1 200");
    s.setSoTimeout(1_000); // three head timeouts: no 408 arrives on an idle keep-alive connection
    assertThat(closedByPeer(s)).isFalse();
    send(s, "GET /ok HTTP/1.1\r\nHost: h\r\n\r\n");
    assertThat(readResponse(s)).startsWith("HTTP/1.1 200").endsWith("fine");
  }

  private static long directBytes() {
    long sum = 0;
    for (BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
      if (pool.getName().equals("direct")) {
        sum += pool.getMemoryUsed();
      }
    }
    long netty = io.netty.util.internal.PlatformDependent.usedDirectMemory();
    return sum + Math.max(0, netty);
  }

  private static long heapAfterGc() {
    System.gc();
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }

  /** Live threads, without the test's own java.net.http client pool (it grows with the test's use, not the proxy's). */
  private static long threads() {
    return Thread.getAllStackTraces().keySet().stream().filter(t -> !t.getName().startsWith("HttpClient")).count();
  }

  /** Opens {@code n} clients that ask for {@code path} and never read a byte of the answer. */
  private void nonReaders(int n, String path) throws IOException {
    for (int i = 0; i < n; i++) {
      Socket s = new Socket();
      s.setReceiveBufferSize(4096); // before connect: a small window, so the proxy's writes back up at once
      raw.connect(s);
      // the Host the java.net.http client sends too: one cache key for both kinds of client
      send(s, "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + proxy.server.port() + "\r\n\r\n");
    }
  }

  @Test
  void clientsThatNeverReadALargeBodyHoldNeitherMemoryNorThreadsAndOthersAreServed() throws Exception {
    slowReaders("transfer.sendfile: true");
  }

  @Test
  void clientsThatNeverReadALargeBodyOnTheCopyPathAreBoundedByWriteBackPressure() throws Exception {
    slowReaders("transfer.sendfile: false");
  }

  private void slowReaders(String transfer) throws Exception {
    byte[] body = new byte[20 << 20];
    new Random(7).nextBytes(body);
    String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(body));
    origin = FixtureOrigin.start();
    // the origin trickles the body in 1 MiB pieces so the fill is under way while the non-readers pile up
    origin.trickle("/big", body, 20, "Cache-Control", "max-age=600");
    origin.serve("/small", "small".getBytes(), "Cache-Control", "max-age=600");
    proxy = ProxyFixture.start(origin.url(), cacheDir, transfer, "origin.max-connections: 8");
    // warm up every pool with a little traffic, then take the baselines
    assertThat(proxy.get("/small").statusCode()).isEqualTo(200);
    assertThat(proxy.get("/small").statusCode()).isEqualTo(200);
    long threadsBefore = threads();
    long directBefore = directBytes();
    long heapBefore = heapAfterGc();

    nonReaders(50, "/big"); // misses: all coalesce onto the one fill
    ProxyFixture.Streamed miss = proxy.getStreamed("/big");
    assertThat(miss.response().statusCode()).isEqualTo(200);
    assertThat(miss.bytes()).isEqualTo(body.length);
    assertThat(miss.sha256()).as("the fill went on for a reading client").isEqualTo(sha);
    proxy.server.metrics().whenStored(2).get(30, java.util.concurrent.TimeUnit.SECONDS);
    // 50 clients each owed 20 MiB by the fill (1 GiB in all): what the proxy holds for them stays small
    assertThat(directBytes() - directBefore).as("direct memory held for 50 non-readers of a fill").isLessThan(64L << 20);
    assertThat(heapAfterGc() - heapBefore).as("heap held for 50 non-readers of a fill").isLessThan(64L << 20);

    nonReaders(50, "/big"); // hits
    ProxyFixture.Streamed hit = proxy.getStreamed("/big");
    assertThat(hit.sha256()).isEqualTo(sha);
    assertThat(hit.response().headers().firstValue("x-cache")).hasValue("HIT");
    assertThat(origin.requests("/big")).as("one fill for 102 clients").isEqualTo(1);
    assertThat(proxy.server.openClientConnections()).as("the non-readers are still connected").isGreaterThanOrEqualTo(100);

    // and 50 more on the hit
    assertThat(directBytes() - directBefore).as("direct memory held for 100 non-readers").isLessThan(64L << 20);
    assertThat(heapAfterGc() - heapBefore).as("heap held for 100 non-readers").isLessThan(64L << 20);
    assertThat(threads() - threadsBefore).as("threads do not grow with connections").isLessThanOrEqualTo(4);

    raw.closeAll();
    // (the java.net.http client may keep its one keep-alive connection)
    await(() -> proxy.server.openClientConnections() <= 1, 10_000, "every non-reader to be counted out");
  }
}
