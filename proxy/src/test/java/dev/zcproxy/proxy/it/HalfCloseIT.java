package dev.zcproxy.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Clients that half-close their connection after the request ({@code nc -N}: request, then
 * {@code shutdown(SHUT_WR)}) still get their whole response, then the proxy closes; as nginx does.
 */
class HalfCloseIT {
  @TempDir
  Path cacheDir;

  /** Sends {@code request}, shuts the output down, and reads everything until the proxy closes. */
  static String halfClosed(int port, String request) throws Exception {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
      s.setSoTimeout(10_000);
      s.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
      s.getOutputStream().flush();
      s.shutdownOutput();
      return readToEof(s.getInputStream());
    }
  }

  static String readToEof(InputStream in) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] buf = new byte[8192];
    int n;
    while ((n = in.read(buf)) > 0) { // read() times out (SoTimeout) rather than waiting forever
      out.write(buf, 0, n);
    }
    return out.toString(StandardCharsets.ISO_8859_1);
  }

  @Test
  void aHalfClosedClientGetsItsMissAndItsHitThenTheConnectionCloses() throws Exception {
    byte[] body = "half-closed clients are still clients\n".repeat(100).getBytes(StandardCharsets.US_ASCII);
    try (FixtureOrigin origin = FixtureOrigin.start();
        ProxyFixture proxy = ProxyFixture.start(origin.url(), cacheDir)) {
      origin.serve("/h", body, "Cache-Control", "max-age=600");
      String miss = halfClosed(proxy.server.port(), "GET /h HTTP/1.1\r\nHost: example.test\r\n\r\n");
      assertThat(miss).startsWith("HTTP/1.1 200").contains("x-cache: MISS").endsWith(new String(body, StandardCharsets.US_ASCII));
      proxy.server.metrics().whenStored(1).get(10, TimeUnit.SECONDS);
      String hit = halfClosed(proxy.server.port(), "GET /h HTTP/1.1\r\nHost: example.test\r\n\r\n");
      assertThat(hit).startsWith("HTTP/1.1 200").contains("x-cache: HIT").endsWith(new String(body, StandardCharsets.US_ASCII));
      assertThat(origin.requests("/h")).isEqualTo(1);
      assertThat(proxy.server.store().entryCount()).isEqualTo(1);
    }
  }

  @Test
  void pipelinedRequestsBeforeTheHalfCloseAreAllAnswered() throws Exception {
    try (FixtureOrigin origin = FixtureOrigin.start();
        ProxyFixture proxy = ProxyFixture.start(origin.url(), cacheDir)) {
      origin.serve("/a", "AAA".getBytes(), "Cache-Control", "no-store");
      origin.serve("/b", "BBB".getBytes(), "Cache-Control", "no-store");
      String both = halfClosed(proxy.server.port(),
          "GET /a HTTP/1.1\r\nHost: example.test\r\n\r\nGET /b HTTP/1.1\r\nHost: example.test\r\n\r\n");
      assertThat(both.split("HTTP/1.1 200", -1)).hasSize(3);
      assertThat(both).contains("AAA").endsWith("BBB");
      assertThat(origin.requests("/a")).isEqualTo(1);
      assertThat(origin.requests("/b")).isEqualTo(1);
    }
  }

  @Test
  void aClientThatEndsItsInputMidBodyIsDisconnectedAndNothingIsAnswered() throws Exception {
    try (FixtureOrigin origin = FixtureOrigin.start();
        ProxyFixture proxy = ProxyFixture.start(origin.url(), cacheDir)) {
      origin.route("/post", req -> req.body().onSuccess(b -> req.response().end("got " + b.length())));
      String got = halfClosed(proxy.server.port(),
          "POST /post HTTP/1.1\r\nHost: example.test\r\nContent-Length: 100\r\n\r\nonly-part-of-it");
      assertThat(got).isEmpty();
    }
  }
}
