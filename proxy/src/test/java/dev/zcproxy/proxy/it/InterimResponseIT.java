package dev.zcproxy.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Interim (1xx) responses from the origin: forwarded to HTTP/1.1 clients ahead of the final response,
 * never to HTTP/1.0 ones, never stored, never taken for the final response (RFC 9110 §15.2).
 */
class InterimResponseIT {
  @TempDir
  Path cacheDir;

  private static final String FINAL = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nCache-Control: max-age=600\r\n\r\nhello";

  /** Writes {@code request} (which should ask to close) and reads until the proxy closes. */
  static String exchange(int port, String request) throws Exception {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
      s.setSoTimeout(10_000);
      s.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
      s.getOutputStream().flush();
      return HalfCloseIT.readToEof(s.getInputStream());
    }
  }

  /** The Host the fixture's java.net.http client sends, so that raw and java requests share a cache key. */
  private static String host(ProxyFixture proxy) {
    return "127.0.0.1:" + proxy.server.port();
  }

  @Test
  void a102IsForwardedAndTheFinalResponseIsDeliveredAndStored() throws Exception {
    try (RawOrigin origin = RawOrigin.start((r, s) -> {
      RawOrigin.write(s, "HTTP/1.1 102 Processing\r\n\r\n");
      s.write(io.vertx.core.buffer.Buffer.buffer()).onComplete(v -> RawOrigin.write(s, FINAL));
    }); ProxyFixture proxy = ProxyFixture.start(origin.url(), cacheDir)) {
      String got = exchange(proxy.server.port(), "GET /p HTTP/1.1\r\nHost: " + host(proxy) + "\r\nConnection: close\r\n\r\n");
      assertThat(got).startsWith("HTTP/1.1 102 Processing\r\n");
      assertThat(got.indexOf("HTTP/1.1 200")).isPositive();
      assertThat(got).endsWith("\r\n\r\nhello");
      proxy.server.metrics().whenStored(1).get(10, TimeUnit.SECONDS);
      var hit = proxy.get("/p");
      assertThat(hit.statusCode()).isEqualTo(200);
      assertThat(hit.headers().firstValue("x-cache")).hasValue("HIT");
      assertThat(new String(hit.body())).isEqualTo("hello");
      assertThat(origin.requests).hasValue(1);
    }
  }

  @Test
  void a103IsForwardedWithItsHeadersWhichDoNotLeakIntoTheFinalResponse() throws Exception {
    try (RawOrigin origin = RawOrigin.start((r, s) -> RawOrigin.write(s,
        "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\nX-Hint: 1\r\n\r\n" + FINAL));
        ProxyFixture proxy = ProxyFixture.start(origin.url(), cacheDir)) {
      String got = exchange(proxy.server.port(), "GET /e HTTP/1.1\r\nHost: " + host(proxy) + "\r\nConnection: close\r\n\r\n");
      assertThat(got).startsWith("HTTP/1.1 103 Early Hints\r\n");
      int fin = got.indexOf("HTTP/1.1 200");
      assertThat(got.substring(0, fin)).containsIgnoringCase("link: </style.css>; rel=preload");
      String finalHead = got.substring(fin).toLowerCase(java.util.Locale.ROOT);
      assertThat(finalHead).doesNotContain("link:").doesNotContain("x-hint").endsWith("hello");
      proxy.server.metrics().whenStored(1).get(10, TimeUnit.SECONDS);
      var hit = proxy.get("/e");
      assertThat(hit.headers().firstValue("x-cache")).hasValue("HIT");
      assertThat(hit.headers().firstValue("link")).isEmpty();
      assertThat(origin.requests).hasValue(1);
    }
  }

  @Test
  void anHttp10ClientGetsNoInterimResponse() throws Exception {
    try (RawOrigin origin = RawOrigin.start((r, s) -> RawOrigin.write(s, "HTTP/1.1 102 Processing\r\n\r\n"
        + "HTTP/1.1 103 Early Hints\r\nLink: </a.js>; rel=preload\r\n\r\n" + FINAL));
        ProxyFixture proxy = ProxyFixture.start(origin.url(), cacheDir)) {
      String got = exchange(proxy.server.port(), "GET /old HTTP/1.0\r\nHost: example.test\r\n\r\n");
      assertThat(got).startsWith("HTTP/1.0 200").endsWith("hello").doesNotContain(" 102 ").doesNotContain(" 103 ");
      assertThat(origin.requests).hasValue(1);
    }
  }

  @Test
  void aHeadAfterAnInterimResponseEndsAtItsHeadAndTheNextRequestIsUnharmed() throws Exception {
    try (RawOrigin origin = RawOrigin.start((r, s) -> {
      if (r.head().startsWith("HEAD")) {
        // No Content-Length: read as a GET's response this would be a body read until the connection closes.
        RawOrigin.write(s, "HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 200 OK\r\nX-Head: yes\r\nCache-Control: no-store\r\n\r\n");
      } else {
        RawOrigin.write(s, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nCache-Control: no-store\r\n\r\nnext");
      }
    }); ProxyFixture proxy = ProxyFixture.start(origin.url(), cacheDir, "cache.enabled: false")) {
      // Passed through (a cacheable HEAD miss is another finding's matter).
      var head = proxy.send("HEAD", "/h");
      assertThat(head.statusCode()).isEqualTo(200);
      assertThat(head.headers().firstValue("x-head")).hasValue("yes");
      var next = proxy.get("/n");
      assertThat(next.statusCode()).isEqualTo(200);
      assertThat(new String(next.body())).isEqualTo("next");
      assertThat(origin.requests).hasValue(2);
      assertThat(origin.connections).as("the connection stayed usable").hasValue(1);
    }
  }

  @Test
  void a101ToAPlainRequestIsABadGatewayAndNothingIsStored() throws Exception {
    try (RawOrigin origin = RawOrigin.start((r, s) -> RawOrigin.write(s,
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo\r\nConnection: upgrade\r\n\r\n"));
        ProxyFixture proxy = ProxyFixture.start(origin.url(), cacheDir)) {
      var got = proxy.get("/u");
      assertThat(got.statusCode()).isEqualTo(502);
      assertThat(origin.requests).hasValue(1);
      assertThat(proxy.server.store().entryCount()).isZero();
    }
  }
}
