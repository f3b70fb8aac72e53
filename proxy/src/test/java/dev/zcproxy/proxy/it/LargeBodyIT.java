package dev.zcproxy.proxy.it;

import static dev.zcproxy.proxy.it.FastHitIT.read;
import static dev.zcproxy.proxy.it.FastHitIT.readHead;
import static dev.zcproxy.proxy.it.FastHitIT.send;
import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.CacheOutcome;
import dev.zcproxy.proxy.it.FastHitIT.Response;
import dev.zcproxy.proxy.transfer.TransferMode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Large bodies (8 MiB) to a slow client, by the zero-copy paths (a hit by sendfile, a pass by splice) and by the copy
 * paths: the client reads through a 4 KiB receive buffer a kilobyte at a time, so the proxy's socket fills and each
 * body goes out in many partial sendfile/splice calls, each resumed on a writability wake-up. The bytes are the
 * origin's, the counted bytes are the body's length under the mode that moved them, and a client that leaves in the
 * middle of a spliced pass leaves the proxy answering the next one whole.
 */
class LargeBodyIT extends OriginAndProxy {
  private static final int SIZE = 8 << 20;
  private static final byte[] BODY = CachingIT.body(SIZE, 8);
  /** From 1 MiB up to cork-hits-from: corked for a connection's first 16 MiB of such bodies, then not (HitCork). */
  private static final byte[] FIRST = CachingIT.body((1 << 20) + 3, 9);

  @RegisterExtension
  final AccessLogCapture access = new AccessLogCapture();
  final BlockingQueue<String> lines = access.lines;
  @RegisterExtension
  final RawConnections raw = new RawConnections(() -> proxy);

  @BeforeEach
  void routes() {
    origin.serve("/hit", BODY, "Cache-Control", "max-age=600", "ETag", "\"h\"");
    origin.serve("/pass", BODY, "Cache-Control", "no-store");
    origin.serve("/first", FIRST, "Cache-Control", "max-age=600");
  }

  @ParameterizedTest(name = "zero-copy={0}")
  @ValueSource(booleans = {true, false})
  void aSlowClientGetsALargeHitWholeByEitherPathAndTheBytesAreCountedOnce(boolean zeroCopy) throws Exception {
    proxy = ProxyFixture.start(origin.url(), cacheDir, "logging.access-log: stdout",
        "transfer.sendfile: " + zeroCopy, "transfer.splice: " + zeroCopy);
    Socket fill = raw.connect();
    send(fill, "GET /hit HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n");
    assertThat(read(fill).body()).isEqualTo(BODY);
    proxy.server.metrics().whenStored(1).get(20, TimeUnit.SECONDS);
    assertThat(FastHitIT.drain(lines, 1).get(0)).contains("MISS");
    TransferMode mode = zeroCopy ? TransferMode.SENDFILE : TransferMode.COPY;
    long bytesBefore = proxy.server.metrics().bytes(mode);

    Socket slow = slowClient();
    for (int i = 0; i < 2; i++) { // twice on one connection: the second starts after a cut-up first
      send(slow, "GET /hit HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n");
      Response r = readSlowly(slow);
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.field("x-cache")).isEqualTo("HIT");
      assertThat(r.body()).as("hit %d", i).isEqualTo(BODY);
    }
    assertThat(FastHitIT.drain(lines, 2))
        .allSatisfy(l -> assertThat(l).contains("\" 200 " + SIZE + " ").contains(" HIT " + (zeroCopy ? "sendfile" : "copy") + " complete"));
    proxy.server.metrics().whenResponses(CacheOutcome.HIT, 2).get(10, TimeUnit.SECONDS);
    assertThat(proxy.server.metrics().bytes(mode) - bytesBefore).as("body bytes counted").isEqualTo(2L * SIZE);
    assertThat(origin.requests("/hit")).isEqualTo(1);
  }

  @Test
  void withAFixedSmallSendBufferLargeHitsAndPassesStillGoWholeByTheZeroCopyPaths() throws Exception {
    // listen.send-buffer: 64 KiB, far below what autotuning reaches, so every body goes out in 128+ partial writes
    // (and no large hit raises it for its body)
    proxy = ProxyFixture.start(origin.url(), cacheDir, "logging.access-log: stdout", "listen.send-buffer: 64KiB",
        "transfer.large-send-buffer: 0B");
    Socket s = raw.connect();
    for (String path : new String[] {"/hit", "/hit", "/pass", "/pass"}) {
      send(s, "GET " + path + " HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n");
      assertThat(readSlowly(s).body()).as(path).isEqualTo(BODY);
      proxy.server.metrics().whenStored(1).get(20, TimeUnit.SECONDS); // the second /hit finds the entry committed
    }
    assertThat(FastHitIT.drain(lines, 4)).satisfiesExactly(
        l -> assertThat(l).contains("\" 200 " + SIZE + " ").contains(" MISS "),
        l -> assertThat(l).contains("\" 200 " + SIZE + " ").contains(" HIT sendfile complete"),
        l -> assertThat(l).contains("\" 200 " + SIZE + " ").contains(" MISS splice complete"),
        l -> assertThat(l).contains("\" 200 " + SIZE + " ").contains(" PASS splice complete"));
    assertThat(origin.requests("/hit")).isEqualTo(1);
    assertThat(origin.requests("/pass")).isEqualTo(2);
  }

  @ParameterizedTest(name = "large-send-buffer={0}")
  @ValueSource(strings = {"default", "0B"})
  void byDefaultALargeHitRaisesItsConnectionsSendBufferAndASplicedPassDoesNot(String key) throws Exception {
    // listen.send-buffer 64 KiB: every connection starts below any raise, whatever net.ipv4.tcp_wmem and
    // net.core.wmem_max are here, so whether a body raised it depends on the path alone
    proxy = key.equals("default")
        ? ProxyFixture.start(origin.url(), cacheDir, "logging.access-log: stdout", "listen.send-buffer: 64KiB")
        : ProxyFixture.start(origin.url(), cacheDir, "logging.access-log: stdout", "listen.send-buffer: 64KiB",
            "transfer.large-send-buffer: " + key);
    boolean on = key.equals("default");
    Socket s = raw.connect();
    send(s, "GET /hit HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n");
    assertThat(read(s).body()).isEqualTo(BODY);
    proxy.server.metrics().whenStored(1).get(20, TimeUnit.SECONDS);
    for (String path : new String[] {"/pass", "/pass"}) { // a MISS that finds it uncacheable, then a PASS
      send(s, "GET " + path + " HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n");
      assertThat(read(s).body()).as(path).isEqualTo(BODY);
    }
    long afterFillAndPasses = proxy.server.metrics().sendBufferRaises();
    for (int i = 0; i < 2; i++) {
      send(s, "GET /hit HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n");
      Response r = read(s);
      assertThat(r.field("x-cache")).isEqualTo("HIT");
      assertThat(r.body()).isEqualTo(BODY);
    }
    assertThat(FastHitIT.drain(lines, 5).subList(1, 5)).satisfiesExactly(
        l -> assertThat(l).contains("\" 200 " + SIZE + " ").contains(" MISS splice complete"),
        l -> assertThat(l).contains("\" 200 " + SIZE + " ").contains(" PASS splice complete"),
        l -> assertThat(l).contains("\" 200 " + SIZE + " ").contains(" HIT sendfile complete"),
        l -> assertThat(l).contains("\" 200 " + SIZE + " ").contains(" HIT sendfile complete"));
    // the passes raised nothing (the fill's first response may, as it is sent from the cache file): counted at the
    // raise, before the body's first byte was written
    assertThat(afterFillAndPasses).as("raises by the fill and the passes").isLessThanOrEqualTo(on ? 1 : 0);
    assertThat(proxy.server.metrics().sendBufferRaises() - afterFillAndPasses).as("raises by two hits")
        .isEqualTo(on ? 2 : 0);
    assertThat(origin.requests("/hit")).isEqualTo(1);
  }

  @Test
  void withTheLargeBodySendBufferLargeHitsAndPassesGoWholeToSlowClientsByTheZeroCopyPaths() throws Exception {
    // one slot: the first client's hits raise its buffer (set back after each), the second's go as they are or take
    // the slot once it is free; each body leaves in many partial writes to a slow reader either way
    proxy = ProxyFixture.start(origin.url(), cacheDir, "logging.access-log: stdout", "transfer.large-send-buffer: 4MiB",
        "transfer.large-send-buffer-from: 1MiB", "transfer.large-send-buffer-connections: 1");
    Socket fill = raw.connect();
    send(fill, "GET /hit HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n");
    assertThat(read(fill).body()).isEqualTo(BODY);
    proxy.server.metrics().whenStored(1).get(20, TimeUnit.SECONDS);
    Socket a = slowClient();
    Socket b = slowClient();
    for (String path : new String[] {"/hit", "/pass", "/hit"}) {
      send(a, "GET " + path + " HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n");
      send(b, "GET " + path + " HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n");
      assertThat(readSlowly(a).body()).as("a " + path).isEqualTo(BODY);
      assertThat(readSlowly(b).body()).as("b " + path).isEqualTo(BODY);
    }
    // the fill, then per path a's and b's (the first /pass of each may be a MISS that finds it uncacheable)
    assertThat(FastHitIT.drain(lines, 7).subList(1, 7))
        .allSatisfy(l -> assertThat(l).contains("\" 200 " + SIZE + " ").containsPattern(" (HIT sendfile|(MISS|PASS) splice) complete"));
    assertThat(origin.requests("/hit")).isEqualTo(1);
  }

  @ParameterizedTest(name = "cork-hits-from={0}")
  @ValueSource(strings = {"default", "0B"})
  void corkedForTheWholeBodyOrNotLargeHitsGoWholeToPipelinedAndSlowClients(String key) throws Exception {
    // by default (cork-hits-from 4 MiB) an 8 MiB hit is corked from its head to its body's last byte, and the cork is
    // lifted after each body (or the next response on the connection would wait behind its last partial segment)
    proxy = key.equals("default")
        ? ProxyFixture.start(origin.url(), cacheDir, "logging.access-log: stdout")
        : ProxyFixture.start(origin.url(), cacheDir, "logging.access-log: stdout", "transfer.cork-hits-from: " + key);
    Socket fill = raw.connect();
    send(fill, "GET /hit HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n");
    assertThat(read(fill).body()).isEqualTo(BODY);
    proxy.server.metrics().whenStored(1).get(20, TimeUnit.SECONDS);
    Socket pipelined = raw.connect();
    send(pipelined, ("GET /hit HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n").repeat(2));
    for (int i = 0; i < 2; i++) {
      Response r = read(pipelined);
      assertThat(r.field("x-cache")).isEqualTo("HIT");
      assertThat(r.body()).as("pipelined hit %d", i).isEqualTo(BODY);
    }
    Socket slow = slowClient();
    send(slow, "GET /hit HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n");
    assertThat(readSlowly(slow).body()).as("slow hit").isEqualTo(BODY);
    assertThat(FastHitIT.drain(lines, 4).subList(1, 4))
        .allSatisfy(l -> assertThat(l).contains("\" 200 " + SIZE + " ").contains(" HIT sendfile complete"));
    assertThat(origin.requests("/hit")).isEqualTo(1);
  }

  @Test
  void aConnectionWhoseFirstLargeHitsWereCorkedAndTheNextNotGetsEveryBodyWhole() throws Exception {
    // 1 MiB + 3 bodies: the first 16 on a connection are corked (HitCork's first budget), the rest are not; the last
    // batch is pipelined across that change, so uncorked bodies queue behind a corked one still under way
    proxy = ProxyFixture.start(origin.url(), cacheDir, "logging.access-log: stdout");
    Socket fill = raw.connect();
    send(fill, "GET /first HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n");
    assertThat(read(fill).body()).isEqualTo(FIRST);
    proxy.server.metrics().whenStored(1).get(20, TimeUnit.SECONDS);
    Socket s = raw.connect();
    String get = "GET /first HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n";
    for (int i = 0; i < 14; i++) {
      send(s, get);
      assertThat(read(s).body()).as("hit %d", i).isEqualTo(FIRST);
    }
    send(s, get.repeat(6)); // hits 14-19: 14 and 15 corked, 16-19 not
    for (int i = 14; i < 20; i++) {
      Response r = read(s);
      assertThat(r.field("x-cache")).isEqualTo("HIT");
      assertThat(r.body()).as("pipelined hit %d", i).isEqualTo(FIRST);
    }
    Socket slow = slowClient(); // a fresh connection: its first body corked, to a reader slower than the proxy
    send(slow, get);
    assertThat(readSlowly(slow).body()).as("slow hit").isEqualTo(FIRST);
    assertThat(FastHitIT.drain(lines, 22).subList(1, 22))
        .allSatisfy(l -> assertThat(l).contains("\" 200 " + FIRST.length + " ").contains(" HIT sendfile complete"));
    assertThat(origin.requests("/first")).isEqualTo(1);
  }

  @ParameterizedTest(name = "zero-copy={0}")
  @ValueSource(booleans = {true, false})
  void aSlowClientGetsALargePassWholeByEitherPathAndTheBytesAreCountedOnce(boolean zeroCopy) throws Exception {
    proxy = ProxyFixture.start(origin.url(), cacheDir, "logging.access-log: stdout",
        "transfer.sendfile: " + zeroCopy, "transfer.splice: " + zeroCopy);
    Socket slow = slowClient();
    for (int i = 0; i < 3; i++) { // one connection: the origin connection a splice used goes back to the pool
      send(slow, "GET /pass HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n");
      Response r = readSlowly(slow);
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.body()).as("response %d", i).isEqualTo(BODY);
    }
    proxy.server.metrics().whenResponses(CacheOutcome.PASS, 2).get(20, TimeUnit.SECONDS);
    assertThat(FastHitIT.drain(lines, 3))
        .allSatisfy(l -> assertThat(l).contains("\" 200 " + SIZE + " ").contains(zeroCopy ? " splice complete" : " copy complete"));
    var m = proxy.server.metrics();
    if (zeroCopy) {
      assertThat(m.responses(TransferMode.SPLICE)).isEqualTo(3);
      assertThat(m.bytes(TransferMode.SPLICE)).isEqualTo(3L * SIZE);
    } else {
      assertThat(m.responses(TransferMode.SPLICE)).isZero();
      assertThat(m.bytes(TransferMode.COPY)).isEqualTo(3L * SIZE);
    }
    assertThat(origin.requests("/pass")).isEqualTo(3);
  }

  @Test
  void aClientThatLeavesASplicedPassMidBodyLeavesTheProxyAnsweringTheNextOneWhole() throws Exception {
    proxy = ProxyFixture.start(origin.url(), cacheDir, "logging.access-log: stdout");
    Socket first = raw.connect();
    send(first, "GET /pass HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n");
    assertThat(read(first).body()).isEqualTo(BODY); // the MISS that marks the URI hit-for-pass
    assertThat(FastHitIT.drain(lines, 1).get(0)).contains("MISS");

    Socket leaving = slowClient();
    send(leaving, "GET /pass HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n");
    Response head = readHead(leaving);
    assertThat(head.field("x-cache")).isEqualTo("PASS");
    // 1 MiB in: past what came with the origin's head (forwarded before the splice starts), so the splice is under way
    assertThat(leaving.getInputStream().readNBytes(1 << 20)).hasSize(1 << 20);
    leaving.setSoLinger(true, 0); // a reset: the splice under way fails
    leaving.close();
    String cut = FastHitIT.drain(lines, 1).get(0);
    assertThat(cut).contains("\"GET /pass HTTP/1.1\" 200 ").contains("PASS splice aborted");
    assertThat(bytesLogged(cut)).as("bytes logged for the cut pass").isLessThan(SIZE);
    // Before the fix the cut splice was logged and counted as a copy: a fallback that never happened.
    assertThat(proxy.server.metrics().transferFallbacks(TransferMode.SPLICE)).isZero();

    for (int i = 0; i < 2; i++) {
      Socket next = raw.connect();
      send(next, "GET /pass HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n");
      Response r = read(next);
      assertThat(r.field("x-cache")).isEqualTo("PASS");
      assertThat(r.body()).as("pass %d after the cut one", i).isEqualTo(BODY);
    }
    assertThat(FastHitIT.drain(lines, 2))
        .allSatisfy(l -> assertThat(l).contains("\" 200 " + SIZE + " ").contains(" PASS splice complete"));
    assertThat(origin.requests("/pass")).isEqualTo(4);
  }

  // ---------------------------------------------------------------- helpers

  /** A client whose small receive buffer makes the proxy's socket fill long before a large body is written. */
  private Socket slowClient() throws IOException {
    Socket s = new Socket();
    s.setReceiveBufferSize(4096);
    raw.connect(s);
    return s;
  }

  /** Reads a response with a Content-Length body a kilobyte per read. */
  private static Response readSlowly(Socket s) throws IOException {
    Response h = readHead(s);
    int length = Integer.parseInt(h.field("content-length"));
    InputStream in = s.getInputStream();
    ByteArrayOutputStream body = new ByteArrayOutputStream(length);
    byte[] buf = new byte[1024];
    while (body.size() < length) {
      int n = in.read(buf, 0, Math.min(buf.length, length - body.size()));
      if (n < 0) {
        throw new IOException("closed after " + body.size() + " of " + length + " body bytes");
      }
      body.write(buf, 0, n);
    }
    return new Response(h.head(), body.toByteArray());
  }

  /** The body bytes an access-log line reports (the field after the status). */
  private static long bytesLogged(String line) {
    String[] after = line.substring(line.indexOf("HTTP/1.1\" ") + 10).split(" ");
    return Long.parseLong(after[1]);
  }
}
