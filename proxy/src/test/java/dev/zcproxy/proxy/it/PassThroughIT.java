package dev.zcproxy.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.CacheOutcome;
import dev.zcproxy.proxy.transfer.TransferMode;
import io.vertx.core.buffer.Buffer;
import java.net.http.HttpResponse;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Uncacheable bodies pass through byte for byte: by splice(2) socket to socket, or copied. */
class PassThroughIT extends OriginAndProxy {
  static final int SIZE = 100 << 20;
  static byte[] big;

  @BeforeEach
  void start() throws Exception {
    if (big == null) {
      big = CachingIT.body(SIZE, 100);
    }
    origin.route("/big", req -> req.response().putHeader("Cache-Control", "no-store")
        .putHeader("Content-Length", Integer.toString(SIZE)).end(Buffer.buffer(big)));
  }

  @ParameterizedTest(name = "zero-copy={0}")
  @ValueSource(booleans = {true, false})
  void aHundredMiBUncacheableBodyPassesThroughByteIdentical(boolean zeroCopy) throws Exception {
    proxy = ProxyFixture.start(origin.url(), cacheDir, "transfer.splice: " + zeroCopy, "transfer.sendfile: " + zeroCopy);
    String expected = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(big));
    for (int round = 0; round < 3; round++) {
      ProxyFixture.Streamed got = proxy.getStreamed("/big");
      assertThat(got.bytes()).isEqualTo(SIZE);
      assertThat(got.sha256()).isEqualTo(expected);
      HttpResponse<?> r = got.response();
      // The first response marks the URI hit-for-pass: the next ones go straight through as PASS.
      assertThat(r.headers().firstValue("x-cache")).hasValue(round == 0 ? "MISS" : "PASS");
    }
    assertThat(origin.requests("/big")).isEqualTo(3);
    var m = proxy.server.metrics();
    // A response is counted when the proxy has finished it, which can be just after the client read its last byte.
    m.whenResponses(CacheOutcome.PASS, 2).get(20, java.util.concurrent.TimeUnit.SECONDS);
    assertThat(m.responses(CacheOutcome.MISS)).isEqualTo(1);
    assertThat(m.responses(CacheOutcome.PASS)).isEqualTo(2);
    if (zeroCopy) {
      assertThat(m.responses(TransferMode.SPLICE)).isEqualTo(3);
      assertThat(m.bytes(TransferMode.SPLICE)).isEqualTo(3L * SIZE);
    } else {
      assertThat(m.responses(TransferMode.SPLICE)).isZero();
      assertThat(m.bytes(TransferMode.COPY)).isEqualTo(3L * SIZE);
    }
  }
}
