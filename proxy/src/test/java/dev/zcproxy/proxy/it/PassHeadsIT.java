package dev.zcproxy.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The exact bytes a pass sends the origin and the client: the request head the origin receives (hop-by-hop fields
 * gone, Via, X-Forwarded-*, Forwarded) and the response the client reads (the origin's fields in order, hop-by-hop
 * ones gone, Via, the upstream Cache-Status with this proxy's member appended), for heads longer than the usual
 * sixteen lines, with repeated fields, and for requests on one connection that differ in Host (the Forwarded text
 * built for one must not be reused for the other).
 */
class PassHeadsIT {
  @TempDir
  Path cacheDir;
  RawOrigin origin;
  ProxyFixture proxy;
  @RegisterExtension
  final RawConnections conns = new RawConnections(() -> proxy);

  @AfterEach
  void stop() throws Exception {
    if (proxy != null) {
      proxy.close();
    }
    if (origin != null) {
      origin.close();
    }
  }

  /** The origin's answer: no-store (every request passes after the first), long, with repeats and hop-by-hop fields. */
  private static String response() {
    StringBuilder r = new StringBuilder("HTTP/1.1 200 OK\r\n")
        .append("Date: Wed, 02 Dec 2026 12:00:00 GMT\r\n")
        .append("Cache-Control: no-store\r\n")
        .append("Connection: keep-alive, X-Hop\r\n")
        .append("X-Hop: dropped\r\n")
        .append("Via: 1.1 upstream\r\n")
        .append("Cache-Status: upstream; fwd=uri-miss\r\n")
        .append("Set-Cookie: a=1\r\n")
        .append("Set-Cookie: b=2\r\n");
    for (int i = 0; i < 20; i++) {
      r.append("X-Field-").append(i).append(": v").append(i).append("\r\n");
    }
    return r.append("Content-Length: 5\r\n\r\nhello").toString();
  }

  private static String request(String host) {
    StringBuilder r = new StringBuilder("GET /pass?q=1 HTTP/1.1\r\n")
        .append("Host: ").append(host).append("\r\n")
        .append("Connection: keep-alive, X-Client-Hop\r\n")
        .append("X-Client-Hop: dropped\r\n")
        .append("X-Forwarded-For: 10.0.0.1\r\n")
        .append("Accept: a\r\n")
        .append("Accept: b\r\n");
    for (int i = 0; i < 20; i++) {
      r.append("X-Req-").append(i).append(": r").append(i).append("\r\n");
    }
    return r.append("\r\n").toString();
  }

  /** Reads one response with a Content-Length body (the only kind the origin here sends) as text. */
  private static String readResponse(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    while (true) {
      int b = in.read();
      assertThat(b).as("response ended early: " + head).isGreaterThanOrEqualTo(0);
      head.write(b);
      byte[] h = head.toByteArray();
      int n = h.length;
      if (n >= 4 && h[n - 4] == '\r' && h[n - 3] == '\n' && h[n - 2] == '\r' && h[n - 1] == '\n') {
        break;
      }
    }
    String text = head.toString(StandardCharsets.ISO_8859_1);
    int length = 0;
    for (String line : text.split("\r\n")) {
      if (line.regionMatches(true, 0, "content-length:", 0, 15)) {
        length = Integer.parseInt(line.substring(15).trim());
      }
    }
    return text + new String(in.readNBytes(length), StandardCharsets.ISO_8859_1);
  }

  @Test
  void aPassSendsTheOriginAndTheClientExactlyTheseBytes() throws Exception {
    origin = RawOrigin.start((req, socket) -> RawOrigin.write(socket, response()));
    proxy = ProxyFixture.start(origin.url(), cacheDir, "logging.x-cache-header: true");
    // Host is part of the cache key: each host's first request is a miss (no-store), its next ones hit-for-pass.
    String[] hosts = {"a.example", "a.example", "b.example:8080", "b.example:8080", "a.example", "[::1]:81", "[::1]:81"};
    String[] got = new String[hosts.length];
    try (Socket s = conns.connect()) {
      OutputStream out = s.getOutputStream();
      InputStream in = s.getInputStream();
      for (int i = 0; i < hosts.length; i++) {
        out.write(request(hosts[i]).getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
        got[i] = readResponse(in);
      }
    }
    assertThat(origin.requests).hasValue(hosts.length);
    int port = proxy.server.port();
    for (int i = 0; i < hosts.length; i++) {
      String host = hosts[i];
      boolean first = java.util.Arrays.asList(hosts).indexOf(host) == i;
      String quoted = host.indexOf(':') >= 0 ? "\"" + host + "\"" : host;
      StringBuilder req = new StringBuilder("GET /pass?q=1 HTTP/1.1\r\n")
          .append("Accept: a\r\n")
          .append("Accept: b\r\n");
      for (int k = 0; k < 20; k++) {
        req.append("X-Req-").append(k).append(": r").append(k).append("\r\n");
      }
      req.append("host: ").append(host).append("\r\n")
          .append("via: 1.1 zcproxy\r\n")
          .append("x-forwarded-for: 127.0.0.1\r\n")
          .append("x-forwarded-host: ").append(host).append("\r\n")
          .append("x-forwarded-proto: http\r\n")
          .append("x-forwarded-port: ").append(port).append("\r\n")
          .append("forwarded: for=127.0.0.1;host=").append(quoted).append(";proto=http\r\n")
          .append("surrogate-capability: zcproxy=\"Surrogate/1.0\"\r\n")
          .append("\r\n");
      assertThat(origin.heads.get(i)).as("origin request %d (Host %s)", i, host).isEqualTo(req.toString());

      StringBuilder resp = new StringBuilder("HTTP/1.1 200 OK\r\n")
          .append("Date: Wed, 02 Dec 2026 12:00:00 GMT\r\n")
          .append("Cache-Control: no-store\r\n")
          .append("Set-Cookie: a=1\r\n")
          .append("Set-Cookie: b=2\r\n");
      for (int k = 0; k < 20; k++) {
        resp.append("X-Field-").append(k).append(": v").append(k).append("\r\n");
      }
      resp.append("Content-Length: 5\r\n")
          .append("via: 1.1 upstream, 1.1 zcproxy\r\n")
          .append("cache-status: upstream; fwd=uri-miss, zcproxy; fwd=uri-miss; fwd-status=200")
          .append(first ? "; detail=no-store" : "; detail=hit-for-pass").append("\r\n")
          .append("x-cache: ").append(first ? "MISS" : "PASS").append("\r\n")
          .append("\r\nhello");
      assertThat(got[i]).as("response %d (Host %s)", i, host).isEqualTo(resp.toString());
    }
  }

  /**
   * The origin's status line reaches the client as it was, reason phrase and all: the standard phrase (which the proxy
   * no longer sets on Vert.x's response, Vert.x sends it anyway), a phrase of the origin's own for a known code, and
   * the phrases of codes Netty has no name for.
   */
  @Test
  void aPassKeepsTheOriginsReasonPhrase() throws Exception {
    String[] lines = {"200 OK", "200 Fine Thanks", "404 Not Found", "404 Nope", "299 Custom", "200 OK", "503 Busy Now"};
    origin = RawOrigin.start((req, socket) -> RawOrigin.write(socket, "HTTP/1.1 " + lines[(req.n() - 1) % lines.length]
        + "\r\nCache-Control: no-store\r\nContent-Length: 2\r\n\r\nok"));
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    try (Socket s = conns.connect()) {
      OutputStream out = s.getOutputStream();
      InputStream in = s.getInputStream();
      for (String line : lines) {
        out.write("GET /reason HTTP/1.1\r\nHost: a.example\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
        String got = readResponse(in);
        assertThat(got.substring(0, got.indexOf("\r\n"))).isEqualTo("HTTP/1.1 " + line);
        assertThat(got).endsWith("\r\n\r\nok");
      }
    }
    assertThat(origin.requests).hasValue(lines.length);
  }
}
