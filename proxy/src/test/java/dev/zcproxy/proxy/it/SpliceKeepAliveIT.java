package dev.zcproxy.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.CacheOutcome;
import dev.zcproxy.proxy.transfer.TransferMode;
import io.vertx.core.buffer.Buffer;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pass-through and fills by splice keep the origin connection: exactly Content-Length bytes are spliced
 * (to the client, or into the cache file), then the connection's decoder is reset and it goes back to the
 * pool; an origin that sent more than it declared gets its connection closed, and the next request is not
 * answered with those bytes.
 */
class SpliceKeepAliveIT {
  private static final int SIZE = 600 * 1024; // above transfer.splice-min-size (512 KiB)

  @TempDir
  Path cacheDir;

  private static Buffer response(byte[] body, String extra) {
    return Buffer.buffer(("HTTP/1.1 200 OK\r\nContent-Length: " + body.length + "\r\nCache-Control: no-store\r\n\r\n")
        .getBytes(StandardCharsets.ISO_8859_1)).appendBytes(body).appendString(extra);
  }

  @Test
  void aSplicedBodyLeavesTheOriginConnectionInThePoolForTheNextRequest() throws Exception {
    byte[] body = CachingIT.body(SIZE, 11);
    try (RawOrigin origin = RawOrigin.start((r, s) -> s.write(response(body, "")));
        ProxyFixture proxy = ProxyFixture.start(origin.url(), cacheDir)) {
      for (int i = 0; i < 3; i++) {
        HttpResponse<byte[]> got = proxy.get("/p" + i);
        assertThat(got.statusCode()).isEqualTo(200);
        assertThat(got.body()).as("body %d", i).isEqualTo(body);
      }
      proxy.server.metrics().whenResponses(CacheOutcome.MISS, 3).get(10, TimeUnit.SECONDS);
      assertThat(proxy.server.metrics().responses(TransferMode.SPLICE)).isEqualTo(3);
      assertThat(origin.requests).hasValue(3);
      assertThat(origin.connections).as("origin connections for 3 spliced bodies").hasValue(1);
    }
  }

  @Test
  void atTheDefaultThresholdA256KiBPassIsCopiedAndALargerOneSpliced() throws Exception {
    byte[] small = CachingIT.body(256 * 1024, 14); // the load test's 256 KiB pass (BULK-2026-12-03e)
    byte[] large = CachingIT.body(SIZE, 15);
    try (RawOrigin origin = RawOrigin.start((r, s) -> s.write(response(r.head().contains(" /small") ? small : large, "")));
        ProxyFixture proxy = ProxyFixture.start(origin.url(), cacheDir)) {
      for (int i = 0; i < 3; i++) {
        assertThat(proxy.get("/small").body()).as("small %d", i).isEqualTo(small);
        assertThat(proxy.get("/large").body()).as("large %d", i).isEqualTo(large);
      }
      proxy.server.metrics().whenResponses(CacheOutcome.MISS, 2).get(10, TimeUnit.SECONDS);
      proxy.server.metrics().whenResponses(CacheOutcome.PASS, 4).get(10, TimeUnit.SECONDS);
      assertThat(proxy.server.metrics().responses(TransferMode.SPLICE)).as("the larger body every time").isEqualTo(3);
      assertThat(origin.requests).hasValue(6);
    }
  }

  private static Buffer cacheable(byte[] body, String extra) {
    return Buffer.buffer(("HTTP/1.1 200 OK\r\nContent-Length: " + body.length + "\r\nCache-Control: max-age=3600\r\n\r\n")
        .getBytes(StandardCharsets.ISO_8859_1)).appendBytes(body).appendString(extra);
  }

  @Test
  void aBodySplicedIntoItsCacheFileLeavesTheOriginConnectionInThePoolForTheNextMiss() throws Exception {
    byte[][] bodies = {CachingIT.body(SIZE, 21), CachingIT.body(SIZE, 22), CachingIT.body(SIZE, 23)};
    try (RawOrigin origin = RawOrigin.start((r, s) -> s.write(cacheable(bodies[(r.n() - 1) % 3], "")));
        ProxyFixture proxy = ProxyFixture.start(origin.url(), cacheDir)) {
      for (int i = 0; i < 3; i++) {
        HttpResponse<byte[]> got = proxy.get("/f" + i);
        assertThat(got.statusCode()).isEqualTo(200);
        assertThat(got.body()).as("miss %d", i).isEqualTo(bodies[i]);
        proxy.server.metrics().whenStored(i + 1).get(10, TimeUnit.SECONDS);
      }
      assertThat(proxy.server.metrics().filledBytes(TransferMode.SPLICE)).as("spliced into the cache files").isGreaterThan(0);
      for (int i = 0; i < 3; i++) {
        HttpResponse<byte[]> hit = proxy.get("/f" + i);
        assertThat(hit.headers().firstValue("cache-status").orElse("")).as("hit %d", i).contains("hit");
        assertThat(hit.body()).as("stored body %d", i).isEqualTo(bodies[i]);
      }
      assertThat(origin.requests).hasValue(3);
      assertThat(origin.connections).as("origin connections for 3 spliced fills").hasValue(1);
    }
  }

  @Test
  void bytesBeyondASplicedFillCloseTheConnectionAndNeverReachTheNextClient() throws Exception {
    byte[] body = CachingIT.body(SIZE, 24);
    byte[] second = CachingIT.body(SIZE, 25);
    String smuggled = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nCache-Control: max-age=3600\r\n\r\nevil!";
    try (RawOrigin origin = RawOrigin.start((r, s) -> s.write(r.n() == 1 ? cacheable(body, smuggled) : cacheable(second, "")));
        ProxyFixture proxy = ProxyFixture.start(origin.url(), cacheDir)) {
      HttpResponse<byte[]> first = proxy.get("/a");
      assertThat(first.body()).isEqualTo(body);
      assertThat(origin.closed.await(10, TimeUnit.SECONDS)).as("the proxy closed the dirty connection").isTrue();
      HttpResponse<byte[]> next = proxy.get("/b");
      assertThat(next.statusCode()).isEqualTo(200);
      assertThat(next.body()).isEqualTo(second);
      assertThat(proxy.get("/b").body()).as("stored").isEqualTo(second);
      assertThat(origin.requests).hasValue(2);
      assertThat(origin.connections).hasValue(2);
    }
  }

  @Test
  void bytesBeyondTheSplicedLengthCloseTheConnectionAndNeverReachTheNextClient() throws Exception {
    byte[] body = CachingIT.body(SIZE, 12);
    byte[] second = CachingIT.body(SIZE, 13);
    String smuggled = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nCache-Control: no-store\r\n\r\nevil!";
    try (RawOrigin origin = RawOrigin.start((r, s) -> s.write(r.n() == 1 ? response(body, smuggled) : response(second, "")));
        ProxyFixture proxy = ProxyFixture.start(origin.url(), cacheDir)) {
      HttpResponse<byte[]> first = proxy.get("/a");
      assertThat(first.body()).isEqualTo(body);
      assertThat(origin.closed.await(10, TimeUnit.SECONDS)).as("the proxy closed the dirty connection").isTrue();
      HttpResponse<byte[]> next = proxy.get("/b");
      assertThat(next.statusCode()).isEqualTo(200);
      assertThat(next.body()).isEqualTo(second);
      assertThat(origin.requests).hasValue(2);
      assertThat(origin.connections).hasValue(2);
    }
  }
}
