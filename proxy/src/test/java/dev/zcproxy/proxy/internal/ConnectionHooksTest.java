package dev.zcproxy.proxy.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpConnection;
import java.lang.reflect.Proxy;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The fallbacks of the connection hooks: a connection that is not Vert.x's own HTTP/1.x connection is
 * left alone (HalfCloseIT, InterimResponseIT and OriginConnectionIT cover the real ones).
 */
class ConnectionHooksTest {
  private final AtomicInteger calls = new AtomicInteger();
  private final HttpConnection foreign = (HttpConnection) Proxy.newProxyInstance(getClass().getClassLoader(),
      new Class<?>[] {HttpConnection.class}, (p, m, a) -> {
        calls.incrementAndGet();
        throw new UnsupportedOperationException(m.getName());
      });

  @Test
  void halfClosureIsNotInstalledOnAForeignConnection() {
    assertThat(HalfClose.install(foreign)).isFalse();
    assertThat(calls).hasValue(0);
  }

  @Test
  void h2cPriorKnowledgeIsNotInstalledOnAForeignConnection() {
    assertThat(PriorKnowledge.install(foreign)).isFalse();
    assertThat(PriorKnowledge.switched(foreign)).isFalse();
    assertThat(calls).hasValue(0);
  }

  @Test
  void theOriginCodecIsNotInstalledOnAForeignConnection() {
    assertThat(OriginCodec.install(foreign, new HttpClientOptions())).isFalse();
    assertThat(OriginCodec.onInterim(foreign, (s, r, h) -> { })).isFalse();
    assertThat(calls).hasValue(0);
  }

  @Test
  void aPreEncodedHitIsNotWrittenToAForeignRequest() {
    io.vertx.core.http.HttpServerRequest req = (io.vertx.core.http.HttpServerRequest) Proxy.newProxyInstance(
        getClass().getClassLoader(), new Class<?>[] {io.vertx.core.http.HttpServerRequest.class}, (p, m, a) -> switch (m.getName()) {
          case "version" -> io.vertx.core.http.HttpVersion.HTTP_1_1;
          case "isSSL" -> false;
          case "connection" -> foreign;
          default -> throw new UnsupportedOperationException(m.getName());
        });
    dev.zcproxy.cache.EncodedHead head = dev.zcproxy.cache.EncodedHead.builder(200, "OK").build();
    assertThat(HitWriter.write(req, 200, head, 0, RamBody.copyOf(new byte[1], false), 0, 1)).isNull();
    assertThat(calls).hasValue(0);
  }

  @Test
  void onlyARefusedRequestCountsAsNotSent() {
    assertThat(OriginCodec.notSent(new RuntimeException(new OriginCodec.UnsentRequestException()))).isTrue();
    assertThat(OriginCodec.notSent(new java.io.IOException("connection reset"))).isFalse();
  }
}
