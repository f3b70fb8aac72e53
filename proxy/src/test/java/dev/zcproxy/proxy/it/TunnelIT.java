package dev.zcproxy.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.CacheOutcome;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.net.NetServer;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** WebSocket and CONNECT through the whole proxy: tunnelled both ways, spliced or copied. */
class TunnelIT extends OriginAndProxy {
  NetServer echo;
  Vertx clientVertx;

  @BeforeEach
  void start() throws Exception {
    origin.route("/ws", req -> req.toWebSocket().onSuccess(ws -> {
      ws.textMessageHandler(ws::writeTextMessage);
      ws.binaryMessageHandler(ws::writeBinaryMessage);
    }));
    echo = origin.vertx().createNetServer().connectHandler(s -> s.handler(s::write))
        .listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    clientVertx = Vertx.vertx();
  }

  @AfterEach
  void stop() throws Exception {
    clientVertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @ParameterizedTest(name = "splice={0}")
  @ValueSource(booleans = {true, false})
  void aWebSocketEchoesThroughTheProxy(boolean splice) throws Exception {
    proxy = ProxyFixture.start(origin.url(), cacheDir, "transfer.splice: " + splice);
    WebSocketClient client = clientVertx.createWebSocketClient();
    WebSocket ws = client.connect(new WebSocketConnectOptions().setHost("127.0.0.1").setPort(proxy.server.port()).setURI("/ws"))
        .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    byte[] big = CachingIT.body(200_000, 3); // under Vert.x's default WebSocket message limit (256 KiB)
    CompletableFuture<String> text = new CompletableFuture<>();
    CompletableFuture<Buffer> binary = new CompletableFuture<>();
    ws.textMessageHandler(text::complete);
    ws.binaryMessageHandler(binary::complete);
    ws.writeTextMessage("hello through zcproxy");
    assertThat(text.get(10, TimeUnit.SECONDS)).isEqualTo("hello through zcproxy");
    ws.writeBinaryMessage(Buffer.buffer(big));
    assertThat(binary.get(20, TimeUnit.SECONDS).getBytes()).isEqualTo(big);
    ws.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private static String readHead(InputStream in) throws Exception {
    StringBuilder sb = new StringBuilder();
    while (!sb.toString().endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) {
        break;
      }
      sb.append((char) b);
    }
    return sb.toString();
  }

  @ParameterizedTest(name = "splice={0}")
  @ValueSource(booleans = {true, false})
  void connectTunnelsToAnAllowedPortOfTheOriginHost(boolean splice) throws Exception {
    proxy = ProxyFixture.start(origin.url(), cacheDir, "transfer.splice: " + splice,
        "transfer.connect-ports: [" + echo.actualPort() + "]");
    try (Socket s = new Socket("127.0.0.1", proxy.server.port())) {
      s.setSoTimeout(20_000);
      OutputStream out = s.getOutputStream();
      InputStream in = s.getInputStream();
      out.write(("CONNECT 127.0.0.1:" + echo.actualPort() + " HTTP/1.1\r\nHost: 127.0.0.1:" + echo.actualPort() + "\r\n\r\n")
          .getBytes(StandardCharsets.ISO_8859_1));
      assertThat(readHead(in)).startsWith("HTTP/1.1 200");
      byte[] payload = CachingIT.body(4 << 20, 9);
      Thread writer = new Thread(() -> {
        try {
          out.write(payload);
          out.flush();
        } catch (Exception ignored) {
          // the assertion below reports it
        }
      });
      writer.start();
      byte[] back = in.readNBytes(payload.length);
      writer.join(20_000);
      assertThat(Arrays.equals(back, payload)).isTrue();
    }
  }

  @ParameterizedTest(name = "target={0}")
  @ValueSource(strings = {"127.0.0.1:1", "example.com:PORT"})
  void connectToAPortOrHostNotAllowedIs403(String target) throws Exception {
    proxy = ProxyFixture.start(origin.url(), cacheDir, "transfer.connect-ports: [" + echo.actualPort() + "]");
    String t = target.replace("PORT", Integer.toString(echo.actualPort()));
    try (Socket s = new Socket("127.0.0.1", proxy.server.port())) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write(("CONNECT " + t + " HTTP/1.1\r\nHost: " + t + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
      assertThat(readHead(s.getInputStream())).startsWith("HTTP/1.1 403").containsIgnoringCase("cache-status: zcproxy; fwd=bypass");
    }
  }

  @ParameterizedTest(name = "splice={0}")
  @ValueSource(booleans = {true})
  void tunnelsAreCountedAsPipe(boolean splice) throws Exception {
    proxy = ProxyFixture.start(origin.url(), cacheDir, "transfer.splice: " + splice);
    WebSocket ws = clientVertx.createWebSocketClient()
        .connect(new WebSocketConnectOptions().setHost("127.0.0.1").setPort(proxy.server.port()).setURI("/ws"))
        .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    ws.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (proxy.server.metrics().responses(CacheOutcome.PIPE) == 0 && System.nanoTime() < deadline) {
      Thread.onSpinWait();
    }
    assertThat(proxy.server.metrics().responses(CacheOutcome.PIPE)).isEqualTo(1);
  }
}
