package dev.zcproxy.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.CacheOutcome;
import dev.zcproxy.proxy.transfer.TransferMode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The plain GET hit fast path (a RAM-tier body with a pre-encoded head, written straight to the channel):
 * it answers as the normal path does (status, fields, body), is counted and logged as a HIT from {@code ram},
 * keeps the connection and the order of pipelined responses, and leaves everything else (HEAD, conditional
 * requests, HTTP/1.0, {@code Connection: close}) to the normal path.
 *
 * <p>How a test tells the two paths apart: the fast path writes {@code Age} as the head's last field, the normal
 * path writes it before {@code via} and {@code cache-status}.
 */
class FastHitIT extends OriginAndProxy {
  private static final byte[] BODY = CachingIT.body(1024, 9);

  @RegisterExtension
  final AccessLogCapture access = new AccessLogCapture();
  final BlockingQueue<String> lines = access.lines;
  @RegisterExtension
  final RawConnections raw = new RawConnections(() -> proxy);

  @BeforeEach
  void start() throws Exception {
    origin.serve("/f", BODY, "Cache-Control", "max-age=600", "ETag", "\"v1\"", "Content-Type", "application/x-test");
    proxy = ProxyFixture.start(origin.url(), cacheDir, "logging.access-log: stdout");
    // miss (its fill reads the body into RAM), then a first hit: the next hits can take the fast path
    assertThat(proxy.get("/f").body()).isEqualTo(BODY);
    proxy.server.metrics().whenStored(1).get(20, TimeUnit.SECONDS);
    proxy.server.metrics().whenRamLoaded(1).get(10, TimeUnit.SECONDS);
    assertThat(proxy.get("/f").headers().firstValue("x-cache")).hasValue("HIT");
    proxy.server.metrics().whenResponses(CacheOutcome.HIT, 1).get(10, TimeUnit.SECONDS);
    for (String l = ""; !l.contains(" HIT "); ) {
      l = lines.poll(10, TimeUnit.SECONDS); // the set-up's lines, up to its hit's
      assertThat(l).as("the set-up hit's access-log line").isNotNull();
    }
  }

  @Test
  void aPlainGetHitIsAnsweredLikeAnyHitCountedAndLogged() throws Exception {
    long ramBefore = proxy.server.metrics().responses(TransferMode.RAM);
    Socket s = raw.connect();
    send(s, "GET /f HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n");
    Response fast = read(s);
    assertThat(fast.status()).isEqualTo(200);
    assertThat(fast.body()).isEqualTo(BODY);
    assertThat(fast.lastField()).startsWith("Age: ");
    assertThat(fast.field("cache-status")).isEqualTo("zcproxy; hit");
    assertThat(fast.field("via")).isEqualTo("1.1 zcproxy");
    assertThat(fast.field("x-cache")).isEqualTo("HIT");
    assertThat(fast.field("content-length")).isEqualTo("1024");
    assertThat(fast.field("etag")).isEqualTo("\"v1\"");
    assertThat(fast.field("content-type")).isEqualTo("application/x-test");
    proxy.server.metrics().whenResponses(CacheOutcome.HIT, 2).get(10, TimeUnit.SECONDS);
    assertThat(proxy.server.metrics().responses(TransferMode.RAM)).isEqualTo(ramBefore + 1);
    String line = lines.poll(10, TimeUnit.SECONDS);
    assertThat(line).contains("\"GET /f HTTP/1.1\" 200 1024 ").contains("HIT ram complete");

    // the normal path (a validator that does not match: answered 200 from the same RAM body) sends the same fields
    send(s, "GET /f HTTP/1.1\r\nHost: " + raw.host() + "\r\nIf-None-Match: \"other\"\r\n\r\n");
    Response normal = read(s);
    assertThat(normal.status()).isEqualTo(200);
    assertThat(normal.body()).isEqualTo(BODY);
    assertThat(normal.lastField()).doesNotStartWith("Age: ");
    assertThat(fast.fieldSet()).isEqualTo(normal.fieldSet());
    assertThat(origin.requests("/f")).isEqualTo(1);
  }

  @Test
  void headConditionalAndPlainRequestsShareOneConnection() throws Exception {
    Socket s = raw.connect();
    send(s, "HEAD /f HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n");
    Response head = readHead(s);
    assertThat(head.status()).isEqualTo(200);
    assertThat(head.field("content-length")).isEqualTo("1024");
    assertThat(head.field("cache-status")).isEqualTo("zcproxy; hit");

    send(s, "GET /f HTTP/1.1\r\nHost: " + raw.host() + "\r\nIf-None-Match: \"v1\"\r\n\r\n");
    Response notModified = readHead(s);
    assertThat(notModified.status()).isEqualTo(304);
    assertThat(notModified.field("content-length")).isNull();

    send(s, "GET /f HTTP/1.1\r\nHost: " + raw.host() + "\r\nRange: bytes=0-9\r\n\r\n");
    Response part = read(s);
    assertThat(part.status()).isEqualTo(206);
    assertThat(part.body()).isEqualTo(Arrays.copyOf(BODY, 10));

    send(s, "GET /f HTTP/1.1\r\nHost: " + raw.host() + "\r\nConnection: keep-alive\r\n\r\n");
    Response fast = read(s);
    assertThat(fast.lastField()).startsWith("Age: ");
    assertThat(fast.body()).isEqualTo(BODY);
    assertThat(closedByPeer(s, 300)).as("the connection stays open").isFalse();

    List<String> logged = drain(4);
    assertThat(logged.get(0)).contains("\"HEAD /f HTTP/1.1\" 200 0 ").contains("HIT none complete");
    assertThat(logged.get(1)).contains("\"GET /f HTTP/1.1\" 304 0 ").contains("HIT none complete");
    assertThat(logged.get(2)).contains("\"GET /f HTTP/1.1\" 206 10 ").contains("HIT ram complete");
    assertThat(logged.get(3)).contains("\"GET /f HTTP/1.1\" 200 1024 ").contains("HIT ram complete");
  }

  @Test
  void pipelinedRequestsAreAnsweredInOrderAndConnectionCloseIsKept() throws Exception {
    Socket s = raw.connect();
    String get = "GET /f HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n";
    send(s, get + get + "HEAD /f HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n" + get
        + "GET /f HTTP/1.1\r\nHost: " + raw.host() + "\r\nIf-None-Match: \"v1\"\r\n\r\n" + get
        + "GET /f HTTP/1.1\r\nHost: " + raw.host() + "\r\nConnection: close\r\n\r\n");
    for (int i = 0; i < 2; i++) {
      Response r = read(s);
      assertThat(r.body()).isEqualTo(BODY);
      assertThat(r.lastField()).startsWith("Age: ");
    }
    Response head = readHead(s);
    assertThat(head.status()).isEqualTo(200);
    assertThat(read(s).body()).isEqualTo(BODY);
    assertThat(readHead(s).status()).isEqualTo(304);
    assertThat(read(s).body()).isEqualTo(BODY);
    Response last = read(s);
    assertThat(last.body()).isEqualTo(BODY);
    assertThat(last.field("connection")).isEqualTo("close");
    assertThat(last.lastField()).as("Connection: close goes the normal way").doesNotStartWith("Age: ");
    assertThat(closedByPeer(s, 10_000)).isTrue();
    assertThat(drain(7)).allSatisfy(l -> assertThat(l).contains("HIT").contains(" complete"));
    assertThat(origin.requests("/f")).isEqualTo(1);
  }

  @Test
  void anHttp10RequestGoesTheNormalWay() throws Exception {
    Socket s = raw.connect();
    send(s, "GET /f HTTP/1.0\r\nHost: " + raw.host() + "\r\nConnection: keep-alive\r\n\r\n");
    Response r = read(s);
    assertThat(r.body()).isEqualTo(BODY);
    assertThat(r.lastField()).doesNotStartWith("Age: ");
    assertThat(r.field("connection")).isEqualToIgnoringCase("keep-alive");
    assertThat(drain(1).get(0)).contains("\"GET /f HTTP/1.0\" 200 1024 ").contains("HIT ram complete");
  }

  @Test
  void aClientThatClosesMidwayLeavesTheProxyServing() throws Exception {
    Socket s = raw.connect();
    s.setSoLinger(true, 0); // a reset: writes still under way fail
    StringBuilder burst = new StringBuilder();
    for (int i = 0; i < 200; i++) {
      burst.append("GET /f HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n");
    }
    send(s, burst.toString());
    readHead(s); // the first response is under way
    s.close();

    Socket next = raw.connect();
    send(next, "GET /f HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n");
    Response r = read(next);
    assertThat(r.body()).isEqualTo(BODY);
    assertThat(r.lastField()).startsWith("Age: ");
    assertThat(origin.requests("/f")).isEqualTo(1);
    // every line the reset connection got is a HIT from RAM, whole or cut
    List<String> all = new ArrayList<>();
    for (String l = lines.poll(10, TimeUnit.SECONDS); l != null && all.size() < 202; l = lines.poll(500, TimeUnit.MILLISECONDS)) {
      all.add(l); // until the lines stop coming (at most one per request sent)
    }
    assertThat(all).isNotEmpty().allSatisfy(l -> assertThat(l).contains("HIT ram ").containsAnyOf(" complete", " aborted"));
  }

  // ---------------------------------------------------------------- raw HTTP/1.1

  /** Writes {@code raw} to the socket as ISO-8859-1 bytes and flushes. */
  static void send(Socket s, String raw) throws IOException {
    s.getOutputStream().write(raw.getBytes(StandardCharsets.ISO_8859_1));
    s.getOutputStream().flush();
  }

  private List<String> drain(int n) throws InterruptedException {
    return drain(lines, n);
  }

  /** The next {@code n} access-log lines, failing when one does not come within 10 s. */
  static List<String> drain(BlockingQueue<String> lines, int n) throws InterruptedException {
    List<String> got = new ArrayList<>();
    while (got.size() < n) {
      String l = lines.poll(10, TimeUnit.SECONDS);
      assertThat(l).as("access-log line %d of %d (got %s)", got.size() + 1, n, got).isNotNull();
      got.add(l);
    }
    return got;
  }

  /** A response as read: its head's lines (status line first) and body. */
  record Response(List<String> head, byte[] body) {
    int status() {
      return Integer.parseInt(head.get(0).split(" ")[1]);
    }

    String field(String name) {
      for (String l : head.subList(1, head.size())) {
        int colon = l.indexOf(':');
        if (l.substring(0, colon).equalsIgnoreCase(name)) {
          return l.substring(colon + 1).trim();
        }
      }
      return null;
    }

    String lastField() {
      return head.get(head.size() - 1);
    }

    /** The fields with lower-case names, as a set (order is not part of HTTP's meaning). */
    Set<String> fieldSet() {
      Set<String> set = new HashSet<>();
      for (String l : head.subList(1, head.size())) {
        int colon = l.indexOf(':');
        set.add(l.substring(0, colon).toLowerCase(java.util.Locale.ROOT) + ":" + l.substring(colon + 1).trim());
      }
      return set;
    }
  }

  /** Reads a response with a Content-Length body. */
  static Response read(Socket s) throws IOException {
    Response h = readHead(s);
    String length = h.field("content-length");
    byte[] body = s.getInputStream().readNBytes(length == null ? 0 : Integer.parseInt(length));
    return new Response(h.head(), body);
  }

  /** Reads a response head (a HEAD's or a 304's whole response). */
  static Response readHead(Socket s) throws IOException {
    InputStream in = s.getInputStream();
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
    String text = head.toString(StandardCharsets.ISO_8859_1);
    return new Response(List.of(text.substring(0, text.length() - 4).split("\r\n")), new byte[0]);
  }

  /** True when the peer closed (EOF or reset) within {@code millis}. */
  static boolean closedByPeer(Socket s, int millis) throws IOException {
    s.setSoTimeout(millis);
    try {
      return s.getInputStream().read() < 0;
    } catch (SocketTimeoutException e) {
      return false;
    } catch (IOException e) {
      return true;
    } finally {
      s.setSoTimeout(10_000);
    }
  }
}
