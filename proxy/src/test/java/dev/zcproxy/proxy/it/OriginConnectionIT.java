package dev.zcproxy.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.net.NetSocket;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Origins that misbehave on the wire: the proxy's pooled origin connections must not pass the damage on. */
class OriginConnectionIT {
  @TempDir
  Path cacheDir;

  @Test
  void anOriginThatSendsMoreThanItsContentLengthHasItsConnectionClosedAndNothingIsSentTwice() throws Exception {
    // The first response says Content-Length: 10 but sends 36 bytes on a keep-alive connection; later
    // responses are correct.
    try (RawOrigin origin = RawOrigin.start((r, s) -> {
      String body = r.n() == 1 ? "0123456789ABCDEF-extra-bytes-oops-xy" : "fine";
      String len = r.n() == 1 ? "10" : Integer.toString(body.length());
      String cc = r.n() == 1 ? "max-age=600" : "no-store";
      RawOrigin.write(s, "HTTP/1.1 200 OK\r\nContent-Length: " + len + "\r\nCache-Control: " + cc + "\r\n\r\n" + body);
    }); ProxyFixture proxy = ProxyFixture.start(origin.url(), cacheDir)) {
      HttpResponse<byte[]> first = proxy.get("/a");
      assertThat(new String(first.body())).isEqualTo("0123456789");
      HttpResponse<byte[]> second = proxy.get("/b");
      assertThat(second.statusCode()).isEqualTo(200);
      assertThat(new String(second.body())).isEqualTo("fine");
      // One request each: /b was not sent on the dirty connection and retried.
      assertThat(origin.requests).hasValue(2);
      assertThat(origin.connections).hasValue(2);
      // The complete response (its declared 10 bytes) was stored.
      proxy.server.metrics().whenStored(1).get(10, TimeUnit.SECONDS);
      HttpResponse<byte[]> hit = proxy.get("/a");
      assertThat(hit.headers().firstValue("x-cache")).hasValue("HIT");
      assertThat(new String(hit.body())).isEqualTo("0123456789");
      assertThat(origin.requests).hasValue(2);
    }
  }

  @Test
  void unsolicitedBytesOnAnIdlePooledConnectionCloseIt() throws Exception {
    CompletableFuture<NetSocket> firstSocket = new CompletableFuture<>();
    try (RawOrigin origin = RawOrigin.start((r, s) -> {
      if (r.n() == 1) {
        firstSocket.complete(s);
      }
      RawOrigin.write(s, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nCache-Control: no-store\r\n\r\nok");
    }); ProxyFixture proxy = ProxyFixture.start(origin.url(), cacheDir)) {
      assertThat(new String(proxy.get("/a").body())).isEqualTo("ok");
      // The response is over and the connection idle in the pool: the origin now sends bytes nobody asked
      // for (an incomplete head, which Vert.x alone would keep until the next response and then misparse).
      RawOrigin.write(firstSocket.get(5, TimeUnit.SECONDS), "HTTP/1.1 200 OK\r\nContent-Le");
      assertThat(origin.closed.await(10, TimeUnit.SECONDS)).as("the proxy closed the dirty connection").isTrue();
      HttpResponse<byte[]> second = proxy.get("/b");
      assertThat(second.statusCode()).isEqualTo(200);
      assertThat(new String(second.body())).isEqualTo("ok");
      assertThat(origin.requests).hasValue(2);
      assertThat(origin.connections).hasValue(2);
    }
  }

  /**
   * The race every keep-alive client has with an origin's idle timeout: the proxy writes a request on a
   * pooled connection just as the origin closes it, so the connection ends before any byte of a response.
   * An idempotent request goes again on a new connection (as nginx does for a cached connection); the
   * client never sees a 502 for it.
   */
  @Test
  void anIdempotentRequestOnAPooledConnectionTheOriginClosedGoesAgainOnANewOne() throws Exception {
    try (RawOrigin origin = RawOrigin.start(closesTheSecondRequestsConnection());
        ProxyFixture proxy = ProxyFixture.start(origin.url(), cacheDir)) {
      assertThat(new String(proxy.get("/a").body())).isEqualTo("ok");
      HttpResponse<byte[]> second = proxy.get("/b");
      assertThat(second.statusCode()).isEqualTo(200);
      assertThat(new String(second.body())).isEqualTo("ok");
      assertThat(origin.requests).as("/b sent twice: on the closing connection, then on a new one").hasValue(3);
      assertThat(origin.connections).hasValue(2);
    }
  }

  @Test
  void aPostOnAPooledConnectionTheOriginClosedIsNotSentAgain() throws Exception {
    try (RawOrigin origin = RawOrigin.start(closesTheSecondRequestsConnection());
        ProxyFixture proxy = ProxyFixture.start(origin.url(), cacheDir)) {
      assertThat(new String(proxy.get("/a").body())).isEqualTo("ok");
      HttpResponse<byte[]> post = proxy.send("POST", "/b");
      assertThat(post.statusCode()).isEqualTo(502);
      assertThat(origin.requests).as("a POST may have been acted on: never sent twice").hasValue(2);
    }
  }

  /** Answers the first request, closes the connection on the second without a byte, answers the rest. */
  private static java.util.function.BiConsumer<RawOrigin.Request, NetSocket> closesTheSecondRequestsConnection() {
    return (r, s) -> {
      if (r.n() == 2) {
        s.close();
      } else {
        RawOrigin.write(s, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nCache-Control: no-store\r\n\r\nok");
      }
    };
  }

  @Test
  void aConnectionIsReusedWhenTheOriginBehaves() throws Exception {
    try (RawOrigin origin = RawOrigin.start((r, s) ->
        RawOrigin.write(s, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nCache-Control: no-store\r\n\r\nok"));
        ProxyFixture proxy = ProxyFixture.start(origin.url(), cacheDir)) {
      for (int i = 0; i < 3; i++) {
        assertThat(new String(proxy.get("/k" + i).body())).isEqualTo("ok");
      }
      assertThat(origin.requests).hasValue(3);
      assertThat(origin.connections).hasValue(1);
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
