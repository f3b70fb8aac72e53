package dev.zcproxy.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.CacheOutcome;
import dev.zcproxy.proxy.transfer.TransferMode;
import io.vertx.core.buffer.Buffer;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** End-to-end caching behaviour against a real origin on loopback: hits are proved by counting origin requests. */
class CachingIT {
  @TempDir
  Path cacheDir;
  FixtureOrigin origin;
  ProxyFixture proxy;

  @BeforeEach
  void start() throws Exception {
    origin = FixtureOrigin.start();
  }

  @AfterEach
  void stop() throws Exception {
    if (proxy != null) {
      proxy.close();
    }
    origin.close();
  }

  static byte[] body(int size, long seed) {
    byte[] b = new byte[size];
    new Random(seed).nextBytes(b);
    return b;
  }

  static String sha256(byte[] b) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
  }

  static Stream<Arguments> transfers() {
    return Stream.of(Arguments.of(true), Arguments.of(false));
  }

  static Stream<Arguments> sizesAndTransfers() {
    return Stream.of(0, 1024, 1 << 20, 50 << 20).flatMap(size -> Stream.of(Arguments.of(size, true), Arguments.of(size, false)));
  }

  @ParameterizedTest(name = "{0} bytes, zero-copy={1}")
  @MethodSource("sizesAndTransfers")
  void missThenHitIsByteIdenticalAndReachesOriginOnce(int size, boolean sendfile) throws Exception {
    byte[] body = body(size, size);
    origin.serve("/obj", body, "Cache-Control", "max-age=600", "Content-Type", "application/octet-stream");
    // zero-copy off forces the copy path everywhere: no sendfile for hits, no splice for fills.
    proxy = ProxyFixture.start(origin.url(), cacheDir, "transfer.sendfile: " + sendfile, "transfer.splice: " + sendfile);

    HttpResponse<byte[]> miss = proxy.get("/obj");
    assertThat(miss.statusCode()).isEqualTo(200);
    assertThat(sha256(miss.body())).isEqualTo(sha256(body));
    assertThat(miss.headers().firstValue("x-cache")).hasValue("MISS");
    assertThat(miss.headers().firstValue("cache-status")).hasValueSatisfying(v -> assertThat(v).contains("fwd=uri-miss").contains("stored"));
    awaitStored(1);

    HttpResponse<byte[]> hit = proxy.get("/obj");
    assertThat(hit.statusCode()).isEqualTo(200);
    assertThat(sha256(hit.body())).isEqualTo(sha256(body));
    assertThat(hit.headers().firstValue("x-cache")).hasValue("HIT");
    assertThat(hit.headers().firstValue("cache-status")).hasValueSatisfying(v -> assertThat(v).startsWith("zcproxy; hit"));
    assertThat(hit.headers().firstValue("age")).isPresent();
    assertThat(hit.headers().firstValue("content-type")).hasValue("application/octet-stream");
    assertThat(origin.requests("/obj")).isEqualTo(1);
    // Both responses are counted (the miss too, though the client may close before the fill commits).
    proxy.server.metrics().whenResponses(CacheOutcome.MISS, 1).get(10, java.util.concurrent.TimeUnit.SECONDS);
    proxy.server.metrics().whenResponses(CacheOutcome.HIT, 1).get(10, java.util.concurrent.TimeUnit.SECONDS);
    if (size > 0) {
      TransferMode expected = sendfile ? TransferMode.SENDFILE : TransferMode.COPY;
      assertThat(proxy.server.metrics().responses(expected)).isGreaterThanOrEqualTo(1);
      assertThat(proxy.server.metrics().bytes(expected)).isGreaterThanOrEqualTo(size);
    }
    if (size >= (1 << 20)) {
      // The fill: origin socket -> cache file by splice, except what arrived with the head.
      if (sendfile) {
        assertThat(proxy.server.metrics().filledBytes(TransferMode.SPLICE)).isGreaterThan(size / 2);
      } else {
        assertThat(proxy.server.metrics().filledBytes(TransferMode.SPLICE)).isZero();
        assertThat(proxy.server.metrics().filledBytes(TransferMode.COPY)).isEqualTo(size);
      }
    }
  }

  /** Waits until {@code n} responses have been published by the store (commit is asynchronous). */
  void awaitStored(long n) throws Exception {
    proxy.server.metrics().whenStored(n).get(20, java.util.concurrent.TimeUnit.SECONDS);
  }

  @Test
  void headIsAnsweredFromAStoredGet() throws Exception {
    origin.serve("/h", body(5000, 1), "Cache-Control", "max-age=600");
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    proxy.get("/h");
    awaitStored(1);
    HttpResponse<byte[]> head = proxy.send("HEAD", "/h");
    assertThat(head.statusCode()).isEqualTo(200);
    assertThat(head.body()).isEmpty();
    assertThat(head.headers().firstValue("content-length")).hasValue("5000");
    assertThat(head.headers().firstValue("x-cache")).hasValue("HIT");
    assertThat(origin.requests("/h")).isEqualTo(1);
  }

  @Test
  void varyKeepsOneVariantPerRequestValue() throws Exception {
    origin.route("/v", req -> req.response().putHeader("Cache-Control", "max-age=600").putHeader("Vary", "Accept-Language")
        .end("hello in " + req.getHeader("Accept-Language")));
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    assertThat(new String(proxy.get("/v", "Accept-Language", "en").body())).isEqualTo("hello in en");
    awaitStored(1);
    assertThat(new String(proxy.get("/v", "Accept-Language", "fr").body())).isEqualTo("hello in fr");
    awaitStored(2);
    HttpResponse<byte[]> en = proxy.get("/v", "Accept-Language", "en");
    HttpResponse<byte[]> fr = proxy.get("/v", "Accept-Language", "fr");
    assertThat(new String(en.body())).isEqualTo("hello in en");
    assertThat(new String(fr.body())).isEqualTo("hello in fr");
    assertThat(en.headers().firstValue("x-cache")).hasValue("HIT");
    assertThat(fr.headers().firstValue("x-cache")).hasValue("HIT");
    assertThat(origin.requests("/v")).isEqualTo(2);
  }

  @Test
  void staleEntryIsRevalidatedAndA304RefreshesIt() throws Exception {
    origin.route("/r", req -> {
      if ("\"v1\"".equals(req.getHeader("If-None-Match"))) {
        req.response().setStatusCode(304).putHeader("ETag", "\"v1\"").putHeader("Cache-Control", "max-age=60")
            .putHeader("X-Revalidated", "yes").end();
      } else {
        req.response().putHeader("ETag", "\"v1\"").putHeader("Cache-Control", "max-age=60").end("version one");
      }
    });
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    proxy.get("/r");
    awaitStored(1);
    proxy.advance(Duration.ofSeconds(120));
    HttpResponse<byte[]> reval = proxy.get("/r");
    assertThat(new String(reval.body())).isEqualTo("version one");
    assertThat(reval.headers().firstValue("x-cache")).hasValue("REVALIDATED");
    assertThat(reval.headers().firstValue("cache-status")).hasValueSatisfying(v -> assertThat(v).contains("fwd=stale").contains("fwd-status=304"));
    assertThat(reval.headers().firstValue("x-revalidated")).hasValue("yes");
    assertThat(origin.lastRequestHeaders().get("if-none-match")).isEqualTo("\"v1\"");
    assertThat(origin.requests("/r")).isEqualTo(2);
    // Fresh again after the 304: a hit.
    HttpResponse<byte[]> hit = proxy.get("/r");
    assertThat(hit.headers().firstValue("x-cache")).hasValue("HIT");
    assertThat(origin.requests("/r")).isEqualTo(2);
  }

  @Test
  void clientConditionalRequestIsAnswered304FromTheCache() throws Exception {
    origin.serve("/c", "cached".getBytes(), "Cache-Control", "max-age=600", "ETag", "\"e1\"");
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    proxy.get("/c");
    awaitStored(1);
    HttpResponse<byte[]> notModified = proxy.get("/c", "If-None-Match", "\"e1\"");
    assertThat(notModified.statusCode()).isEqualTo(304);
    assertThat(notModified.body()).isEmpty();
    assertThat(notModified.headers().firstValue("etag")).hasValue("\"e1\"");
    assertThat(origin.requests("/c")).isEqualTo(1);
  }

  @Test
  void rangeIsServedFromTheStoredBody() throws Exception {
    byte[] body = body(100_000, 7);
    origin.serve("/range", body, "Cache-Control", "max-age=600");
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    proxy.get("/range");
    awaitStored(1);
    HttpResponse<byte[]> part = proxy.get("/range", "Range", "bytes=1000-1999");
    assertThat(part.statusCode()).isEqualTo(206);
    assertThat(part.headers().firstValue("content-range")).hasValue("bytes 1000-1999/100000");
    assertThat(part.body()).isEqualTo(java.util.Arrays.copyOfRange(body, 1000, 2000));
    HttpResponse<byte[]> bad = proxy.get("/range", "Range", "bytes=200000-");
    assertThat(bad.statusCode()).isEqualTo(416);
    assertThat(bad.headers().firstValue("content-range")).hasValue("bytes */100000");
    assertThat(origin.requests("/range")).isEqualTo(1);
  }

  @Test
  void postInvalidatesTheStoredTarget() throws Exception {
    int[] version = {1};
    origin.route("/doc", req -> {
      if (req.method().name().equals("POST")) {
        req.body().onSuccess(b -> {
          version[0]++;
          req.response().setStatusCode(204).end();
        });
      } else {
        req.response().putHeader("Cache-Control", "max-age=600").end("v" + version[0]);
      }
    });
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    assertThat(new String(proxy.get("/doc").body())).isEqualTo("v1");
    awaitStored(1);
    assertThat(new String(proxy.get("/doc").body())).isEqualTo("v1");
    HttpResponse<byte[]> post = proxy.send("POST", "/doc");
    assertThat(post.statusCode()).isEqualTo(204);
    assertThat(post.headers().firstValue("cache-status")).hasValueSatisfying(v -> assertThat(v).contains("fwd=method"));
    HttpResponse<byte[]> after = proxy.get("/doc");
    assertThat(new String(after.body())).isEqualTo("v2");
    assertThat(after.headers().firstValue("x-cache")).hasValue("MISS");
  }

  @Test
  void noStoreResponsesAreNeverServedFromTheCache() throws Exception {
    origin.serve("/ns", "fresh every time".getBytes(), "Cache-Control", "no-store");
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    HttpResponse<byte[]> first = proxy.get("/ns");
    HttpResponse<byte[]> second = proxy.get("/ns");
    assertThat(second.body()).isEqualTo("fresh every time".getBytes());
    assertThat(first.headers().firstValue("cache-status")).hasValueSatisfying(v -> assertThat(v).contains("detail=no-store").doesNotContain("stored"));
    assertThat(origin.requests("/ns")).isEqualTo(2);
    assertThat(proxy.server.store().entryCount()).isZero();
  }

  @Test
  void originThatDiesMidBodyClosesTheClientAndStoresNothing() throws Exception {
    origin.route("/trunc", req -> {
      var resp = req.response().putHeader("Cache-Control", "max-age=600").putHeader("Content-Length", "100000");
      resp.write(Buffer.buffer(body(40_000, 3))).onComplete(v -> req.connection().close());
    });
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> proxy.get("/trunc")).isInstanceOf(java.io.IOException.class);
    // Not stored: the next request goes to the origin again.
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> proxy.get("/trunc")).isInstanceOf(java.io.IOException.class);
    assertThat(origin.requests("/trunc")).isEqualTo(2);
    assertThat(proxy.server.store().entryCount()).isZero();
    try (Stream<Path> files = Files.walk(cacheDir)) {
      assertThat(files.filter(Files::isRegularFile).filter(p -> !p.toString().contains("tmp"))).isEmpty();
    }
  }

  @Test
  void restartKeepsTheCache() throws Exception {
    byte[] body = body(300_000, 11);
    origin.serve("/persist", body, "Cache-Control", "max-age=3600");
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    proxy.get("/persist");
    awaitStored(1);
    int port = proxy.server.port(); // the primary key holds the Host the client used: keep it
    proxy.close();
    proxy = ProxyFixture.start(origin.url(), cacheDir, "listen.address: 127.0.0.1:" + port);
    proxy.server.store().scanned().get();
    HttpResponse<byte[]> hit = proxy.get("/persist");
    assertThat(hit.headers().firstValue("x-cache")).hasValue("HIT");
    assertThat(sha256(hit.body())).isEqualTo(sha256(body));
    assertThat(origin.requests("/persist")).isEqualTo(1);
  }

  @Test
  void unreachableOriginIs502AndSaysWhy() throws Exception {
    int deadPort;
    try (var s = new java.net.ServerSocket(0)) {
      deadPort = s.getLocalPort();
    }
    proxy = ProxyFixture.start("http://127.0.0.1:" + deadPort, cacheDir);
    HttpResponse<byte[]> r = proxy.get("/x");
    assertThat(r.statusCode()).isEqualTo(502);
    assertThat(r.headers().firstValue("cache-status")).hasValueSatisfying(v -> assertThat(v).contains("detail=origin-unreachable"));
  }

  @Test
  void originThatNeverAnswersIs504() throws Exception {
    origin.route("/hang", req -> { /* never answers */ });
    proxy = ProxyFixture.start(origin.url(), cacheDir, "origin.first-byte-timeout: 300ms");
    HttpResponse<byte[]> r = proxy.get("/hang");
    assertThat(r.statusCode()).isEqualTo(504);
    assertThat(r.headers().firstValue("cache-status")).hasValueSatisfying(v -> assertThat(v).contains("detail=origin-timeout"));
  }

  @Test
  void hopByHopFieldsAreNotForwardedAndViaAndForwardedForAreAdded() throws Exception {
    origin.route("/hop", req -> req.response().putHeader("Connection", "X-Private").putHeader("X-Private", "secret")
        .putHeader("Keep-Alive", "timeout=5").putHeader("Cache-Control", "no-store").end("ok"));
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    HttpResponse<byte[]> r = proxy.get("/hop", "X-Client-Hop", "1", "X-Forwarded-For", "10.0.0.1");
    assertThat(r.headers().firstValue("x-private")).isEmpty();
    assertThat(r.headers().firstValue("keep-alive")).isEmpty();
    assertThat(r.headers().firstValue("via")).hasValueSatisfying(v -> assertThat(v).contains("zcproxy"));
    var seen = origin.lastRequestHeaders();
    assertThat(seen.get("via")).contains("1.1 zcproxy");
    // The client is not in listen.trusted-proxies: its X-Forwarded-For is replaced, not appended to.
    assertThat(seen.get("x-forwarded-for")).isEqualTo("127.0.0.1");
    assertThat(seen.get("x-forwarded-proto")).isEqualTo("http");
  }

  @Test
  void connectionNamedRequestFieldsAreNotForwarded() throws Exception {
    origin.serve("/hop2", "ok".getBytes(), "Cache-Control", "no-store");
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    // java.net.http refuses to set Connection itself, so speak HTTP/1.1 by hand.
    try (var socket = new java.net.Socket("127.0.0.1", proxy.server.port())) {
      socket.getOutputStream().write(("GET /hop2 HTTP/1.1\r\nHost: test\r\nConnection: close, X-Secret\r\nX-Secret: 1\r\n\r\n").getBytes());
      String response = new String(socket.getInputStream().readAllBytes());
      assertThat(response).startsWith("HTTP/1.1 200");
    }
    assertThat(origin.lastRequestHeaders().contains("x-secret")).isFalse();
  }

  @Test
  void requestBodiesAreStreamedToTheOrigin() throws Exception {
    byte[] upload = body(3 << 20, 5);
    origin.route("/upload", req -> req.body().onSuccess(b -> {
      try {
        req.response().putHeader("Content-Type", "text/plain").end(sha256(b.getBytes()));
      } catch (Exception e) {
        req.response().setStatusCode(500).end();
      }
    }));
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    var req = java.net.http.HttpRequest.newBuilder(java.net.URI.create(proxy.url("/upload")))
        .PUT(java.net.http.HttpRequest.BodyPublishers.ofByteArray(upload)).build();
    HttpResponse<String> r = proxy.client.send(req, HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).isEqualTo(sha256(upload));
    assertThat(proxy.server.metrics().responses(CacheOutcome.PASS)).isEqualTo(1);
  }

  @Test
  void purgeThroughTheAdminListenerDropsTheEntry() throws Exception {
    origin.serve("/p", "x".getBytes(), "Cache-Control", "max-age=600");
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    proxy.get("/p");
    awaitStored(1);
    String host = "127.0.0.1:" + proxy.server.port();
    var purge = java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + proxy.server.adminPort()
        + "/purge?url=http://" + host + "/p")).POST(java.net.http.HttpRequest.BodyPublishers.noBody()).build();
    HttpResponse<String> r = proxy.client.send(purge, HttpResponse.BodyHandlers.ofString());
    assertThat(r.body()).contains("\"purged\":1");
    assertThat(proxy.get("/p").headers().firstValue("x-cache")).hasValue("MISS");
    assertThat(origin.requests("/p")).isEqualTo(2);
  }

  @Test
  void staleWhileRevalidateServesStaleAtOnceAndRevalidatesOnceInTheBackground_5861_3() throws Exception {
    java.util.concurrent.atomic.AtomicInteger version = new java.util.concurrent.atomic.AtomicInteger(1);
    java.util.concurrent.CountDownLatch revalidated = new java.util.concurrent.CountDownLatch(1);
    origin.route("/swr", req -> {
      int v = version.get();
      req.response().putHeader("Cache-Control", "max-age=10, stale-while-revalidate=600").end("v" + v)
          .onComplete(x -> {
            if (v == 2) {
              revalidated.countDown();
            }
          });
    });
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    proxy.get("/swr");
    awaitStored(1);
    version.set(2);
    proxy.advance(Duration.ofSeconds(20));
    HttpResponse<byte[]> stale = proxy.get("/swr");
    assertThat(new String(stale.body())).isEqualTo("v1");
    assertThat(stale.headers().firstValue("x-cache")).hasValue("STALE");
    assertThat(stale.headers().firstValue("cache-status")).hasValueSatisfying(v -> assertThat(v).contains("stale-while-revalidate"));
    assertThat(revalidated.await(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
    awaitStored(2);
    HttpResponse<byte[]> fresh = proxy.get("/swr");
    assertThat(new String(fresh.body())).isEqualTo("v2");
    assertThat(fresh.headers().firstValue("x-cache")).hasValue("HIT");
    assertThat(origin.requests("/swr")).isEqualTo(2);
  }

  @Test
  void staleIfErrorServesTheStoredResponseWhenTheOriginIsDown_5861_4() throws Exception {
    byte[] body = body(20_000, 9);
    origin.serve("/sie", body, "Cache-Control", "max-age=10, stale-if-error=600");
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    proxy.get("/sie");
    awaitStored(1);
    origin.close(); // the origin is gone: connections are refused
    proxy.advance(Duration.ofSeconds(20));
    HttpResponse<byte[]> r = proxy.get("/sie");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).isEqualTo(body);
    assertThat(r.headers().firstValue("x-cache")).hasValue("STALE");
    assertThat(r.headers().firstValue("cache-status")).hasValueSatisfying(v -> assertThat(v).contains("detail=stale-if-error"));
    // Beyond the stale-if-error window the error shows.
    proxy.advance(Duration.ofSeconds(1200));
    assertThat(proxy.get("/sie").statusCode()).isEqualTo(502);
    origin = FixtureOrigin.start(); // for @AfterEach
  }

  @Test
  void staleIfErrorAlsoCoversAn5xxFromTheOrigin_5861_4() throws Exception {
    java.util.concurrent.atomic.AtomicBoolean broken = new java.util.concurrent.atomic.AtomicBoolean();
    origin.route("/sie5", req -> {
      if (broken.get()) {
        req.response().setStatusCode(503).end("down");
      } else {
        req.response().putHeader("Cache-Control", "max-age=10, stale-if-error=600").end("good");
      }
    });
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    proxy.get("/sie5");
    awaitStored(1);
    broken.set(true);
    proxy.advance(Duration.ofSeconds(20));
    HttpResponse<byte[]> r = proxy.get("/sie5");
    assertThat(new String(r.body())).isEqualTo("good");
    assertThat(r.headers().firstValue("cache-status")).hasValueSatisfying(v -> assertThat(v).contains("fwd-status=503").contains("stale-if-error"));
  }

  @Test
  void mustRevalidateForbidsServingStaleOnError_9111_5_2_2_2() throws Exception {
    java.util.concurrent.atomic.AtomicBoolean broken = new java.util.concurrent.atomic.AtomicBoolean();
    origin.route("/mr", req -> {
      if (broken.get()) {
        req.response().setStatusCode(503).end("down");
      } else {
        req.response().putHeader("Cache-Control", "max-age=10, must-revalidate, stale-if-error=600").end("good");
      }
    });
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    proxy.get("/mr");
    awaitStored(1);
    broken.set(true);
    proxy.advance(Duration.ofSeconds(20));
    HttpResponse<byte[]> r = proxy.get("/mr");
    assertThat(r.statusCode()).isEqualTo(503);
  }

  @Test
  void theNumberOfVariantsPerUriIsBounded_9111_4_1() throws Exception {
    origin.route("/many", req -> req.response().putHeader("Cache-Control", "max-age=600").putHeader("Vary", "X-V")
        .end("variant " + req.getHeader("X-V")));
    proxy = ProxyFixture.start(origin.url(), cacheDir, "cache.max-variants: 3");
    for (int i = 1; i <= 5; i++) {
      proxy.advance(Duration.ofSeconds(1)); // distinct response times: the oldest goes first
      proxy.get("/many", "X-V", Integer.toString(i));
      awaitStored(i);
    }
    assertThat(proxy.server.store().entryCount()).isEqualTo(3);
    assertThat(proxy.get("/many", "X-V", "5").headers().firstValue("x-cache")).hasValue("HIT");
    assertThat(proxy.get("/many", "X-V", "1").headers().firstValue("x-cache")).hasValue("MISS");
  }

  @ParameterizedTest(name = "sendfile={0}")
  @MethodSource("transfers")
  void aDiskWriteErrorStillDeliversTheResponseAndStoresNothing(boolean sendfile) throws Exception {
    byte[] body = body(3 << 20, 21);
    origin.serve("/full", body, "Cache-Control", "max-age=600");
    // The copy fill is the one that degrades to pass-through mid-body (see the notes on splice fills).
    proxy = ProxyFixture.start(origin.url(), cacheDir, "transfer.sendfile: " + sendfile, "transfer.splice: false");
    proxy.server.store().failWritesAfter(1 << 20); // the disk "fills up" after 1 MiB of the body
    HttpResponse<byte[]> r = proxy.get("/full");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(sha256(r.body())).isEqualTo(sha256(body));
    assertThat(proxy.server.store().entryCount()).isZero();
    // Nothing stored: the next request goes to the origin again, and still works.
    HttpResponse<byte[]> again = proxy.get("/full");
    assertThat(sha256(again.body())).isEqualTo(sha256(body));
    assertThat(origin.requests("/full")).isEqualTo(2);
    try (Stream<Path> files = Files.walk(cacheDir)) {
      assertThat(files.filter(Files::isRegularFile)).isEmpty();
    }
  }

  @Test
  void aMissIsCountedAndLoggedEvenWhenTheClientHangsUpRightAfterTheBody() throws Exception {
    byte[] body = body(300_000, 30);
    origin.serve("/hangup", body, "Cache-Control", "max-age=600");
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    // Like curl: read the head and exactly Content-Length bytes, then close at once.
    try (var socket = new java.net.Socket("127.0.0.1", proxy.server.port())) {
      socket.getOutputStream().write(("GET /hangup HTTP/1.1\r\nHost: 127.0.0.1:" + proxy.server.port() + "\r\n\r\n").getBytes());
      java.io.InputStream in = socket.getInputStream();
      StringBuilder head = new StringBuilder();
      while (!head.toString().endsWith("\r\n\r\n")) {
        head.append((char) in.read());
      }
      assertThat(in.readNBytes(body.length)).isEqualTo(body);
    }
    proxy.server.metrics().whenResponses(CacheOutcome.MISS, 1).get(10, java.util.concurrent.TimeUnit.SECONDS);
    assertThat(proxy.server.metrics().bytes(TransferMode.SENDFILE)).isEqualTo(body.length);
  }
}
