package dev.zcproxy.proxy.it;

import static dev.zcproxy.proxy.it.FastHitIT.closedByPeer;
import static dev.zcproxy.proxy.it.FastHitIT.read;
import static dev.zcproxy.proxy.it.FastHitIT.readHead;
import static dev.zcproxy.proxy.it.FastHitIT.send;
import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.CacheOutcome;
import dev.zcproxy.proxy.it.FastHitIT.Response;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetSocket;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Passes of hit-for-pass keys answered in front of Vert.x ({@code FrontPasses}, on with {@code transfer.front-hits}):
 * the origin receives the request the normal path sends and the client the response the normal path writes; a
 * failing, stalling or malformed origin, a client that leaves, pipelined mixes and 200 concurrent passes are
 * handled as the normal path handles them. The origin speaks raw bytes ({@link RawOrigin}): the first request for a
 * path is answered {@code no-store} (which marks the key hit-for-pass), later ones as the test scripts.
 *
 * <p>Runs both ways: with {@code -Dzcproxy.it.frontHits=false} every pass goes through Vert.x and the same
 * responses are expected, only the front path's counter stays at zero. With {@code -Dzcproxy.pass.decodeEveryHead=true}
 * the front path decodes every origin head (no repeated head skips the decoder).
 */
class FrontPassIT extends ProxyAndOrigin<RawOrigin> {
  private static final boolean FRONT = !"false".equals(System.getProperty("zcproxy.it.frontHits"));
  private static final byte[] BODY = CachingIT.body(1000, 3);

  @RegisterExtension
  final AccessLogCapture access = new AccessLogCapture();
  @RegisterExtension
  final RawConnections raw = new RawConnections(() -> proxy);
  /** How the origin answers the requests after the first for a path; the first is always a no-store 200 of BODY. */
  final Map<String, java.util.function.BiConsumer<RawOrigin.Request, NetSocket>> scripts = new ConcurrentHashMap<>();
  final Map<String, AtomicInteger> seen = new ConcurrentHashMap<>();
  /** Origin connections whose request the test answers by hand (/held). */
  final BlockingQueue<NetSocket> held = new LinkedBlockingQueue<>();
  final AtomicInteger heldKeys = new AtomicInteger();

  private void start(String... yaml) throws Exception {
    origin = RawOrigin.start((req, socket) -> {
      String line = req.head().substring(0, req.head().indexOf("\r\n"));
      String path = line.split(" ")[1];
      int n = seen.computeIfAbsent(path, k -> new AtomicInteger()).incrementAndGet();
      if (path.startsWith("/held")) {
        held.add(socket);
        return;
      }
      var script = scripts.get(path);
      if (n == 1 || script == null) {
        ok(socket, BODY, "Cache-Control", "no-store");
      } else {
        script.accept(req, socket);
      }
    });
    List<String> all = new ArrayList<>(List.of("logging.access-log: stdout"));
    all.addAll(List.of(yaml));
    proxy = ProxyFixture.start(origin.url(), cacheDir, all.toArray(String[]::new));
    proxy.server.store().scanned().get(30, TimeUnit.SECONDS); // until then a miss may need the disk: the normal path
  }

  private static void ok(NetSocket socket, byte[] body, String... fields) {
    StringBuilder h = new StringBuilder("HTTP/1.1 200 OK\r\n");
    for (int i = 0; i < fields.length; i += 2) {
      h.append(fields[i]).append(": ").append(fields[i + 1]).append("\r\n");
    }
    h.append("Content-Length: ").append(body.length).append("\r\n\r\n");
    socket.write(Buffer.buffer(h.toString().getBytes(StandardCharsets.ISO_8859_1)).appendBytes(body));
  }

  /** The first request for {@code path}: a miss whose no-store answer marks the key hit-for-pass. */
  private void mark(String path) throws Exception {
    Socket s = raw.connect();
    send(s, "GET " + path + " HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n");
    Response r = read(s);
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.field("cache-status")).contains("fwd=");
    s.close();
  }

  private String get(String path, String... fields) {
    StringBuilder b = new StringBuilder("GET ").append(path).append(" HTTP/1.1\r\nHost: ").append(raw.host()).append("\r\n");
    for (String f : fields) {
      b.append(f).append("\r\n");
    }
    return b.append("\r\n").toString();
  }

  /** A response as sent: its head's bytes and its body's. */
  private static String bytes(Response r) {
    return String.join("\r\n", r.head()) + "\r\n\r\n" + new String(r.body(), StandardCharsets.ISO_8859_1);
  }

  /** The requests sent to the origin for {@code path}, as received. */
  private List<String> heads(String path) {
    return origin.heads.stream().filter(h -> h.startsWith("GET " + path + " ")).toList();
  }

  /**
   * {@code request} twice on one connection: first pipelined behind a request Vert.x is still answering (so Vert.x
   * answers it too), then alone (the front path when it is on). Returns both responses.
   */
  private Response[] normalThenFront(Socket s, String request) throws Exception {
    long front = proxy.server.metrics().frontPasses();
    send(s, get("/held?" + heldKeys.incrementAndGet()) + request); // a new key: never hit-for-pass
    NetSocket h = held.poll(10, TimeUnit.SECONDS);
    assertThat(h).as("the held request at the origin").isNotNull();
    ok(h, "held".getBytes(StandardCharsets.US_ASCII), "Cache-Control", "no-store");
    assertThat(read(s).body()).isEqualTo("held".getBytes(StandardCharsets.US_ASCII));
    Response normal = read(s);
    assertThat(proxy.server.metrics().frontPasses()).as("behind a request in progress").isEqualTo(front);
    send(s, request);
    Response alone = read(s);
    assertThat(proxy.server.metrics().frontPasses()).isEqualTo(front + (FRONT ? 1 : 0));
    return new Response[] {normal, alone};
  }

  @Test
  void aFrontPassSendsTheOriginAndTheClientTheBytesOfTheNormalPath() throws Exception {
    scripts.put("/p", (req, socket) -> ok(socket, BODY, "Cache-Control", "no-store", "Content-Type", "text/plain",
        "Connection", "keep-alive, X-Hop", "X-Hop", "1", "Keep-Alive", "timeout=5", "Via", "1.0 upstream",
        "Cache-Status", "up; fwd=uri-miss", "X-Origin", "a"));
    start();
    mark("/p");
    Socket s = raw.connect();
    String request = get("/p", "User-Agent: t/1", "Accept: */*", "Connection: keep-alive", "X-Forwarded-For: 10.0.0.9",
        "Forwarded: for=10.0.0.9", "Cookie: a=b", "Accept-Encoding: gzip", "TE: trailers");
    Response[] r = normalThenFront(s, request);
    assertThat(r[0].status()).isEqualTo(200);
    assertThat(r[0].body()).isEqualTo(BODY);
    assertThat(r[0].field("cache-status")).isEqualTo("up; fwd=uri-miss, zcproxy; fwd=uri-miss; fwd-status=200; detail=hit-for-pass");
    assertThat(r[0].field("via")).isEqualTo("1.0 upstream, 1.1 zcproxy");
    assertThat(r[0].field("x-hop")).isNull();
    assertThat(bytes(r[1])).isEqualTo(bytes(r[0]));
    send(s, request); // the same head again: what was made for it the first time
    assertThat(bytes(read(s))).isEqualTo(bytes(r[0]));
    List<String> sent = heads("/p");
    assertThat(sent).hasSize(4);
    assertThat(sent.get(2)).as("what the origin received on the front path").isEqualTo(sent.get(1));
    assertThat(sent.get(3)).isEqualTo(sent.get(1));
    assertThat(closedByPeer(s, 200)).as("keep-alive").isFalse();
    // counted and logged alike
    proxy.server.metrics().whenResponses(CacheOutcome.PASS, 3).get(10, TimeUnit.SECONDS);
    List<String> lines = FastHitIT.drain(access.lines, 5).stream().filter(l -> l.contains("GET /p ")).toList();
    assertThat(lines).hasSize(4);
    assertThat(lines.get(3).replaceAll(" \\d+ ?(us|µs|ms)?", " T")).isEqualTo(lines.get(1).replaceAll(" \\d+ ?(us|µs|ms)?", " T"));
    assertThat(lines.get(2).replaceAll(" \\d+ ?(us|µs|ms)?", " T")).isEqualTo(lines.get(1).replaceAll(" \\d+ ?(us|µs|ms)?", " T"));
  }

  @Test
  void anOriginHeadRepeatedByteForByteIsPassedOnAsDecodedAndAnyChangeIsSeen() throws Exception {
    // the front path's origin connection skips the decoder for a head that repeats the last one byte for byte
    // (PassChannels.Decoder): the same client head and the new body; a changed field, body, length or framing is seen
    AtomicInteger version = new AtomicInteger(1);
    AtomicInteger bodySeed = new AtomicInteger(1);
    AtomicInteger split = new AtomicInteger();
    scripts.put("/r", (req, socket) -> {
      byte[] body = CachingIT.body(version.get() == 3 ? 999 : 1000, bodySeed.get());
      StringBuilder h = new StringBuilder("HTTP/1.1 200 OK\r\nCache-Control: no-store\r\nX-V: ")
          .append(version.get()).append("\r\nContent-Length: ").append(body.length).append("\r\n\r\n");
      Buffer head = Buffer.buffer(h.toString().getBytes(StandardCharsets.ISO_8859_1));
      if (split.get() > 0) { // head and body in two writes: two reads at the proxy
        socket.write(head);
        io.vertx.core.Vertx.currentContext().owner().setTimer(20, t -> socket.write(Buffer.buffer(body)));
      } else {
        socket.write(head.appendBytes(body));
      }
    });
    start();
    mark("/r");
    Socket s = raw.connect();
    long front = proxy.server.metrics().frontPasses();
    int sent = 0;
    Response first = null;
    for (int[] step : new int[][] {{1, 1, 0}, {1, 2, 0}, {2, 2, 0}, {3, 2, 0}, {3, 2, 1}, {3, 3, 0}}) {
      version.set(step[0]);
      bodySeed.set(step[1]);
      split.set(step[2]);
      for (int i = 0; i < 3; i++) {
        send(s, get("/r"));
        Response r = read(s);
        sent++;
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.field("x-v")).as("step %s", java.util.Arrays.toString(step)).isEqualTo(Integer.toString(step[0]));
        assertThat(r.body()).as("step %s", java.util.Arrays.toString(step))
            .isEqualTo(CachingIT.body(step[0] == 3 ? 999 : 1000, step[1]));
        assertThat(r.field("content-length")).isEqualTo(Integer.toString(r.body().length));
        assertThat(r.field("cache-status")).endsWith("detail=hit-for-pass");
        if (first == null) {
          first = r;
        } else if (step[0] == 1 && step[1] == 1) {
          assertThat(bytes(r)).as("the same origin response: the same client response").isEqualTo(bytes(first));
        }
      }
    }
    assertThat(heads("/r")).as("the origin was asked once a request").hasSize(sent + 1);
    assertThat(proxy.server.metrics().frontPasses()).isEqualTo(front + (FRONT ? sent : 0));
    assertThat(closedByPeer(s, 200)).as("keep-alive").isFalse();
  }

  @Test
  void aRepeatedHeadFollowedByMoreThanItsBodyIsNotTakenAsARepeatAndTheExtraIsNeverServed() throws Exception {
    // hostile origin: the same head as last time, its body, then a whole second response in the same write; the repeat
    // path must not take it (more bytes than head + Content-Length) and nobody may be sent the unasked-for response
    AtomicInteger n = new AtomicInteger();
    scripts.put("/sm", (req, socket) -> {
      int i = n.incrementAndGet();
      byte[] head = "HTTP/1.1 200 OK\r\nCache-Control: no-store\r\nContent-Length: 1000\r\n\r\n"
          .getBytes(StandardCharsets.ISO_8859_1);
      Buffer b = Buffer.buffer(head).appendBytes(CachingIT.body(1000, i));
      if (i == 3) { // the second front pass (the first was mark's): its connection has a kept head by then
        b.appendBytes(head).appendBytes(CachingIT.body(1000, 99)); // the smuggled response
      }
      socket.write(b);
    });
    start();
    mark("/sm");
    Socket s = raw.connect();
    int base = n.get();
    for (int i = 1; i <= 4; i++) {
      send(s, get("/sm"));
      Response r = read(s);
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.body()).as("request %d", i).isEqualTo(CachingIT.body(1000, base + i));
      assertThat(r.body()).isNotEqualTo(CachingIT.body(1000, 99));
    }
    assertThat(n.get() - base).as("the origin was asked once a request").isEqualTo(4);
  }

  @Test
  void anInterimResponseReachesTheClientAsOnTheNormalPathThenTheFinalOne() throws Exception {
    // RFC 9110 15.2: a proxy forwards 1xx responses; hop-by-hop fields out, Via in, a 100 dropped as the normal path does
    scripts.put("/hints", (req, socket) -> socket.write(Buffer.buffer(("HTTP/1.1 100 Continue\r\n\r\n"
        + "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\nConnection: X-Hop\r\nX-Hop: 1\r\n\r\n")
        .getBytes(StandardCharsets.ISO_8859_1)).appendBytes(RawOriginHeads.head(BODY.length)).appendBytes(BODY)));
    start();
    mark("/hints");
    Socket s = raw.connect();
    long front = proxy.server.metrics().frontPasses();
    send(s, get("/held?" + heldKeys.incrementAndGet()) + get("/hints")); // behind a request in progress: Vert.x's
    NetSocket h = held.poll(10, TimeUnit.SECONDS);
    assertThat(h).as("the held request at the origin").isNotNull();
    ok(h, "held".getBytes(StandardCharsets.US_ASCII), "Cache-Control", "no-store");
    assertThat(read(s).body()).isEqualTo("held".getBytes(StandardCharsets.US_ASCII));
    Response normalHints = readHead(s);
    Response normal = read(s);
    assertThat(proxy.server.metrics().frontPasses()).as("behind a request in progress").isEqualTo(front);
    send(s, get("/hints")); // alone: the front path when it is on
    Response hints = readHead(s);
    Response last = read(s);
    assertThat(proxy.server.metrics().frontPasses()).isEqualTo(front + (FRONT ? 1 : 0));
    assertThat(normalHints.head().get(0)).isEqualTo("HTTP/1.1 103 Early Hints");
    assertThat(normalHints.field("link")).isEqualTo("</s.css>; rel=preload");
    assertThat(normalHints.field("x-hop")).isNull();
    assertThat(normalHints.field("via")).isEqualTo("1.1 zcproxy");
    assertThat(bytes(hints)).as("the interim response").isEqualTo(bytes(normalHints));
    assertThat(normal.status()).isEqualTo(200);
    assertThat(normal.body()).isEqualTo(BODY);
    assertThat(normal.field("link")).isNull();
    assertThat(bytes(last)).as("the final response").isEqualTo(bytes(normal));
    assertThat(closedByPeer(s, 200)).as("keep-alive").isFalse();
    assertThat(heads("/hints")).as("the origin was asked once a request").hasSize(3);
  }

  @Test
  void aChunkedOrCloseDelimitedOriginBodyIsRechunkedAndTheKeyGoesTheNormalWayAfter() throws Exception {
    scripts.put("/c", (req, socket) -> RawOrigin.write(socket,
        "HTTP/1.1 200 OK\r\nCache-Control: no-store\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"));
    start();
    mark("/c");
    Socket s = raw.connect();
    long front = proxy.server.metrics().frontPasses();
    for (int i = 0; i < 3; i++) {
      send(s, get("/c"));
      Response head = readHead(s);
      assertThat(head.status()).isEqualTo(200);
      assertThat(head.field("transfer-encoding")).isEqualTo("chunked");
      assertThat(new String(readChunked(s.getInputStream()), StandardCharsets.US_ASCII)).isEqualTo("abcde");
    }
    // the first was passed in front (its length unknown), the others the normal way
    assertThat(proxy.server.metrics().frontPasses()).isEqualTo(front + (FRONT ? 1 : 0));
    assertThat(closedByPeer(s, 200)).as("keep-alive").isFalse();
  }

  @Test
  void aPipelinedMixOfHitsPassesAndMissesComesBackInOrder() throws Exception {
    start();
    mark("/p");
    // a cacheable entry: stored by its miss, then a hit
    scripts.put("/f", (req, socket) -> ok(socket, "fresh".getBytes(StandardCharsets.US_ASCII), "Cache-Control", "max-age=600"));
    seen.put("/f", new AtomicInteger(1)); // its first answer is the script's
    assertThat(proxy.get("/f").statusCode()).isEqualTo(200);
    proxy.server.metrics().whenStored(1).get(20, TimeUnit.SECONDS);
    scripts.put("/p", (req, socket) -> ok(socket, "pass".getBytes(StandardCharsets.US_ASCII), "Cache-Control", "no-store"));
    Socket s = raw.connect();
    List<String> paths = List.of("/p", "/f", "/p", "/m1", "/p", "/f", "/m2", "/p", "/p", "/f");
    StringBuilder burst = new StringBuilder();
    for (String p : paths) {
      burst.append(get(p));
    }
    send(s, burst.toString());
    for (String p : paths) {
      Response r = read(s);
      assertThat(r.status()).as(p).isEqualTo(200);
      String body = new String(r.body(), StandardCharsets.US_ASCII);
      switch (p) {
        case "/p" -> assertThat(body).as(p).isEqualTo("pass");
        case "/f" -> assertThat(body).as(p).isEqualTo("fresh");
        default -> assertThat(r.body()).as(p).isEqualTo(BODY);
      }
    }
    assertThat(closedByPeer(s, 200)).as("keep-alive").isFalse();
    assertThat(origin.heads.stream().filter(h -> h.startsWith("GET /f ")).count()).isEqualTo(1);
    if (FRONT) {
      assertThat(proxy.server.metrics().frontPasses()).isPositive();
    }
  }

  @Test
  void anOriginThatClosesMidBodyTruncatesTheResponseAndClosesTheClientConnection() throws Exception {
    scripts.put("/cut", (req, socket) -> {
      socket.write(Buffer.buffer(RawOriginHeads.head(1000)).appendBytes(BODY, 0, 400));
      socket.close();
    });
    start();
    mark("/cut");
    for (int i = 0; i < 2; i++) { // the normal path marks the key again; the second goes in front too
      Socket s = raw.connect();
      send(s, get("/cut"));
      Response head = readHead(s);
      assertThat(head.status()).isEqualTo(200);
      assertThat(head.field("content-length")).isEqualTo("1000");
      byte[] got = s.getInputStream().readAllBytes(); // to the close
      assertThat(got.length).isLessThan(1000);
    }
    assertThat(proxy.server.metrics().frontPasses()).isEqualTo(FRONT ? 2 : 0);
    List<String> logged = FastHitIT.drain(access.lines, 3);
    assertThat(logged.get(2)).contains("\"GET /cut HTTP/1.1\" 200 ").contains("PASS").contains("aborted");
  }

  @Test
  void aMalformedOrOversizedOriginHeadIsA502WithTheNormalPathsBytes() throws Exception {
    scripts.put("/bad", (req, socket) -> RawOrigin.write(socket, "HTTP/1.1 2x0 Nope\r\nContent-Length: 2\r\n\r\nno"));
    scripts.put("/huge", (req, socket) -> RawOrigin.write(socket,
        "HTTP/1.1 200 OK\r\nX-Big: " + "a".repeat(70 * 1024) + "\r\nContent-Length: 2\r\n\r\nno"));
    start();
    mark("/bad");
    mark("/huge");
    for (String path : List.of("/bad", "/huge")) {
      Socket s = raw.connect();
      Response[] r = normalThenFront(s, get(path));
      assertThat(r[0].status()).as(path).isEqualTo(502);
      assertThat(r[0].field("cache-status")).isEqualTo("zcproxy; fwd=uri-miss; detail=origin-unreachable");
      assertThat(bytes(r[1])).as(path).isEqualTo(bytes(r[0]));
      assertThat(closedByPeer(s, 200)).as("keep-alive").isFalse();
    }
  }

  @Test
  void bytesAnOriginSendsAfterItsResponseReachNoOne() throws Exception {
    // the response and, in the same segment, one nobody asked for
    byte[] evil = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nevil!".getBytes(StandardCharsets.ISO_8859_1);
    scripts.put("/x", (req, socket) -> socket.write(Buffer.buffer(RawOriginHeads.head(BODY.length)).appendBytes(BODY)
        .appendBytes(evil)));
    start();
    mark("/x");
    Socket s = raw.connect();
    send(s, get("/x") + get("/x")); // the second is sent as the first ends, in the read that brought the extra bytes
    for (int i = 0; i < 2; i++) {
      Response r = read(s);
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.body()).as("response %d", i).isEqualTo(BODY);
    }
    assertThat(heads("/x")).hasSize(3);
  }

  @Test
  void anOriginThatIsGoneIsA502AndOneThatNeverAnswersA504() throws Exception {
    scripts.put("/never", (req, socket) -> { });
    start("origin.first-byte-timeout: 1s");
    mark("/never");
    Socket s = raw.connect();
    Response[] r = normalThenFront(s, get("/never"));
    assertThat(r[0].status()).isEqualTo(504);
    assertThat(r[0].field("cache-status")).isEqualTo("zcproxy; fwd=uri-miss; detail=origin-timeout");
    assertThat(bytes(r[1])).isEqualTo(bytes(r[0]));
  }

  @Test
  void aSlowlorisOriginIsCutAtItsIdleTimeout() throws Exception {
    scripts.put("/slow", (req, socket) -> socket.write(Buffer.buffer(RawOriginHeads.head(1000)).appendBytes(BODY, 0, 10)));
    start("origin.idle-timeout: 1s");
    mark("/slow");
    Socket s = raw.connect();
    send(s, get("/slow"));
    assertThat(readHead(s).status()).isEqualTo(200);
    byte[] got = s.getInputStream().readAllBytes(); // the proxy closes once the origin stalled past its idle timeout
    assertThat(got).hasSize(10);
    assertThat(proxy.server.metrics().frontPasses()).isEqualTo(FRONT ? 1 : 0);
  }

  @Test
  void aClientThatLeavesClosesTheOriginConnection() throws Exception {
    scripts.put("/hang", (req, socket) -> socket.write(Buffer.buffer(RawOriginHeads.head(1000)).appendBytes(BODY, 0, 10)));
    start();
    mark("/hang");
    origin.closed = new CountDownLatch(1);
    Socket s = raw.connect();
    send(s, get("/hang"));
    assertThat(readHead(s).status()).isEqualTo(200);
    assertThat(s.getInputStream().readNBytes(10)).hasSize(10);
    s.close();
    assertThat(origin.closed.await(10, TimeUnit.SECONDS)).as("the origin connection closed").isTrue();
    // the next pass gets a connection of its own and its whole response
    scripts.put("/hang", (req, socket) -> ok(socket, BODY, "Cache-Control", "no-store"));
    Socket t = raw.connect();
    send(t, get("/hang"));
    assertThat(read(t).body()).isEqualTo(BODY);
  }

  @Test
  void aClientThatHalfClosesStillGetsItsResponse() throws Exception {
    start();
    mark("/p");
    Socket s = raw.connect();
    send(s, get("/p"));
    s.shutdownOutput();
    Response r = read(s);
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.body()).isEqualTo(BODY);
  }

  @Test
  void aClientThatStopsReadingGetsTheWholeBodyWhenItReadsAgain() throws Exception {
    byte[] big = CachingIT.body(150 * 1024, 7); // below the splice threshold
    scripts.put("/big", (req, socket) -> ok(socket, big, "Cache-Control", "no-store"));
    start();
    mark("/big");
    Socket s = new Socket();
    s.setReceiveBufferSize(4096);
    raw.connect(s);
    send(s, get("/big") + get("/big"));
    for (int i = 0; i < 2; i++) {
      Response head = readHead(s);
      assertThat(head.status()).isEqualTo(200);
      InputStream in = s.getInputStream();
      ByteArrayOutputStream got = new ByteArrayOutputStream();
      byte[] buf = new byte[512];
      while (got.size() < big.length) {
        int n = in.read(buf, 0, Math.min(buf.length, big.length - got.size()));
        assertThat(n).isPositive();
        got.write(buf, 0, n);
      }
      assertThat(got.toByteArray()).isEqualTo(big);
    }
  }

  @Test
  void twoHundredConcurrentPassesKeepToTheOriginConnectionBound() throws Exception {
    scripts.put("/p", (req, socket) -> ok(socket, "pass".getBytes(StandardCharsets.US_ASCII), "Cache-Control", "no-store"));
    start("origin.max-connections: 4");
    mark("/p");
    int before = origin.connections.get();
    int n = 200;
    ExecutorService pool = Executors.newFixedThreadPool(n);
    try {
      CountDownLatch go = new CountDownLatch(1);
      List<Future<Integer>> results = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        results.add(pool.submit(() -> {
          try (Socket s = raw.connect()) {
            go.await();
            send(s, get("/p"));
            Response r = read(s);
            return new String(r.body(), StandardCharsets.US_ASCII).equals("pass") ? r.status() : -1;
          }
        }));
      }
      go.countDown();
      for (Future<Integer> f : results) {
        assertThat(f.get(30, TimeUnit.SECONDS)).isEqualTo(200);
      }
    } finally {
      pool.shutdownNow();
    }
    // one event loop: at most 4 connections, the one the marking request used (the normal path's pool) included
    assertThat(origin.connections.get() - before).isLessThanOrEqualTo(4);
    assertThat(origin.mostOpen.get()).as("origin connections open at once").isLessThanOrEqualTo(4);
    if (FRONT) {
      assertThat(proxy.server.metrics().frontPasses()).isEqualTo(n);
    }
  }

  @Test
  void theOriginConnectionBoundHoldsAcrossTheFrontAndTheNormalPath() throws Exception {
    // origin.max-connections is per event loop (the fixture has one): the normal path's pool and the front pass pool
    // together; before, each allowed 4 and a key moving between paths could hold 8
    scripts.put("/p", (req, socket) -> ok(socket, "pass".getBytes(StandardCharsets.US_ASCII), "Cache-Control", "no-store"));
    start("origin.max-connections: 4");
    mark("/p");
    var server = proxy.server.origins().pool("default", "/").servers().get(0);
    int bound = 4;
    List<Socket> normal = new ArrayList<>();
    for (int i = 0; i < bound; i++) { // the normal path's pool at the bound: four misses the origin holds
      Socket s = raw.connect();
      send(s, get("/held?" + heldKeys.incrementAndGet()));
      normal.add(s);
    }
    List<NetSocket> holding = new ArrayList<>();
    for (int i = 0; i < bound; i++) {
      NetSocket h = held.poll(10, TimeUnit.SECONDS);
      assertThat(h).as("held request %d at the origin", i).isNotNull();
      holding.add(h);
    }
    List<Socket> passes = new ArrayList<>();
    for (int i = 0; i < bound; i++) { // then passes of the hit-for-pass key
      Socket s = raw.connect();
      send(s, get("/p"));
      passes.add(s);
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    // each pass under way: queued on the normal path (in flight there), or (before the shared bound) sent in front
    while (server.inFlight() < 2 * bound && heads("/p").size() < 1 + bound) {
      assertThat(System.nanoTime()).as("waiting for the passes to be under way").isLessThan(deadline);
      Thread.sleep(10); // polling a server-side counter; bounded by the deadline
    }
    for (NetSocket h : holding) {
      ok(h, "held".getBytes(StandardCharsets.US_ASCII), "Cache-Control", "no-store");
    }
    for (Socket s : normal) {
      assertThat(read(s).body()).isEqualTo("held".getBytes(StandardCharsets.US_ASCII));
    }
    for (Socket s : passes) {
      Response r = read(s);
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.body()).isEqualTo("pass".getBytes(StandardCharsets.US_ASCII));
    }
    assertThat(origin.mostOpen.get()).as("origin connections open at once").isLessThanOrEqualTo(bound);
    // the normal path's pool now holds the bound in idle keep-alive connections: passes go the normal way on them
    // (until its keep-alive timeout closes some), not past the bound on new ones
    long front = proxy.server.metrics().frontPasses();
    for (int i = 0; i < 2; i++) {
      Socket s = raw.connect();
      send(s, get("/p"));
      assertThat(read(s).body()).isEqualTo("pass".getBytes(StandardCharsets.US_ASCII));
    }
    assertThat(proxy.server.metrics().frontPasses()).isEqualTo(front);
    assertThat(origin.mostOpen.get()).isLessThanOrEqualTo(bound);
  }

  /** Reads a chunked body to its last chunk. */
  private static byte[] readChunked(InputStream in) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    while (true) {
      StringBuilder line = new StringBuilder();
      for (int c; (c = in.read()) != '\n'; ) {
        if (c < 0) {
          throw new IOException("closed in a chunk size");
        }
        if (c != '\r') {
          line.append((char) c);
        }
      }
      int size = Integer.parseInt(line.toString().trim(), 16);
      if (size == 0) {
        in.readNBytes(2);
        return out.toByteArray();
      }
      out.write(in.readNBytes(size));
      in.readNBytes(2);
    }
  }

  /** Response heads for the scripts. */
  private static final class RawOriginHeads {
    static byte[] head(int length) {
      return ("HTTP/1.1 200 OK\r\nCache-Control: no-store\r\nContent-Length: " + length + "\r\n\r\n")
          .getBytes(StandardCharsets.ISO_8859_1);
    }
  }
}
