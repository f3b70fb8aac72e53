package dev.zcproxy.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.CacheOutcome;
import dev.zcproxy.proxy.transfer.TransferPlatform;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetSocket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongConsumer;
import org.junit.jupiter.api.Test;

/**
 * The transfer metrics report what happened, not what was planned: a fill planned as splice whose file
 * descriptor cannot be reached copies (the client still gets the whole body, the entry is stored), and a
 * sendfile whose bytes went as buffers is counted as a copy; both show as fallbacks in {@code /stats}.
 * The failures are made by wrapping the real {@link TransferPlatform}, as an upgraded JDK or Vert.x would.
 */
class TransferFallbackIT extends OriginAndProxy {
  private static final int FILL_SIZE = 1 << 20; // above transfer.splice-min-size: the fill is planned as splice
  private static final int READ_SIZE = 100 * 1024; // above cache.ram-max-object-size: hits come from the file

  @Test
  void aFillThatCannotReachItsFileDescriptorCopiesAndSaysSo() throws Exception {
    byte[] body = CachingIT.body(FILL_SIZE, 7);
    origin.serve("/f", body, "Cache-Control", "max-age=600");
    AtomicInteger asked = new AtomicInteger();
    proxy = ProxyFixture.start(ProxyFixture.config(origin.url(), cacheDir, "transfer.splice-min-size: 64KiB"),
        new DelegatingPlatform() {
          @Override
          public String whyNotSpliceInto(FileChannel file) {
            asked.incrementAndGet();
            return "forced by the test: file descriptor not reachable";
          }

          @Override
          public Future<Void> spliceToFile(HttpClientResponse cres, FileChannel file, long offset, long length,
              long idleMillis, LongConsumer chunkDone) {
            // What BodySplice.toFile does when the descriptor lookup throws: close the origin, fail.
            cres.request().connection().close();
            return Future.failedFuture("file descriptor not reachable");
          }
        });

    HttpResponse<byte[]> miss = proxy.get("/f");
    proxy.server.metrics().whenStored(1).get(20, TimeUnit.SECONDS);
    HttpResponse<byte[]> hit = proxy.get("/f");

    assertThat(miss.statusCode()).isEqualTo(200);
    assertThat(miss.body()).isEqualTo(body);
    assertThat(hit.headers().firstValue("x-cache")).hasValue("HIT");
    assertThat(hit.body()).isEqualTo(body);
    assertThat(origin.requests("/f")).as("stored by the copy fill").isEqualTo(1);
    assertThat(asked).as("the fill was planned as splice").hasValue(1);
    JsonObject fill = stats().getJsonObject("fill");
    assertThat(fill.getLong("splice_fallbacks")).isEqualTo(1);
    assertThat(fill.getLong("splice_bytes")).isZero();
    assertThat(fill.getLong("copy_bytes")).isEqualTo(FILL_SIZE);
  }

  @Test
  void aSendfileWhoseBytesWentAsBuffersIsCountedAsACopy() throws Exception {
    byte[] body = CachingIT.body(READ_SIZE, 3);
    origin.serve("/r", body, "Cache-Control", "max-age=600");
    proxy = ProxyFixture.start(ProxyFixture.config(origin.url(), cacheDir), new DelegatingPlatform() {
      @Override
      public Future<Void> sendRange(HttpServerRequest req, FileChannel file, long offset, long length) {
        // A Vert.x that cannot send file regions on this connection copies instead, silently.
        ByteBuffer bb = ByteBuffer.allocate((int) length);
        try {
          while (bb.hasRemaining() && file.read(bb, offset + bb.position()) >= 0) {
            // read the range (small, test only)
          }
        } catch (java.io.IOException e) {
          return Future.failedFuture(e);
        }
        return req.response().write(Buffer.buffer(bb.array()));
      }
    });

    HttpResponse<byte[]> miss = proxy.get("/r");
    proxy.server.metrics().whenResponses(CacheOutcome.MISS, 1).get(20, TimeUnit.SECONDS);
    proxy.server.metrics().whenStored(1).get(20, TimeUnit.SECONDS);

    assertThat(miss.body()).isEqualTo(body);
    JsonObject s = stats();
    JsonObject transfer = s.getJsonObject("transfer");
    assertThat(transfer.getJsonObject("sendfile").getLong("fallbacks")).as("planned sendfile, went as buffers").isEqualTo(1);
    assertThat(transfer.getJsonObject("sendfile").getLong("responses")).isZero();
    assertThat(transfer.getJsonObject("copy").getLong("responses")).isEqualTo(1);
    assertThat(transfer.getJsonObject("copy").getLong("bytes")).isEqualTo(READ_SIZE);
    assertThat(s.getJsonObject("written").getLong("buffer_bytes")).isEqualTo(READ_SIZE);
    assertThat(s.getJsonObject("written").getLong("file_region_bytes")).isZero();

    // A hit takes Vert.x's own sendfile: it went as a file region, no fallback.
    HttpResponse<byte[]> hit = proxy.get("/r");
    proxy.server.metrics().whenResponses(CacheOutcome.HIT, 1).get(20, TimeUnit.SECONDS);

    assertThat(hit.headers().firstValue("x-cache")).hasValue("HIT");
    assertThat(hit.body()).isEqualTo(body);
    s = stats();
    transfer = s.getJsonObject("transfer");
    assertThat(transfer.getJsonObject("sendfile").getLong("responses")).isEqualTo(1);
    assertThat(transfer.getJsonObject("sendfile").getLong("bytes")).isEqualTo(READ_SIZE);
    assertThat(transfer.getJsonObject("sendfile").getLong("fallbacks")).isEqualTo(1);
    // the hit's first bytes left with its head (read into one 65,484-byte buffer, HeadPrefix): counted as written,
    // buffer bytes beside the miss's copy, the rest as the file region
    long prefix = s.getJsonObject("written").getLong("buffer_bytes") - READ_SIZE;
    assertThat(prefix).isPositive().isLessThan(65_484);
    assertThat(s.getJsonObject("written").getLong("file_region_bytes")).isEqualTo(READ_SIZE - prefix);
    assertThat(origin.requests("/r")).isEqualTo(1);
  }

  /** The planner decides for tunnels too: a tunnel its platform says cannot be spliced is copied, and counted so. */
  @Test
  void aTunnelThePlatformCannotSpliceIsCopiedAndCountedAsACopy() throws Exception {
    origin.route("/ws", req -> req.toWebSocket().onSuccess(ws -> ws.textMessageHandler(ws::writeTextMessage)));
    AtomicInteger asked = new AtomicInteger();
    proxy = ProxyFixture.start(ProxyFixture.config(origin.url(), cacheDir, "transfer.splice: true"), new DelegatingPlatform() {
      @Override
      public String whyNotSpliceTunnel(NetSocket client, NetSocket origin) {
        asked.incrementAndGet();
        return "forced by the test: sockets not spliceable";
      }
    });
    io.vertx.core.Vertx clientVertx = io.vertx.core.Vertx.vertx();
    try {
      WebSocket ws = clientVertx.createWebSocketClient()
          .connect(new WebSocketConnectOptions().setHost("127.0.0.1").setPort(proxy.server.port()).setURI("/ws"))
          .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      java.util.concurrent.CompletableFuture<String> echoed = new java.util.concurrent.CompletableFuture<>();
      ws.textMessageHandler(echoed::complete);
      ws.writeTextMessage("through a copied tunnel");
      assertThat(echoed.get(10, TimeUnit.SECONDS)).isEqualTo("through a copied tunnel");
      ws.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } finally {
      clientVertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
    proxy.server.metrics().whenResponses(CacheOutcome.PIPE, 1).get(20, TimeUnit.SECONDS);

    assertThat(asked).as("the planner asked the platform once").hasValue(1);
    JsonObject transfer = stats().getJsonObject("transfer");
    assertThat(transfer.getJsonObject("copy").getLong("responses")).isEqualTo(1);
    assertThat(transfer.getJsonObject("copy").getLong("bytes")).isPositive();
    assertThat(transfer.getJsonObject("splice").getLong("responses")).isZero();
  }

  private JsonObject stats() throws Exception {
    HttpResponse<String> r = proxy.client.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.server.adminPort() + "/stats")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
    return new JsonObject(r.body());
  }
}
