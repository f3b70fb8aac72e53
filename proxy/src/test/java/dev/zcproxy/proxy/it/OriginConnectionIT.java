package dev.zcproxy.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetServer;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Origins that misbehave on the wire: the proxy's pooled origin connections must not pass the damage on. */
class OriginConnectionIT {
  @TempDir
  Path cacheDir;

  @Test
  void anOriginThatSendsMoreThanItsContentLengthDoesNotBreakTheNextRequest() throws Exception {
    Vertx vertx = Vertx.vertx();
    AtomicInteger requests = new AtomicInteger();
    // A raw HTTP/1.1 origin: the first response says Content-Length: 10 but sends 36 bytes on a
    // keep-alive connection; later responses are correct.
    NetServer origin = vertx.createNetServer().connectHandler(socket -> {
      StringBuilder pending = new StringBuilder();
      socket.handler(buf -> {
        pending.append(buf.toString(StandardCharsets.ISO_8859_1));
        int end;
        while ((end = pending.indexOf("\r\n\r\n")) >= 0) {
          pending.delete(0, end + 4);
          int n = requests.incrementAndGet();
          String body = n == 1 ? "0123456789ABCDEF-extra-bytes-oops-xy" : "fine";
          String len = n == 1 ? "10" : Integer.toString(body.length());
          socket.write(Buffer.buffer("HTTP/1.1 200 OK\r\nContent-Length: " + len + "\r\nCache-Control: no-store\r\n\r\n" + body));
        }
      });
    }).listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    try (ProxyFixture proxy = ProxyFixture.start("http://127.0.0.1:" + origin.actualPort(), cacheDir)) {
      HttpResponse<byte[]> first = proxy.get("/a");
      assertThat(new String(first.body())).isEqualTo("0123456789");
      HttpResponse<byte[]> second = proxy.get("/b");
      assertThat(second.statusCode()).isEqualTo(200);
      assertThat(new String(second.body())).isEqualTo("fine");
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void theProxyAnnouncesItselfAsASurrogateToTheOrigin() throws Exception {
    try (FixtureOrigin origin = FixtureOrigin.start();
        ProxyFixture proxy = ProxyFixture.start(origin.url(), cacheDir)) {
      origin.serve("/s", "x".getBytes(), "Surrogate-Control", "max-age=600;zcproxy", "Cache-Control", "no-store");
      proxy.get("/s");
      assertThat(origin.lastRequestHeaders().get("surrogate-capability")).isEqualTo("zcproxy=\"Surrogate/1.0\"");
      proxy.server.metrics().whenStored(1).get(10, TimeUnit.SECONDS);
      assertThat(proxy.get("/s").headers().firstValue("x-cache")).hasValue("HIT");
      assertThat(origin.requests("/s")).isEqualTo(1);
    }
  }
}
