package dev.zcproxy.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Malformed client input gets a clear status and a closed connection; the origin never sees it. */
class BadInputIT extends OriginAndProxy {
  @BeforeEach
  void start() throws Exception {
    origin.serve("/", "ok".getBytes(), "Cache-Control", "no-store");
    proxy = ProxyFixture.start(origin.url(), cacheDir, "listen.max-header-size: 4KiB");
  }

  /** Sends raw bytes and reads until the proxy closes the connection. */
  private String exchange(String raw) throws Exception {
    try (Socket s = new Socket("127.0.0.1", proxy.server.port())) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write(raw.getBytes(StandardCharsets.ISO_8859_1));
      s.getOutputStream().flush();
      InputStream in = s.getInputStream();
      return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1); // returns only once the proxy closed
    }
  }

  @Test
  void malformedRequestLineIs400AndClosesTheConnection() throws Exception {
    String response = exchange("GARBAGE\r\n\r\n");
    // No version could be read from the line, so Netty answers in HTTP/1.0.
    assertThat(response).matches("(?s)HTTP/1\\.[01] 400 .*");
    assertThat(response.toLowerCase(java.util.Locale.ROOT)).contains("connection: close").contains("cache-status: zcproxy; fwd=bypass; detail=bad-request");
    assertThat(origin.totalRequests()).isZero();
  }

  @Test
  void malformedHeaderLineIs400() throws Exception {
    String response = exchange("GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n");
    assertThat(response).startsWith("HTTP/1.1 400");
    assertThat(origin.totalRequests()).isZero();
  }

  @Test
  void headerSectionOverTheLimitIs431() throws Exception {
    String response = exchange("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + "a".repeat(8000) + "\r\n\r\n");
    assertThat(response).startsWith("HTTP/1.1 431");
    assertThat(origin.totalRequests()).isZero();
  }

  @Test
  void aGoodRequestAfterwardsStillWorks() throws Exception {
    exchange("GARBAGE\r\n\r\n");
    String response = exchange("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assertThat(response).startsWith("HTTP/1.1 200");
  }
}
