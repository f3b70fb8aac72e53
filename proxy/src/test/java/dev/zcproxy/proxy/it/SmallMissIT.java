package dev.zcproxy.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * A small miss (a body the proxy holds whole, up to {@code Fill.WHOLE_MAX}) costs the client one write:
 * its head waits for the body and both go out together, as nginx's {@code postpone_output} does.
 */
class SmallMissIT extends OriginAndProxy {

  @Test
  void aSmallMissArrivesAsHeadAndBodyInOneWrite() throws Exception {
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    byte[] body = CachingIT.body(1000, 7);
    for (int i = 0; i < 5; i++) {
      String path = "/one" + i;
      origin.serve(path, body, "Cache-Control", "max-age=600");
      try (Socket s = new Socket("127.0.0.1", proxy.server.port())) {
        s.setSoTimeout(20_000);
        s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + proxy.server.port() + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
        // One read, blocked before the proxy wrote anything: it returns what the first write carried.
        byte[] buf = new byte[64 * 1024];
        int n = s.getInputStream().read(buf);
        String got = new String(buf, 0, Math.max(n, 0), StandardCharsets.ISO_8859_1);
        int headEnd = got.indexOf("\r\n\r\n");
        assertThat(got).startsWith("HTTP/1.1 200").containsIgnoringCase("\r\ncontent-length: 1000\r\n");
        assertThat(n - (headEnd + 4)).as("the body came with the head of " + path).isEqualTo(body.length);
        assertThat(Arrays.copyOfRange(buf, headEnd + 4, n)).isEqualTo(body);
      }
    }
    // still stored: the next request is a hit, the origin saw each path once
    proxy.server.metrics().whenStored(5).get(20, java.util.concurrent.TimeUnit.SECONDS);
    HttpResponse<byte[]> hit = proxy.get("/one4");
    assertThat(hit.headers().firstValue("x-cache")).hasValue("HIT");
    assertThat(hit.body()).isEqualTo(body);
    assertThat(origin.totalRequests()).isEqualTo(5);
    assertThat(proxy.server.store().entryCount()).isEqualTo(5);
  }
}
