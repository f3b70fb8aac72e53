package dev.zcproxy.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * A client that hangs up (a reset) in the middle of a large body sent with sendfile is an ordinary event: no ERROR
 * line, the object stays cached, and the next client gets all of it from the cache.
 */
class ClientHangUpIT {
  private static final int SIZE = 12 << 20; // above Vert.x's 1 MiB sendFile piece, which logged each failed piece
  @TempDir
  Path cacheDir;
  FixtureOrigin origin;
  ProxyFixture proxy;
  ListAppender<ILoggingEvent> errors;
  Logger root;
  byte[] body;
  String sha;

  @BeforeEach
  void setUp() throws Exception {
    body = new byte[SIZE];
    new Random(11).nextBytes(body);
    sha = sha256(body, body.length);
    root = ((LoggerContext) LoggerFactory.getILoggerFactory()).getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    errors = new ListAppender<>();
    errors.start();
    root.addAppender(errors);
  }

  @AfterEach
  void tearDown() throws Exception {
    root.detachAppender(errors);
    if (proxy != null) {
      proxy.close();
    }
    if (origin != null) {
      origin.close();
    }
  }

  @Test
  void aClientThatResetsDuringAFillItJoinedIsNoErrorAndTheFillIsStored() throws Exception {
    origin = FixtureOrigin.start();
    // the origin trickles the body in 1 MiB pieces, so the hanging-up client is sent ranges of a fill under way
    origin.trickle("/big", body, 10, "Cache-Control", "max-age=600", "Content-Type", "application/x-test");
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    try (Socket s = client()) {
      send(s, "GET /big HTTP/1.1\r\nHost: " + host() + "\r\n\r\n");
      readSome(s, 3 << 20);
      reset(s);
    }
    proxy.server.metrics().whenStored(1).get(30, TimeUnit.SECONDS);
    assertWholeHitAndNoError();
  }

  @Test
  void aClientThatResetsMidBodyOfALargeHitIsNoErrorAndTheObjectStaysCached() throws Exception {
    origin = FixtureOrigin.start();
    origin.serve("/big", body, "Cache-Control", "max-age=600", "Content-Type", "application/x-test");
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    assertThat(sha256(proxy.get("/big").body(), SIZE)).isEqualTo(sha);
    proxy.server.metrics().whenStored(1).get(30, TimeUnit.SECONDS);
    // a plain keep-alive GET (the fast path's own file region) and one that asks to close (the normal path, which
    // handed the body to Vert.x's sendFile)
    for (String extra : List.of("", "Connection: close\r\n")) {
      try (Socket s = client()) {
        send(s, "GET /big HTTP/1.1\r\nHost: " + host() + "\r\n" + extra + "\r\n");
        String head = readSome(s, 2 << 20);
        assertThat(head).as(extra).startsWith("HTTP/1.1 200");
        reset(s);
      }
    }
    assertWholeHitAndNoError();
  }

  /** The next client gets the whole body from the cache; the origin was asked once; nothing was logged at ERROR. */
  private void assertWholeHitAndNoError() throws Exception {
    // the reset connection counted out (the java.net.http client may keep its one): its failed write was handled
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (proxy.server.openClientConnections() > 1) {
      assertThat(System.nanoTime()).as("waiting for the reset connection to close").isLessThan(deadline);
      Thread.sleep(10); // polling a server-side counter; bounded by the deadline
    }
    ProxyFixture.Streamed hit = proxy.getStreamed("/big");
    assertThat(hit.response().statusCode()).isEqualTo(200);
    assertThat(hit.bytes()).isEqualTo(SIZE);
    assertThat(hit.sha256()).isEqualTo(sha);
    assertThat(origin.requests("/big")).as("served from the cache after the hang-ups").isEqualTo(1);
    assertThat(errors.list.stream().filter(e -> e.getLevel().isGreaterOrEqual(Level.ERROR))
        .map(ILoggingEvent::getFormattedMessage)).as("ERROR lines").isEmpty();
  }

  private String host() {
    return "127.0.0.1:" + proxy.server.port();
  }

  private Socket client() throws IOException {
    Socket s = new Socket();
    s.setReceiveBufferSize(64 << 10); // before connect: the proxy's sendfile is still under way when the reset comes
    s.connect(new java.net.InetSocketAddress("127.0.0.1", proxy.server.port()), 5_000);
    s.setSoTimeout(10_000);
    return s;
  }

  private static void send(Socket s, String raw) throws IOException {
    OutputStream out = s.getOutputStream();
    out.write(raw.getBytes(StandardCharsets.ISO_8859_1));
    out.flush();
  }

  /** Reads {@code n} bytes of the response (head included); returns its first 64 as text. */
  private static String readSome(Socket s, int n) throws IOException {
    InputStream in = s.getInputStream();
    byte[] buf = new byte[64 << 10];
    StringBuilder first = new StringBuilder();
    int got = 0;
    while (got < n) {
      int k = in.read(buf, 0, Math.min(buf.length, n - got));
      assertThat(k).as("bytes before the hang-up").isPositive();
      if (first.length() < 64) {
        first.append(new String(buf, 0, Math.min(k, 64 - first.length()), StandardCharsets.ISO_8859_1));
      }
      got += k;
    }
    return first.toString();
  }

  /** Closes with a reset (SO_LINGER 0), as a client that is killed or times out does. */
  private static void reset(Socket s) throws IOException {
    s.setSoLinger(true, 0);
    s.close();
  }

  private static String sha256(byte[] b, int length) throws Exception {
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    md.update(b, 0, length);
    return HexFormat.of().formatHex(md.digest());
  }
}
