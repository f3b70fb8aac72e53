package dev.zcproxy.proxy.it;

import static dev.zcproxy.proxy.it.FastHitIT.closedByPeer;
import static dev.zcproxy.proxy.it.FastHitIT.read;
import static dev.zcproxy.proxy.it.FastHitIT.readHead;
import static dev.zcproxy.proxy.it.FastHitIT.send;
import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.CacheOutcome;
import dev.zcproxy.proxy.it.FastHitIT.Response;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Hits answered from the raw request bytes in front of the HTTP/1 decoder (with {@code transfer.front-hits}):
 * hostile and unusual heads reach the decoder unchanged and get what the decoder and Vert.x give them, nothing
 * hidden in one reaches the origin, heads split across reads are answered, and a pipelined mix keeps its order.
 * Every test asserts what the client got, what the origin got and (by the origin's count) that the cache held.
 */
class RawHitIT extends OriginAndProxy {
  private static final byte[] BODY = CachingIT.body(1024, 7);

  @RegisterExtension
  final AccessLogCapture access = new AccessLogCapture();
  @RegisterExtension
  final RawConnections raw = new RawConnections(() -> proxy);

  @BeforeEach
  void start() throws Exception {
    origin.serve("/f", BODY, "Cache-Control", "max-age=600");
    for (int i = 0; i < 4; i++) {
      origin.serve("/m" + i, ("miss " + i).getBytes(StandardCharsets.US_ASCII), "Cache-Control", "no-store");
    }
    proxy = ProxyFixture.start(origin.url(), cacheDir, "logging.access-log: stdout", "listen.request-head-timeout: 1s");
    assertThat(proxy.get("/f").statusCode()).isEqualTo(200);
    proxy.server.metrics().whenStored(1).get(20, TimeUnit.SECONDS);
    proxy.server.metrics().whenRamLoaded(1).get(10, TimeUnit.SECONDS);
  }

  @Test
  void aHeadSentByteByByteIsAnsweredAndTheConnectionOutlivesTheHeadTimer() throws Exception {
    Socket s = raw.connect();
    s.setTcpNoDelay(true);
    OutputStream out = s.getOutputStream();
    for (byte b : ("GET /f HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII)) {
      out.write(b); // one segment a byte: the proxy reads a partial head (the decoder's) at least once
      out.flush();
    }
    assertThat(read(s).body()).isEqualTo(BODY);
    proxy.server.metrics().whenResponses(CacheOutcome.HIT, 1).get(10, TimeUnit.SECONDS); // counted once written
    long front = proxy.server.metrics().frontHits();
    for (int i = 0; i < 3; i++) {
      send(s, "GET /f HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n");
      Response r = read(s);
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.body()).isEqualTo(BODY);
      assertThat(r.field("cache-status")).isEqualTo("zcproxy; hit");
    }
    proxy.server.metrics().whenResponses(CacheOutcome.HIT, 4).get(10, TimeUnit.SECONDS);
    assertThat(proxy.server.metrics().frontHits()).isEqualTo(front + 3);
    // heads answered in front of the decoder stop the 1 s head clock like decoded ones: an idle keep-alive stays
    assertThat(closedByPeer(s, 2_500)).as("closed by the head timer").isFalse();
    send(s, "GET /f HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n");
    assertThat(read(s).body()).isEqualTo(BODY);
    // a head that stops half-way is still timed: 408, then closed
    send(s, "GET /f HTTP/1.1\r\nHo");
    assertThat(readHead(s).status()).isEqualTo(408);
    assertThat(closedByPeer(s, 5_000)).isTrue();
    assertThat(origin.requests("/f")).isEqualTo(1);
  }

  @Test
  void aClientAnsweredInFrontIsNotIdle() throws Exception {
    proxy.close();
    proxy = ProxyFixture.start(origin.url(), cacheDir, "listen.idle-timeout: 1s");
    assertThat(proxy.get("/f").statusCode()).isEqualTo(200); // reads the body into RAM
    proxy.server.metrics().whenRamLoaded(1).get(10, TimeUnit.SECONDS);
    int fetched = origin.requests("/f");
    Socket s = raw.connect();
    long front = proxy.server.metrics().frontHits();
    // a hit every 250 ms for 2.5 s: the idle timer (1 s, real time) sees every read and write of the front path
    for (int i = 0; i < 10; i++) {
      send(s, "GET /f HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n");
      assertThat(read(s).body()).as("hit %d", i).isEqualTo(BODY);
      Thread.sleep(250); // real time is what the idle timer counts
    }
    assertThat(proxy.server.metrics().frontHits()).isGreaterThan(front);
    assertThat(closedByPeer(s, 3_000)).as("idle for good: closed").isTrue();
    assertThat(origin.requests("/f")).isEqualTo(fetched);
  }

  @Test
  void hostileHeadsGetTheDecodersAnswerAndNothingHiddenReachesTheOrigin() throws Exception {
    String h = raw.host();
    String smuggled = "GET /m0 HTTP/1.1\r\nHost: " + h + "\r\n\r\n";
    String chunk = Integer.toHexString(smuggled.length()) + "\r\n" + smuggled + "\r\n0\r\n\r\n";
    Object[][] cases = {
      // head, the status the client gets
      {"GET /f HTTP/1.1\r\nHost: " + h + "\r\nX-A: a\r\n b\r\n\r\n", 200}, // obs-fold: Netty unfolds it
      {"GET /f HTTP/1.1\r\nHost: " + h + "\r\nX-A: a\0b\r\n\r\n", 400}, // NUL
      {"GET /f HTTP/1.1\nHost: " + h + "\n\n", 400}, // bare LF line ends
      {"GET /f HTTP/1.1\r\nHost: " + h + "\r\nX-A: a\n" + smuggled, 400}, // a bare LF hiding a request
      {"GET /f HTTP/1.1\r\nHost: " + h + "\r\nHost: " + h + "\r\n\r\n", 400}, // duplicate Host
      {"GET /f HTTP/1.1\r\nHost : " + h + "\r\n\r\n", 400}, // space before the colon
      {"GET /f HTTP/1.1\r\nHost: " + h + "\r\nContent-Length: " + smuggled.length() + "\r\n\r\n" + smuggled, 0},
      {"GET /f HTTP/1.1\r\nHost: " + h + "\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk, 0},
      {"GET /f HTTP/1.1\r\nHost: " + h + "\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk, 400},
    };
    for (Object[] c : cases) {
      String head = (String) c[0];
      int status = (int) c[1];
      String what = head.replace("\r", "\\r").replace("\n", "\\n").replace("\0", "\\0");
      Socket s = raw.connect();
      send(s, head);
      Response r = read(s);
      if (status == 200) {
        assertThat(r.status()).as(what).isEqualTo(status);
        assertThat(r.body()).as(what).isEqualTo(BODY);
      } else if (status != 0) {
        assertThat(r.status()).as(what).isEqualTo(status);
        assertThat(closedByPeer(s, 5_000)).as(what).isTrue();
      } else {
        // a GET with a body: whatever the proxy answers, the body is a body, never a request of its own
        assertThat(r.status()).as(what).isLessThan(500);
        assertThat(nothingMore(s)).as(what + ": no second response").isTrue();
      }
      assertThat(origin.requests("/m0")).as(what).isZero();
    }
    assertThat(origin.requests("/f")).as("every GET /f was answered from the cache or refused").isLessThanOrEqualTo(3);
  }

  @Test
  void unusualButValidHeadsAreAnsweredByTheDecoderPath() throws Exception {
    String h = raw.host();
    char[] big = new char[5000];
    Arrays.fill(big, 'a');
    String[] heads = {
      "GET /f HTTP/1.1\r\nHost: " + h + "\r\nX-Big: " + new String(big) + "\r\n\r\n", // larger than the matcher takes
      "GET http://" + h + "/f HTTP/1.1\r\nHost: " + h + "\r\n\r\n", // absolute form
      "GET /f HTTP/1.1\r\nHost: " + h + "\r\nX-Latin: caf\u00e9\r\n\r\n", // obs-text
    };
    Socket s = raw.connect();
    for (String head : heads) {
      send(s, head);
      Response r = read(s);
      assertThat(r.status()).as(head.substring(0, Math.min(60, head.length()))).isEqualTo(200);
      assertThat(r.body()).isEqualTo(BODY);
    }
    assertThat(origin.requests("/f")).isEqualTo(1);
  }

  @Test
  void aPipelinedMixOfHitsMissesAndAPostComesBackInOrder() throws Exception {
    String h = raw.host();
    String hit = "GET /f HTTP/1.1\r\nHost: " + h + "\r\n\r\n";
    Socket s = raw.connect();
    send(s, hit + hit + "GET /m1 HTTP/1.1\r\nHost: " + h + "\r\n\r\n" + hit
        + "POST /m2 HTTP/1.1\r\nHost: " + h + "\r\nContent-Length: 11\r\n\r\n" + hit.substring(0, 11)
        + hit + "GET /m3 HTTP/1.1\r\nHost: " + h + "\r\n\r\n" + hit + "GET /f HTTP/1.1\r\nHo");
    send(s, "st: " + h + "\r\n\r\n"); // the last head split across writes
    String[] expected = {"/f", "/f", "/m1", "/f", "/m2", "/f", "/m3", "/f", "/f"};
    for (String path : expected) {
      Response r = read(s);
      assertThat(r.status()).as(path).isEqualTo(200);
      if (path.equals("/f")) {
        assertThat(r.body()).as(path).isEqualTo(BODY);
      } else {
        assertThat(new String(r.body(), StandardCharsets.US_ASCII)).as(path).isEqualTo("miss " + path.substring(2));
      }
    }
    assertThat(closedByPeer(s, 200)).as("keep-alive").isFalse();
    assertThat(origin.requests("/f")).isEqualTo(1);
    for (int i = 1; i < 4; i++) {
      assertThat(origin.requests("/m" + i)).as("/m" + i).isEqualTo(1);
    }
    assertThat(origin.requests("/m0")).isZero();
    assertThat(proxy.server.metrics().frontHits()).as("the first hits at least").isGreaterThanOrEqualTo(2);
  }

  /** True when no byte comes within 300 ms (or the connection closes): no further response was sent. */
  private static boolean nothingMore(Socket s) throws IOException {
    s.setSoTimeout(300);
    try {
      return s.getInputStream().read() < 0;
    } catch (java.net.SocketTimeoutException e) {
      return true;
    } catch (IOException e) {
      return true;
    } finally {
      s.setSoTimeout(10_000);
    }
  }
}
