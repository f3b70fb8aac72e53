package dev.zcproxy.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.PoolOptions;
import java.net.http.HttpResponse;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Concurrent misses for one URI share one origin fetch, and every reader streams from the cache file
 * while it fills; run on both transfer paths (sendfile ranges and copies).
 */
class CoalescingIT extends OriginAndProxy {
  static final int MIB = 1 << 20;

  Vertx clientVertx;
  HttpClient client;

  static Stream<Arguments> transfers() {
    return Stream.of(Arguments.of(true), Arguments.of(false));
  }

  @BeforeEach
  void start() throws Exception {
    clientVertx = Vertx.vertx();
    client = clientVertx.httpClientBuilder().with(new HttpClientOptions().setKeepAlive(false))
        .with(new PoolOptions().setHttp1MaxSize(250)).build();
  }

  @AfterEach
  void stop() throws Exception {
    clientVertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /**
   * An origin that sends the head and the first 64 KiB of {@code body} at once, then the rest in
   * 256 KiB pieces once {@code go} completes ({@code abort}: closes the connection instead).
   */
  void slowOrigin(String path, byte[] body, CompletableFuture<Void> go, boolean abort, AtomicLong finishedAt) {
    origin.route(path, req -> {
      HttpServerResponse resp = req.response().putHeader("Cache-Control", "max-age=600")
          .putHeader("Content-Length", Integer.toString(body.length));
      int first = Math.min(64 * 1024, body.length);
      resp.write(Buffer.buffer(java.util.Arrays.copyOfRange(body, 0, first)));
      go.whenComplete((v, t) -> origin.vertx().runOnContext(x -> {
        if (abort) {
          req.connection().close();
          return;
        }
        sendRest(resp, body, first, finishedAt);
      }));
    });
  }

  private void sendRest(HttpServerResponse resp, byte[] body, int from, AtomicLong finishedAt) {
    if (from >= body.length) {
      finishedAt.set(System.nanoTime());
      resp.end();
      return;
    }
    int to = Math.min(from + 256 * 1024, body.length);
    resp.write(Buffer.buffer(java.util.Arrays.copyOfRange(body, from, to)));
    origin.vertx().setTimer(5, id -> sendRest(resp, body, to, finishedAt));
  }

  /** A client request that records when its first body byte arrived and the SHA-256 of what it read. */
  record Read(long firstByteNanos, String sha256, long bytes, Throwable failure) {}

  Future<Read> read(String path, CountDownLatch firstBytes) {
    Promise<Read> done = Promise.promise();
    client.request(HttpMethod.GET, proxy.server.port(), "127.0.0.1", path).compose(r -> r.send()).onComplete(ar -> {
      if (ar.failed()) {
        done.complete(new Read(0, null, 0, ar.cause()));
        return;
      }
      var resp = ar.result();
      MessageDigest md = sha();
      long[] first = {0};
      long[] n = {0};
      resp.handler(b -> {
        if (first[0] == 0) {
          first[0] = System.nanoTime();
          firstBytes.countDown();
        }
        n[0] += b.length();
        md.update(b.getBytes());
      });
      resp.exceptionHandler(t -> done.tryComplete(new Read(first[0], null, n[0], t)));
      resp.endHandler(v -> done.tryComplete(new Read(first[0], HexFormat.of().formatHex(md.digest()), n[0], null)));
    });
    return done.future();
  }

  static MessageDigest sha() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  static String sha256(byte[] b) {
    return HexFormat.of().formatHex(sha().digest(b));
  }

  @ParameterizedTest(name = "sendfile={0}")
  @MethodSource("transfers")
  void twoHundredClientsOnAColdKeyShareOneOriginFetchAndGetBytesBeforeTheFillEnds(boolean sendfile) throws Exception {
    byte[] body = CachingIT.body(16 * MIB, 16);
    CompletableFuture<Void> go = new CompletableFuture<>();
    AtomicLong originFinished = new AtomicLong();
    slowOrigin("/cold", body, go, false, originFinished);
    // The origin is silent until all 200 clients have a first byte, which takes longer than the
    // fixture's 5 s origin idle timeout on a loaded machine: that would fail the fill, not the proxy.
    proxy = ProxyFixture.start(origin.url(), cacheDir, "transfer.sendfile: " + sendfile, "origin.idle-timeout: 60s");

    int clients = 200;
    CountDownLatch firstBytes = new CountDownLatch(clients);
    List<Future<Read>> reads = new ArrayList<>();
    for (int i = 0; i < clients; i++) {
      reads.add(read("/cold", firstBytes));
    }
    // The origin holds back all but its first 64 KiB until every client has its first byte: only a
    // proxy that streams the fill to every reader gets here.
    assertThat(firstBytes.await(30, TimeUnit.SECONDS)).as("every client got a first byte while the fill was at 64 KiB").isTrue();
    go.complete(null);
    String expected = sha256(body);
    for (Future<Read> f : reads) {
      Read r = f.toCompletionStage().toCompletableFuture().get(120, TimeUnit.SECONDS);
      assertThat(r.failure()).isNull();
      assertThat(r.bytes()).isEqualTo(body.length);
      assertThat(r.sha256()).isEqualTo(expected);
      assertThat(r.firstByteNanos()).isLessThan(originFinished.get());
    }
    assertThat(origin.requests("/cold")).isEqualTo(1);
    // a response is counted once its last byte was handed to the socket, which the client may see first
    proxy.server.metrics().whenResponses(dev.zcproxy.cache.CacheOutcome.MISS, clients).get(30, TimeUnit.SECONDS);
    assertThat(proxy.server.metrics().bytes(sendfile ? dev.zcproxy.proxy.transfer.TransferMode.SENDFILE
        : dev.zcproxy.proxy.transfer.TransferMode.COPY)).isGreaterThanOrEqualTo((long) clients * body.length);
    proxy.server.metrics().whenStored(1).get(10, TimeUnit.SECONDS);
    assertThat(proxy.get("/cold").headers().firstValue("x-cache")).hasValue("HIT");
    assertThat(origin.requests("/cold")).isEqualTo(1);
  }

  @ParameterizedTest(name = "sendfile={0}")
  @MethodSource("transfers")
  void aSmallBodyHeldWholeIsStreamedToJoinedClientsBeforeItIsWrittenAndThenStored(boolean sendfile) throws Exception {
    // 40 KiB: a fill the proxy holds whole and writes in one task at its end. Its readers are sent
    // from memory meanwhile: every client gets the first 10 KiB while the origin still withholds the rest.
    byte[] body = CachingIT.body(40 * 1024, 40);
    CompletableFuture<Void> go = new CompletableFuture<>();
    origin.route("/small", req -> {
      HttpServerResponse resp = req.response().putHeader("Cache-Control", "max-age=600")
          .putHeader("Content-Length", Integer.toString(body.length));
      resp.write(Buffer.buffer(java.util.Arrays.copyOfRange(body, 0, 10 * 1024)));
      go.whenComplete((v, t) -> origin.vertx().runOnContext(x ->
          resp.end(Buffer.buffer(java.util.Arrays.copyOfRange(body, 10 * 1024, body.length)))));
    });
    proxy = ProxyFixture.start(origin.url(), cacheDir, "transfer.sendfile: " + sendfile, "origin.idle-timeout: 60s");

    int clients = 20;
    CountDownLatch firstBytes = new CountDownLatch(clients);
    List<Future<Read>> reads = new ArrayList<>();
    for (int i = 0; i < clients; i++) {
      reads.add(read("/small", firstBytes));
    }
    assertThat(firstBytes.await(30, TimeUnit.SECONDS)).as("every client got a first byte while the fill was at 10 KiB").isTrue();
    assertThat(proxy.server.store().entryCount()).as("nothing stored before the body is whole").isZero();
    go.complete(null);
    String expected = sha256(body);
    for (Future<Read> f : reads) {
      Read r = f.toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
      assertThat(r.failure()).isNull();
      assertThat(r.bytes()).isEqualTo(body.length);
      assertThat(r.sha256()).isEqualTo(expected);
    }
    assertThat(origin.requests("/small")).isEqualTo(1);
    proxy.server.metrics().whenStored(1).get(10, TimeUnit.SECONDS);
    assertThat(proxy.server.store().entryCount()).isEqualTo(1);
    HttpResponse<byte[]> hit = proxy.get("/small");
    assertThat(hit.headers().firstValue("x-cache")).hasValue("HIT");
    assertThat(sha256(hit.body())).isEqualTo(expected);
    assertThat(origin.requests("/small")).isEqualTo(1);
  }

  @ParameterizedTest(name = "sendfile={0}")
  @MethodSource("transfers")
  void whenTheFirstClientLeavesTheFillCompletesAndIsThenAHit(boolean sendfile) throws Exception {
    byte[] body = CachingIT.body(4 * MIB, 4);
    CompletableFuture<Void> go = new CompletableFuture<>();
    slowOrigin("/leave", body, go, false, new AtomicLong());
    proxy = ProxyFixture.start(origin.url(), cacheDir, "transfer.sendfile: " + sendfile);
    // A raw client that reads the head and some body, then hangs up.
    try (var socket = new java.net.Socket("127.0.0.1", proxy.server.port())) {
      socket.getOutputStream().write(("GET /leave HTTP/1.1\r\nHost: 127.0.0.1:" + proxy.server.port() + "\r\n\r\n").getBytes());
      byte[] some = new byte[1024];
      int n = socket.getInputStream().read(some);
      assertThat(n).isPositive();
    }
    go.complete(null);
    proxy.server.metrics().whenStored(1).get(30, TimeUnit.SECONDS);
    HttpResponse<byte[]> hit = proxy.get("/leave");
    assertThat(hit.headers().firstValue("x-cache")).hasValue("HIT");
    assertThat(sha256(hit.body())).isEqualTo(sha256(body));
    assertThat(origin.requests("/leave")).isEqualTo(1);
  }

  @ParameterizedTest(name = "sendfile={0}")
  @MethodSource("transfers")
  void whenTheOriginDiesMidFillEveryReaderIsCutOffAndNothingIsStored(boolean sendfile) throws Exception {
    byte[] body = CachingIT.body(4 * MIB, 5);
    CompletableFuture<Void> go = new CompletableFuture<>();
    slowOrigin("/dies", body, go, true, new AtomicLong());
    proxy = ProxyFixture.start(origin.url(), cacheDir, "transfer.sendfile: " + sendfile);
    int clients = 5;
    CountDownLatch firstBytes = new CountDownLatch(clients);
    List<Future<Read>> reads = new ArrayList<>();
    for (int i = 0; i < clients; i++) {
      reads.add(read("/dies", firstBytes));
    }
    assertThat(firstBytes.await(30, TimeUnit.SECONDS)).isTrue();
    go.complete(null); // the origin closes its connection now
    for (Future<Read> f : reads) {
      Read r = f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      assertThat(r.failure()).as("a cut-off body must not end normally").isNotNull();
      assertThat(r.bytes()).isLessThan(body.length);
    }
    assertThat(origin.requests("/dies")).isEqualTo(1);
    assertThat(proxy.server.store().entryCount()).isZero();
    // The next request fetches again.
    origin.serve("/dies", body, "Cache-Control", "max-age=600");
    HttpResponse<byte[]> again = proxy.get("/dies");
    assertThat(sha256(again.body())).isEqualTo(sha256(body));
    assertThat(origin.requests("/dies")).isEqualTo(2);
  }

  @ParameterizedTest(name = "sendfile={0}")
  @MethodSource("transfers")
  void aNotStorableResponseReleasesTheWaitersAndIsRememberedAsHitForPass(boolean sendfile) throws Exception {
    CompletableFuture<Void> go = new CompletableFuture<>();
    origin.route("/nostore", req -> go.whenComplete((v, t) -> origin.vertx().runOnContext(x ->
        req.response().putHeader("Cache-Control", "no-store").end("private stuff"))));
    proxy = ProxyFixture.start(origin.url(), cacheDir, "transfer.sendfile: " + sendfile, "cache.hit-for-pass: 2m");
    int clients = 10;
    CountDownLatch unused = new CountDownLatch(clients);
    List<Future<Read>> reads = new ArrayList<>();
    for (int i = 0; i < clients; i++) {
      reads.add(read("/nostore", unused));
    }
    proxy.server.metrics().whenCollapsed(clients - 1).get(30, TimeUnit.SECONDS);
    go.complete(null);
    for (Future<Read> f : reads) {
      Read r = f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      assertThat(r.failure()).isNull();
      assertThat(r.sha256()).isEqualTo(sha256("private stuff".getBytes()));
    }
    // The leader's fetch plus one for each released waiter: nobody got another client's response.
    assertThat(origin.requests("/nostore")).isEqualTo(clients);
    // Remembered: the next request goes straight to the origin, without queueing.
    HttpResponse<byte[]> hfp = proxy.get("/nostore");
    assertThat(hfp.headers().firstValue("cache-status")).hasValueSatisfying(v -> assertThat(v).contains("detail=hit-for-pass"));
    // ... and forgotten after cache.hit-for-pass.
    proxy.advance(Duration.ofMinutes(3));
    HttpResponse<byte[]> later = proxy.get("/nostore");
    assertThat(later.headers().firstValue("cache-status")).hasValueSatisfying(v -> assertThat(v).contains("detail=no-store"));
  }

  @ParameterizedTest(name = "origin answers {0}")
  @org.junit.jupiter.params.provider.ValueSource(ints = {304, 200})
  void revalidationsOfOneStaleEntryAreCoalescedToo(int answer) throws Exception {
    CompletableFuture<Void> go = new CompletableFuture<>();
    java.util.concurrent.atomic.AtomicInteger conditionals = new java.util.concurrent.atomic.AtomicInteger();
    origin.route("/reval", req -> {
      if (req.getHeader("If-None-Match") == null) {
        req.response().putHeader("Cache-Control", "max-age=10").putHeader("ETag", "\"v1\"").end("version one");
        return;
      }
      conditionals.incrementAndGet();
      go.whenComplete((v, t) -> origin.vertx().runOnContext(x -> {
        if (answer == 304) {
          req.response().setStatusCode(304).putHeader("Cache-Control", "max-age=10").putHeader("ETag", "\"v1\"").end();
        } else {
          req.response().putHeader("Cache-Control", "max-age=10").putHeader("ETag", "\"v2\"").end("version two");
        }
      }));
    });
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    proxy.get("/reval");
    proxy.server.metrics().whenStored(1).get(10, TimeUnit.SECONDS);
    proxy.advance(Duration.ofSeconds(60));
    int clients = 20;
    CountDownLatch unused = new CountDownLatch(clients);
    List<Future<Read>> reads = new ArrayList<>();
    for (int i = 0; i < clients; i++) {
      reads.add(read("/reval", unused));
    }
    proxy.server.metrics().whenCollapsed(clients - 1).get(30, TimeUnit.SECONDS);
    go.complete(null);
    String expected = sha256((answer == 304 ? "version one" : "version two").getBytes());
    for (Future<Read> f : reads) {
      Read r = f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      assertThat(r.failure()).isNull();
      assertThat(r.sha256()).isEqualTo(expected);
    }
    assertThat(conditionals.get()).as("one conditional request for %d clients", clients).isEqualTo(1);
    assertThat(origin.requests("/reval")).isEqualTo(2);
  }
}
