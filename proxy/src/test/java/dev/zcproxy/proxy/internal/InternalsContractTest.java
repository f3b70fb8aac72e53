package dev.zcproxy.proxy.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.epoll.AbstractEpollStreamChannel;
import io.netty.handler.timeout.IdleStateHandler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.impl.ConnectionBase;
import io.vertx.core.transport.Transport;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The contract between {@code proxy.internal} and the Vert.x, Netty and JDK versions it is built against:
 * every hook takes its internal path here, not its fallback. A dependency or JDK upgrade that moves a
 * pipeline handler, renames a field or drops a method fails this test by name, instead of silently
 * turning splice and the strict checks into their fallbacks (which {@link ConnectionHooksTest} covers).
 */
class InternalsContractTest {
  private Vertx vertx;

  @AfterEach
  void stop() throws Exception {
    if (vertx != null) {
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void fileDescriptorsOfOpenFilesAreReachable(@TempDir Path dir) throws Exception {
    assertThat(BodySplice.whyNoFileDescriptors()).as("reflective fd access (fills splice into files)").isNull();
    try (FileChannel file = FileChannel.open(dir.resolve("f"), StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
      assertThat(BodySplice.nettyFd(file).intValue()).isPositive();
    }
  }

  @Test
  void anOpenFileChannelHandsOverItsDescriptor(@TempDir Path dir) throws Exception {
    try (FileChannel file = FileChannel.open(dir.resolve("g"), StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
      assertThat(BodySplice.whyNotInto(file)).as("the fill's last check before splicing into its file").isNull();
    }
  }

  @Test
  void theWriteCounterSitsInFrontOfVertxAndTellsFileRegionsFromBuffers(@TempDir Path dir) throws Exception {
    vertx = Vertx.builder().withTransport(Transport.EPOLL).build();
    Path file = dir.resolve("body");
    Files.write(file, new byte[5000]);
    CompletableFuture<long[]> counted = new CompletableFuture<>();
    HttpServer http = vertx.createHttpServer()
        .requestHandler(req -> {
          WrittenBytes w = WrittenBytes.of(req.connection());
          if (w == null) {
            counted.completeExceptionally(new AssertionError("write counter not installed"));
            req.response().end();
            return;
          }
          FileChannel ch;
          try {
            ch = FileChannel.open(file, StandardOpenOption.READ);
          } catch (java.io.IOException e) {
            counted.completeExceptionally(e);
            return;
          }
          req.response().putHeader("content-length", "5300").setChunked(false);
          req.response().write(io.vertx.core.buffer.Buffer.buffer(new byte[300]))
              .compose(v -> ResponseFiles.sendRange(req, ch, 0, 5000))
              .compose(v -> req.response().end())
              .onComplete(ar -> {
                try {
                  ch.close();
                } catch (java.io.IOException ignored) {
                  // test file
                }
                counted.complete(new long[] {w.fileRegionBytes(), w.bufferBytes(), WrittenBytes.of(req.connection()) == w ? 1 : 0});
              });
        });
    int port = http.listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS).actualPort();
    HttpClientAgent client = vertx.createHttpClient();
    int length = client.request(HttpMethod.GET, port, "127.0.0.1", "/")
        .compose(r -> r.send())
        .compose(r -> r.body())
        .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS).length();

    long[] c = counted.get(30, TimeUnit.SECONDS);
    assertThat(length).isEqualTo(5300);
    assertThat(c[0]).as("sendfile went as a file region").isEqualTo(5000);
    assertThat(c[1]).as("the written buffer, not the head").isEqualTo(300);
    assertThat(c[2]).as("installed once per connection").isEqualTo(1);
  }

  @Test
  void nettyStillSplicesBetweenSocketsAndIntoFiles() throws Exception {
    assertThat(AbstractEpollStreamChannel.class.getMethod("spliceTo", AbstractEpollStreamChannel.class, int.class))
        .isNotNull();
    assertThat(AbstractEpollStreamChannel.class.getMethod("spliceTo", io.netty.channel.unix.FileDescriptor.class,
        int.class, int.class)).isNotNull();
  }

  @Test
  void everyConnectionHookTakesItsInternalPath() throws Exception {
    vertx = Vertx.builder().withTransport(Transport.EPOLL).build();
    assertThat(vertx.isNativeTransportEnabled()).as("native epoll (splice needs it)").isTrue();
    HttpServerOptions serverOptions = new HttpServerOptions().setIdleTimeout(30);
    CompletableFuture<Map<String, Object>> server = new CompletableFuture<>();
    HttpServer http = vertx.createHttpServer(serverOptions)
        .connectionHandler(conn -> {
          Channel ch = ((ConnectionBase) conn).channel();
          server.complete(Map.of(
              "idle handler before the hooks", hasIdleHandler(ch),
              "strict request decoder", StrictRequestDecoder.install(conn, serverOptions),
              "half-close", HalfClose.install(conn),
              "request-head timeout", ClientChannels.installHeadTimeout(conn, 10_000),
              "h2c prior knowledge", PriorKnowledge.install(conn),
              "channel", ch));
        })
        .requestHandler(req -> req.response().end("ok"));
    int port = http.listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS).actualPort();

    HttpClientOptions clientOptions = new HttpClientOptions().setIdleTimeout(30);
    CompletableFuture<Boolean> originCodec = new CompletableFuture<>();
    HttpClientAgent client = vertx.httpClientBuilder().with(clientOptions)
        .withConnectHandler(conn -> originCodec.complete(OriginCodec.install(conn, clientOptions)))
        .build();
    String body = client.request(HttpMethod.GET, port, "127.0.0.1", "/")
        .compose(r -> r.send())
        .compose(r -> r.body())
        .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS).toString();

    assertThat(body).isEqualTo("ok");
    assertThat(originCodec.get(30, TimeUnit.SECONDS)).as("origin codec (1xx, dirty connections)").isTrue();
    Map<String, Object> hooks = server.get(30, TimeUnit.SECONDS);
    assertThat(hooks.get("idle handler before the hooks"))
        .as("an IdleStateHandler in the server pipeline, which BodySplice takes out while splicing").isEqualTo(true);
    assertThat(hooks.get("strict request decoder")).as("strict request decoder").isEqualTo(true);
    assertThat(hooks.get("half-close")).as("half-close").isEqualTo(true);
    assertThat(hooks.get("request-head timeout")).as("request-head timeout").isEqualTo(true);
    assertThat(hooks.get("h2c prior knowledge")).as("Vert.x's HTTP/2 handler reachable for h2c").isEqualTo(true);
    assertThat(hooks.get("channel")).isInstanceOf(AbstractEpollStreamChannel.class);
  }

  @Test
  void preEncodedHitsAreWrittenPastTheEncoderAndTheConnectionGoesOn() throws Exception {
    assertThat(HitWriter.whyUnavailable()).as("Vert.x members the hit writer uses").isNull();
    vertx = Vertx.builder().withTransport(Transport.EPOLL).build();
    dev.zcproxy.cache.EncodedHead head = dev.zcproxy.cache.EncodedHead.builder(200, "OK")
        .field("X-Pre", "encoded").field("Content-Length", "5").build();
    RamBody body = RamBody.copyOf("hello".getBytes(java.nio.charset.StandardCharsets.US_ASCII), true);
    java.util.List<String> paths = new java.util.concurrent.CopyOnWriteArrayList<>();
    HttpServer http = vertx.createHttpServer(new HttpServerOptions().setIdleTimeout(30))
        .requestHandler(req -> {
          io.vertx.core.Future<Void> sent = HitWriter.write(req, 200, head, 3, body, 0, body.length());
          paths.add(sent == null ? "fallback" : "direct");
          if (sent == null) {
            req.response().putHeader("X-Pre", "fallback").end("hello");
          }
        });
    int port = http.listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS).actualPort();
    HttpClientAgent client = vertx.httpClientBuilder()
        .with(new HttpClientOptions().setKeepAlive(true).setPipelining(true).setIdleTimeout(30))
        .with(new io.vertx.core.http.PoolOptions().setHttp1MaxSize(1)).build();
    java.util.List<io.vertx.core.Future<String>> answers = new java.util.ArrayList<>();
    for (int i = 0; i < 3; i++) {
      answers.add(client.request(HttpMethod.GET, port, "127.0.0.1", "/" + i).compose(r -> r.send())
          .compose(r -> r.body().map(b -> r.getHeader("X-Pre") + " " + r.getHeader("Age") + " " + b + " "
              + r.request().connection().hashCode())));
    }
    java.util.List<String> got = new java.util.ArrayList<>();
    for (io.vertx.core.Future<String> f : answers) {
      got.add(f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS));
    }
    assertThat(paths).containsExactly("direct", "direct", "direct");
    String conn = got.get(0).substring(got.get(0).lastIndexOf(' '));
    assertThat(got).containsExactly("encoded 3 hello" + conn, "encoded 3 hello" + conn, "encoded 3 hello" + conn);

    // an HTTP/1.0 client: the caller's normal path. A plain socket, not Vert.x's client in HTTP/1.0 mode: that one
    // once got no answer in 30 s in CI (after the pipelined hits above were answered), and what is tested here is
    // the server side's fallback, not Vert.x's HTTP/1.0 client.
    String fallback;
    try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
      s.setSoTimeout(30_000);
      s.getOutputStream().write("GET /old HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      fallback = new String(s.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII); // closed after it
    }
    assertThat(fallback).startsWith("HTTP/1.0 200 OK\r\n").containsIgnoringCase("\r\nX-Pre: fallback\r\n").endsWith("\r\n\r\nhello");
    assertThat(paths).endsWith("fallback");
  }

  @Test
  void hitsAreAnsweredInFrontOfVertxInOrderAndEverythingElseReachesVertx() throws Exception {
    assertThat(FrontHits.whyUnavailable()).as("Vert.x connection state the front hit path reads").isNull();
    vertx = Vertx.builder().withTransport(Transport.EPOLL).build();
    dev.zcproxy.cache.EncodedHead head = dev.zcproxy.cache.EncodedHead.builder(200, "OK")
        .field("X-Path", "front").field("Content-Length", "5").build();
    RamBody body = RamBody.copyOf("front".getBytes(java.nio.charset.StandardCharsets.US_ASCII), true);
    java.util.List<String> installed = new java.util.concurrent.CopyOnWriteArrayList<>();
    EncodedResponses responses = new EncodedResponses(); // the proxy's: the last response per loop
    java.util.List<String> sent = new java.util.concurrent.CopyOnWriteArrayList<>();
    java.util.concurrent.CountDownLatch written = new java.util.concurrent.CountDownLatch(2);
    FrontHits.Answerer answerer = req -> {
      String uri = req.uri(); // the view is valid during the call only
      return uri.startsWith("/front") && body.tryRetain() ? new FrontHits.Hit(head, 2, body, 0, body.length(), ok -> {
        sent.add(uri + " " + ok);
        written.countDown();
      }) : null;
    };
    HttpServer http = vertx.createHttpServer(new HttpServerOptions().setIdleTimeout(30))
        .connectionHandler(conn -> {
          installed.add(String.valueOf(FrontHits.install(conn, () -> answerer, responses)));
          java.util.List<String> names = ((ConnectionBase) conn).channel().pipeline().names();
          // the idle timer sees every request read before the front path may take it
          installed.add(names.indexOf("idle") >= 0 && names.indexOf("idle") < names.indexOf(FrontHits.NAME) ? "idle first" : names.toString());
        })
        .requestHandler(req -> {
          if (req.path().equals("/slow")) {
            vertx.setTimer(50, t -> req.response().end("vertx")); // still answering while the next requests arrive
          } else {
            req.response().end("vertx");
          }
        });
    int port = http.listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS).actualPort();
    String got;
    try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      String req = "GET %s HTTP/1.1\r\nHost: x\r\n\r\n";
      s.getOutputStream().write((req.formatted("/front1") + req.formatted("/slow") + req.formatted("/front2")
          + req.formatted("/v") + req.formatted("/front3")).getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      StringBuilder bodies = new StringBuilder();
      java.io.InputStream in = s.getInputStream();
      for (int i = 0; i < 5; i++) {
        String h = headOf(in);
        int at = h.toLowerCase(java.util.Locale.ROOT).indexOf("content-length: ");
        int n = Integer.parseInt(h.substring(at + 16, h.indexOf('\r', at)));
        bodies.append(new String(in.readNBytes(n), java.nio.charset.StandardCharsets.US_ASCII)).append(' ');
      }
      got = bodies.toString().trim();
      // alone again, once Vert.x is idle: in front
      s.getOutputStream().write(req.formatted("/front4").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      String h = headOf(in);
      assertThat(h).contains("X-Path: front").endsWith("Age: 2\r\n\r\n");
      assertThat(new String(in.readNBytes(5), java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("front");
    }
    assertThat(installed).containsExactly("true", "idle first");
    // front2 and front3 came while Vert.x was answering /slow (or had requests queued): Vert.x answered them
    assertThat(got).isEqualTo("front vertx vertx vertx vertx");
    // told once the write completed, which the client may see first
    assertThat(written.await(30, TimeUnit.SECONDS)).isTrue();
    assertThat(sent).containsExactly("/front1 true", "/front4 true");
    assertThat(responses.kept()).as("the connection's loop keeps its last response").isEqualTo(1);
    vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    responses.close(); // as the proxy does once Vert.x closed
    assertThat(responses.kept()).isZero();
  }

  @Test
  void theFrontHitPathStaysOutOfConnectionsItCannotServe() throws Exception {
    vertx = Vertx.builder().withTransport(Transport.EPOLL).build();
    java.util.List<String> installed = new java.util.concurrent.CopyOnWriteArrayList<>();
    HttpServer http = vertx.createHttpServer(new HttpServerOptions().setCompressionSupported(true))
        .connectionHandler(conn -> installed.add(String.valueOf(FrontHits.install(conn, () -> req -> {
          throw new AssertionError("never asked");
        }, new EncodedResponses()))))
        .requestHandler(req -> req.response().end("vertx"));
    int port = http.listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS).actualPort();
    String body = vertx.createHttpClient().request(HttpMethod.GET, port, "127.0.0.1", "/front").compose(r -> r.send())
        .compose(r -> r.body()).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS).toString();
    assertThat(body).isEqualTo("vertx");
    assertThat(installed).as("a compressing server: the encoder is not the last word on the bytes").containsExactly("false");
  }

  private static String headOf(java.io.InputStream in) throws java.io.IOException {
    StringBuilder h = new StringBuilder();
    while (!h.toString().endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) {
        throw new java.io.EOFException("closed after " + h);
      }
      h.append((char) b);
    }
    return h.toString();
  }

  private static boolean hasIdleHandler(Channel ch) {
    for (Map.Entry<String, ChannelHandler> e : ch.pipeline()) {
      if (e.getValue() instanceof IdleStateHandler) {
        return true;
      }
    }
    return false;
  }
}
