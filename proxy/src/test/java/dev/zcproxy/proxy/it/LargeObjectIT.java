package dev.zcproxy.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.proxy.transfer.TransferMode;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerResponse;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** An object past 2 GiB (beyond splice's int offsets) is filled by the copy path, stored and served as a hit. */
class LargeObjectIT {
  static final long SIZE = (2L << 30) + 123_456; // 2 GiB + a bit
  static final int CHUNK = 1 << 20;

  @TempDir
  Path cacheDir;

  /** Chunk {@code i} of the body: a pattern that differs per chunk, so misplaced ranges show. */
  static byte[] chunk(long i, int length) {
    byte[] b = new byte[length];
    for (int k = 0; k < length; k++) {
      b[k] = (byte) (i * 31 + k * 7);
    }
    return b;
  }

  static String expectedSha256() throws Exception {
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    for (long off = 0, i = 0; off < SIZE; off += CHUNK, i++) {
      md.update(chunk(i, (int) Math.min(CHUNK, SIZE - off)));
    }
    return HexFormat.of().formatHex(md.digest());
  }

  private static void stream(HttpServerResponse resp, long off, long i) {
    while (off < SIZE && !resp.writeQueueFull()) {
      int n = (int) Math.min(CHUNK, SIZE - off);
      resp.write(Buffer.buffer(chunk(i, n)));
      off += n;
      i++;
    }
    if (off >= SIZE) {
      resp.end();
      return;
    }
    long o = off;
    long c = i;
    resp.drainHandler(v -> stream(resp, o, c));
  }

  static String fetchSha256(ProxyFixture proxy, HttpResponse<?>[] head) throws Exception {
    ProxyFixture.Streamed got = proxy.getStreamed("/huge");
    head[0] = got.response();
    assertThat(got.bytes()).isEqualTo(SIZE);
    return got.sha256();
  }

  @Test
  void aTwoGiBPlusObjectIsStoredAndServedAsAHit() throws Exception {
    try (FixtureOrigin origin = FixtureOrigin.start()) {
      origin.route("/huge", req -> {
        HttpServerResponse resp = req.response().putHeader("Cache-Control", "max-age=600")
            .putHeader("Content-Length", Long.toString(SIZE));
        stream(resp, 0, 0);
      });
      try (ProxyFixture proxy = ProxyFixture.start(origin.url(), cacheDir, "cache.max-size: 4GiB", "cache.max-object-size: 3GiB")) {
        String expected = expectedSha256();
        HttpResponse<?>[] head = new HttpResponse<?>[1];
        assertThat(fetchSha256(proxy, head)).isEqualTo(expected);
        assertThat(head[0].headers().firstValue("x-cache")).hasValue("MISS");
        proxy.server.metrics().whenStored(1).get(120, java.util.concurrent.TimeUnit.SECONDS);
        // Beyond int offsets the fill is copied, never spliced.
        assertThat(proxy.server.metrics().filledBytes(TransferMode.SPLICE)).isZero();
        assertThat(fetchSha256(proxy, head)).isEqualTo(expected);
        assertThat(head[0].headers().firstValue("x-cache")).hasValue("HIT");
        assertThat(origin.requests("/huge")).isEqualTo(1);
      }
    }
  }
}
