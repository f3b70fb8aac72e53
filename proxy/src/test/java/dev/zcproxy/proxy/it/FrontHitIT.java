package dev.zcproxy.proxy.it;

import static dev.zcproxy.proxy.it.FastHitIT.closedByPeer;
import static dev.zcproxy.proxy.it.FastHitIT.read;
import static dev.zcproxy.proxy.it.FastHitIT.readHead;
import static dev.zcproxy.proxy.it.FastHitIT.send;
import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.CacheOutcome;
import dev.zcproxy.proxy.it.FastHitIT.Response;
import dev.zcproxy.proxy.transfer.TransferMode;
import io.vertx.core.http.HttpServerRequest;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Plain GET hits from the RAM tier answered in front of Vert.x ({@code transfer.front-hits}): the same bytes as
 * the Vert.x fast path, counted and logged alike, in order among pipelined requests Vert.x answers, and every
 * request that is not such a hit (HEAD, ranges, validators, {@code Cache-Control}, {@code Connection: close}, a
 * stale entry) left to Vert.x and answered right.
 *
 * <p>Runs both ways: with {@code -Dzcproxy.it.frontHits=false} every request goes to Vert.x and the same
 * responses are expected, only the front path's counter stays at zero.
 */
class FrontHitIT extends OriginAndProxy {
  private static final byte[] BODY = CachingIT.body(1024, 5);
  /** Whether this run has the front path on (the default). */
  private static final boolean FRONT = !"false".equals(System.getProperty("zcproxy.it.frontHits"));

  @RegisterExtension
  final AccessLogCapture access = new AccessLogCapture();
  final BlockingQueue<String> lines = access.lines;
  @RegisterExtension
  final RawConnections raw = new RawConnections(() -> proxy);
  /** Requests to /held wait here until the test answers them. */
  final BlockingQueue<HttpServerRequest> held = new java.util.concurrent.LinkedBlockingQueue<>();

  @BeforeEach
  void start() throws Exception {
    origin.serve("/f", BODY, "Cache-Control", "max-age=600", "ETag", "\"v5\"", "Content-Type", "application/x-test");
    origin.serve("/s", BODY, "Cache-Control", "max-age=10", "ETag", "\"s1\"");
    for (int i = 0; i < 5; i++) {
      origin.serve("/m" + i, ("miss " + i).getBytes(StandardCharsets.US_ASCII), "Cache-Control", "no-store");
    }
    origin.route("/held", held::add);
    proxy = ProxyFixture.start(origin.url(), cacheDir, "logging.access-log: stdout");
    warm("/f", 1);
  }

  /** Miss (whose fill reads the body into RAM), then a hit: the next hit of {@code path} can be a front hit. */
  private void warm(String path, int nth) throws Exception {
    assertThat(proxy.get(path).statusCode()).isEqualTo(200);
    proxy.server.metrics().whenStored(nth).get(20, TimeUnit.SECONDS);
    assertThat(proxy.get(path).headers().firstValue("x-cache")).hasValue("HIT");
    proxy.server.metrics().whenRamLoaded(nth).get(10, TimeUnit.SECONDS);
    proxy.server.metrics().whenResponses(CacheOutcome.HIT, nth).get(10, TimeUnit.SECONDS);
    for (String l = ""; !l.contains("HIT "); ) { // from RAM since fill admission (or the file, if the tier was busy)
      l = lines.poll(10, TimeUnit.SECONDS);
      assertThat(l).as("the set-up hit's access-log line").isNotNull();
    }
  }

  @Test
  void manyHitsOnOneConnectionAreAnsweredInFrontCountedAndLoggedWithOneOriginRequest() throws Exception {
    long front = proxy.server.metrics().frontHits();
    long ram = proxy.server.metrics().responses(TransferMode.RAM);
    long hits = proxy.server.metrics().responses(CacheOutcome.HIT);
    long buffers = proxy.server.metrics().writtenAsBuffers();
    Socket s = raw.connect();
    int n = 20;
    for (int i = 0; i < n; i++) {
      send(s, "GET /f HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n");
      Response r = read(s);
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.body()).isEqualTo(BODY);
      assertThat(r.field("cache-status")).isEqualTo("zcproxy; hit");
      assertThat(r.field("via")).isEqualTo("1.1 zcproxy");
      assertThat(r.lastField()).startsWith("Age: ");
    }
    proxy.server.metrics().whenResponses(CacheOutcome.HIT, hits + n).get(10, TimeUnit.SECONDS);
    assertThat(proxy.server.metrics().responses(TransferMode.RAM)).isEqualTo(ram + n);
    assertThat(proxy.server.metrics().frontHits()).isEqualTo(front + (FRONT ? n : 0));
    // what was written, not what was chosen: RAM bodies leave as buffers (both paths write past the counter)
    assertThat(proxy.server.metrics().writtenAsBuffers()).isEqualTo(buffers + (long) n * BODY.length);
    assertThat(drain(n)).allSatisfy(l -> assertThat(l).contains("\"GET /f HTTP/1.1\" 200 1024 ").contains("HIT ram complete"));
    assertThat(closedByPeer(s, 200)).as("keep-alive").isFalse();
    assertThat(origin.requests("/f")).isEqualTo(1);
  }

  @Test
  void aFrontHitSendsTheBytesOfTheVertxFastPath() throws Exception {
    Socket s = raw.connect();
    long front = proxy.server.metrics().frontHits();
    // /f pipelined behind a request Vert.x is still answering: Vert.x answers it (by its fast path)
    send(s, "GET /held HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\nGET /f HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n");
    HttpServerRequest originReq = held.poll(10, TimeUnit.SECONDS);
    assertThat(originReq).isNotNull();
    originReq.response().putHeader("Cache-Control", "no-store").end("held");
    assertThat(read(s).body()).isEqualTo("held".getBytes(StandardCharsets.US_ASCII));
    byte[] viaVertx = raw(read(s));
    assertThat(proxy.server.metrics().frontHits()).as("behind a request in progress").isEqualTo(front);
    // alone: the front path (the fake clock stands still, so Age is the same)
    send(s, "GET /f HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n");
    byte[] alone = raw(read(s));
    assertThat(new String(alone, StandardCharsets.ISO_8859_1)).isEqualTo(new String(viaVertx, StandardCharsets.ISO_8859_1));
    proxy.server.metrics().whenResponses(CacheOutcome.HIT, 3).get(10, TimeUnit.SECONDS);
    assertThat(proxy.server.metrics().frontHits()).isEqualTo(front + (FRONT ? 1 : 0));
    assertThat(origin.requests("/f")).isEqualTo(1);
  }

  @Test
  void aPipelinedMixOfHitsAndMissesComesBackInOrder() throws Exception {
    Socket s = raw.connect();
    StringBuilder burst = new StringBuilder();
    List<String> expected = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      String path = i % 2 == 0 || i == 9 ? "/f" : "/m" + (i / 2);
      burst.append("GET ").append(path).append(" HTTP/1.1\r\nHost: ").append(raw.host()).append("\r\n\r\n");
      expected.add(path);
    }
    send(s, "GET /f HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n" + burst); // a first hit, then the burst in one write
    assertThat(read(s).body()).isEqualTo(BODY);
    for (String path : expected) {
      Response r = read(s);
      assertThat(r.status()).as(path).isEqualTo(200);
      if (path.equals("/f")) {
        assertThat(r.body()).as(path).isEqualTo(BODY);
      } else {
        assertThat(new String(r.body(), StandardCharsets.US_ASCII)).isEqualTo("miss " + path.substring(2));
      }
    }
    assertThat(closedByPeer(s, 200)).as("keep-alive").isFalse();
    assertThat(origin.requests("/f")).isEqualTo(1);
    for (int i = 0; i < 4; i++) {
      assertThat(origin.requests("/m" + i)).isEqualTo(1);
    }
    List<String> logged = drain(11);
    assertThat(logged.get(0)).contains("\"GET /f HTTP/1.1\" 200 1024 ").contains("HIT ram complete");
    if (FRONT) {
      assertThat(proxy.server.metrics().frontHits()).as("the first hit at least").isPositive();
    }
  }

  @Test
  void requestsThatAreNotPlainHitsAreLeftToVertxAndAnsweredRight() throws Exception {
    long front = proxy.server.metrics().frontHits();
    Socket s = raw.connect();
    send(s, "HEAD /f HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n");
    Response head = readHead(s);
    assertThat(head.status()).isEqualTo(200);
    assertThat(head.field("content-length")).isEqualTo("1024");

    send(s, "GET /f HTTP/1.1\r\nHost: " + raw.host() + "\r\nRange: bytes=0-9\r\n\r\n");
    Response part = read(s);
    assertThat(part.status()).isEqualTo(206);
    assertThat(part.body()).isEqualTo(Arrays.copyOf(BODY, 10));

    send(s, "GET /f HTTP/1.1\r\nHost: " + raw.host() + "\r\nIf-None-Match: \"v5\"\r\n\r\n");
    assertThat(readHead(s).status()).isEqualTo(304);

    // a validator the entry cannot be judged by (no Last-Modified): the whole response, by the normal path
    send(s, "GET /f HTTP/1.1\r\nHost: " + raw.host() + "\r\nIf-Modified-Since: Tue, 01 Dec 2099 00:00:00 GMT\r\n\r\n");
    Response ims = read(s);
    assertThat(ims.body()).isEqualTo(BODY);
    assertThat(ims.lastField()).doesNotStartWith("Age: ");

    // the request's own Cache-Control and Pragma: revalidated with the origin (its 200 is a new copy)
    send(s, "GET /f HTTP/1.1\r\nHost: " + raw.host() + "\r\nCache-Control: no-cache\r\n\r\n");
    Response noCache = read(s);
    assertThat(noCache.body()).isEqualTo(BODY);
    assertThat(noCache.field("cache-status")).doesNotContain("hit").contains("fwd=");
    send(s, "GET /f HTTP/1.1\r\nHost: " + raw.host() + "\r\nPragma: no-cache\r\n\r\n");
    Response pragma = read(s);
    assertThat(pragma.body()).isEqualTo(BODY);
    assertThat(pragma.field("cache-status")).doesNotContain("hit").contains("fwd=");
    int originAfterNoCache = origin.requests("/f");
    assertThat(originAfterNoCache).isEqualTo(3);

    send(s, "GET /f HTTP/1.0\r\nHost: " + raw.host() + "\r\nConnection: keep-alive\r\n\r\n");
    Response old = read(s);
    assertThat(old.body()).isEqualTo(BODY);
    assertThat(old.field("connection")).isEqualToIgnoringCase("keep-alive");

    assertThat(proxy.server.metrics().frontHits()).as("none of these").isEqualTo(front);
    send(s, "GET /f HTTP/1.1\r\nHost: " + raw.host() + "\r\nConnection: close\r\n\r\n");
    Response last = read(s);
    assertThat(last.body()).isEqualTo(BODY);
    assertThat(last.field("connection")).isEqualTo("close");
    assertThat(closedByPeer(s, 10_000)).isTrue();
    assertThat(proxy.server.metrics().frontHits()).as("Connection: close").isEqualTo(front);
    assertThat(origin.requests("/f")).isEqualTo(originAfterNoCache);
  }

  @Test
  void aStaleEntryIsNotServedFresh() throws Exception {
    warm("/s", 2);
    Socket s = raw.connect();
    long front = proxy.server.metrics().frontHits();
    send(s, "GET /s HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n");
    assertThat(read(s).field("cache-status")).isEqualTo("zcproxy; hit");
    proxy.server.metrics().whenResponses(CacheOutcome.HIT, 3).get(10, TimeUnit.SECONDS); // counted once written
    assertThat(proxy.server.metrics().frontHits()).isEqualTo(front + (FRONT ? 1 : 0));
    proxy.advance(Duration.ofSeconds(30));
    send(s, "GET /s HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n");
    Response stale = read(s);
    assertThat(stale.body()).isEqualTo(BODY);
    assertThat(stale.field("cache-status")).as("not a fresh hit").isNotEqualTo("zcproxy; hit");
    assertThat(stale.lastField()).doesNotStartWith("Age: ");
    assertThat(origin.requests("/s")).isEqualTo(2);
    assertThat(proxy.server.metrics().frontHits()).isEqualTo(front + (FRONT ? 1 : 0));
  }

  @Test
  void aClientThatResetsMidBurstLeavesNothingBehind() throws Exception {
    Socket s = raw.connect();
    s.setSoLinger(true, 0);
    StringBuilder burst = new StringBuilder();
    for (int i = 0; i < 200; i++) {
      burst.append("GET /f HTTP/1.1\r\nHost: ").append(raw.host()).append("\r\n\r\n");
    }
    send(s, burst.toString());
    readHead(s);
    s.close();
    Socket next = raw.connect();
    send(next, "GET /f HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n");
    assertThat(read(next).body()).isEqualTo(BODY);
    assertThat(origin.requests("/f")).isEqualTo(1);
  }

  // ---------------------------------------------------------------- raw HTTP/1.1

  /** A response as it came: head lines and body. */
  static byte[] raw(Response r) {
    byte[] head = (String.join("\r\n", r.head()) + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1);
    byte[] all = Arrays.copyOf(head, head.length + r.body().length);
    System.arraycopy(r.body(), 0, all, head.length, r.body().length);
    return all;
  }

  private List<String> drain(int n) throws InterruptedException {
    return FastHitIT.drain(lines, n);
  }
}
