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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** End-to-end caching behaviour against a real origin on loopback: hits are proved by counting origin requests. */
class CachingIT extends OriginAndProxy {
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
      // A small miss is sent from the fill's memory (its body is held whole until written in one task).
      TransferMode expected = sendfile && size > 64 * 1024 ? TransferMode.SENDFILE : TransferMode.COPY;
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

  /**
   * A HEAD that misses is fetched from the origin as a GET (nginx's proxy_cache_convert_head): the
   * client gets the status and header fields with the body's Content-Length and no body, the body is
   * stored, and the next GET is a hit.
   */
  @Test
  void headOnAMissIsFetchedAsAGetAndAnsweredWithTheHeadOnly() throws Exception {
    java.util.List<String> methods = new java.util.concurrent.CopyOnWriteArrayList<>();
    byte[] body = body(5000, 2);
    origin.route("/hm", req -> {
      methods.add(req.method().name());
      req.response().putHeader("Cache-Control", "max-age=600").end(Buffer.buffer(body));
    });
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    HttpResponse<byte[]> head = proxy.send("HEAD", "/hm");
    assertThat(head.statusCode()).isEqualTo(200);
    assertThat(head.body()).isEmpty();
    assertThat(head.headers().firstValue("content-length")).hasValue("5000");
    assertThat(head.headers().firstValue("x-cache")).hasValue("MISS");
    assertThat(methods).containsExactly("GET");
    awaitStored(1);
    HttpResponse<byte[]> get = proxy.get("/hm");
    assertThat(get.body()).isEqualTo(body);
    assertThat(get.headers().firstValue("x-cache")).hasValue("HIT");
    assertThat(origin.requests("/hm")).isEqualTo(1);
    // The connection that carried the HEAD is still usable: the body was never sent on it.
    assertThat(proxy.send("HEAD", "/hm").headers().firstValue("x-cache")).hasValue("HIT");
  }

  /** A HEAD whose response may not be stored gets its head (with the body's length), never a cut connection. */
  @Test
  void headOnAnUnstorableResponseGetsTheHead() throws Exception {
    origin.serve("/hn", body(7000, 3), "Cache-Control", "no-store");
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    // The first is fetched as a GET (its body read and dropped); the second goes the hit-for-pass
    // way, as a HEAD, and gets what the origin answers to HEAD (this one sends no Content-Length).
    HttpResponse<byte[]> first = proxy.send("HEAD", "/hn");
    assertThat(first.statusCode()).isEqualTo(200);
    assertThat(first.body()).isEmpty();
    assertThat(first.headers().firstValue("content-length")).hasValue("7000");
    HttpResponse<byte[]> second = proxy.send("HEAD", "/hn");
    assertThat(second.statusCode()).isEqualTo(200);
    assertThat(second.body()).isEmpty();
    assertThat(second.headers().firstValue("x-cache")).hasValue("PASS");
    assertThat(origin.requests("/hn")).isEqualTo(2);
    assertThat(proxy.get("/hn").body()).hasSize(7000);
  }

  @Test
  void aHeadThatRevalidatesAStaleGetUpdatesTheStoredResponse() throws Exception {
    java.util.List<String> methods = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
    origin.route("/hu", req -> {
      methods.add(req.method().name());
      var resp = req.response().putHeader("Content-Type", "text/plain");
      if (req.method() == io.vertx.core.http.HttpMethod.HEAD) {
        // RFC 9111 §4.3.5: same length, no validator that differs, a new lifetime, no X-Kept
        resp.putHeader("Cache-Control", "max-age=1000").putHeader("Content-Length", "100").end();
      } else {
        resp.putHeader("Cache-Control", "max-age=2").putHeader("X-Kept", "1").end(Buffer.buffer(body(100, 7)));
      }
    });
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    proxy.get("/hu");
    awaitStored(1);
    proxy.advance(Duration.ofSeconds(3));

    HttpResponse<byte[]> head = proxy.send("HEAD", "/hu");
    assertThat(head.statusCode()).isEqualTo(200);
    assertThat(head.body()).isEmpty();
    assertThat(head.headers().firstValue("x-kept")).hasValue("1");
    assertThat(head.headers().firstValue("cache-control")).hasValue("max-age=1000");
    assertThat(head.headers().firstValue("content-length")).hasValue("100");

    // the stored GET now has the HEAD's lifetime: a hit, without another origin request
    HttpResponse<byte[]> get = proxy.get("/hu");
    assertThat(get.headers().firstValue("x-cache")).hasValue("HIT");
    assertThat(get.body()).isEqualTo(body(100, 7));
    assertThat(get.headers().firstValue("x-kept")).hasValue("1");
    assertThat(methods).containsExactly("GET", "HEAD");
  }

  @Test
  void aHeadWithAnotherLengthLeavesTheStoredGetAlone() throws Exception {
    origin.route("/hl", req -> {
      var resp = req.response().putHeader("Content-Type", "text/plain");
      if (req.method() == io.vertx.core.http.HttpMethod.HEAD) {
        resp.putHeader("Cache-Control", "max-age=1000").putHeader("Content-Length", "99").end();
      } else {
        resp.putHeader("Cache-Control", "max-age=2").putHeader("X-Kept", "1").end(Buffer.buffer(body(100, 7)));
      }
    });
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    proxy.get("/hl");
    awaitStored(1);
    proxy.advance(Duration.ofSeconds(3));
    HttpResponse<byte[]> head = proxy.send("HEAD", "/hl");
    assertThat(head.headers().firstValue("content-length")).hasValue("99");
    assertThat(head.headers().firstValue("x-kept")).isEmpty();
    assertThat(proxy.get("/hl").headers().firstValue("x-cache")).hasValue("MISS");
    assertThat(origin.requests("/hl")).isEqualTo(3);
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
  void aNewerResponseWithVaryIsPreferredOverAnOlderOneWithoutIt() throws Exception {
    java.util.concurrent.atomic.AtomicBoolean varies = new java.util.concurrent.atomic.AtomicBoolean();
    origin.route("/nv", req -> {
      if (varies.get()) {
        req.response().putHeader("Cache-Control", "max-age=600").putHeader("Vary", "Accept")
            .end("json".equals(req.getHeader("Accept")) ? "new json" : "new other");
      } else {
        req.response().putHeader("Cache-Control", "max-age=600").end("old plain");
      }
    });
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    assertThat(new String(proxy.get("/nv").body())).isEqualTo("old plain");
    awaitStored(1);
    assertThat(new String(proxy.get("/nv", "Accept", "json").body())).isEqualTo("old plain");
    varies.set(true);
    // a later response time, as any real clock gives (with the fake clock frozen, both responses tie and the first wins)
    proxy.advance(java.time.Duration.ofSeconds(1));
    assertThat(new String(proxy.get("/nv", "Accept", "json", "Cache-Control", "no-cache").body())).isEqualTo("new json");
    awaitStored(2);
    HttpResponse<byte[]> again = proxy.get("/nv", "Accept", "json");
    assertThat(new String(again.body())).as("the most recent matching response (RFC 9111 section 4.1)").isEqualTo("new json");
    assertThat(new String(proxy.get("/nv").body())).as("a request the Vary response does not match").isEqualTo("old plain");
    assertThat(origin.requests("/nv")).isEqualTo(2);
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
  void anUnknownDirectiveThatStartsWithNoCacheIsNotTheRequestsNoCache_9111_5_2_3() throws Exception {
    origin.route("/nc", req -> {
      if ("\"v1\"".equals(req.getHeader("If-None-Match"))) {
        req.response().setStatusCode(304).putHeader("ETag", "\"v1\"").putHeader("Cache-Control", "max-age=60").end();
      } else {
        req.response().putHeader("ETag", "\"v1\"").putHeader("Cache-Control", "max-age=60").end("version one");
      }
    });
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    proxy.get("/nc");
    awaitStored(1);
    proxy.advance(Duration.ofSeconds(120));
    // no-cache-foo is an extension directive this cache does not know (ignored, §5.2.3): the entry is
    // revalidated because it is stale, not because the request asked for it (RFC 9211 fwd=stale).
    HttpResponse<byte[]> reval = proxy.get("/nc", "Cache-Control", "no-cache-foo");
    assertThat(new String(reval.body())).isEqualTo("version one");
    assertThat(reval.headers().firstValue("x-cache")).hasValue("REVALIDATED");
    assertThat(reval.headers().firstValue("cache-status")).hasValueSatisfying(v -> assertThat(v).contains("fwd=stale").contains("fwd-status=304"));
    assertThat(origin.requests("/nc")).isEqualTo(2);
    // A real no-cache on a fresh entry is the request's: fwd=request.
    HttpResponse<byte[]> asked = proxy.get("/nc", "Cache-Control", "no-cache");
    assertThat(asked.headers().firstValue("cache-status")).hasValueSatisfying(v -> assertThat(v).contains("fwd=request").contains("fwd-status=304"));
    assertThat(origin.requests("/nc")).isEqualTo(3);
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
  void requestNoStoreBypassesTheCacheWithoutTurningTheUriIntoHitForPass() throws Exception {
    origin.serve("/rns", "cacheable".getBytes(), "Cache-Control", "max-age=600");
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    // The client's no-store forbids storing this response (RFC 9111 §5.2.1.5); it says nothing about
    // the response, so later requests must still be cached.
    HttpResponse<byte[]> noStore = proxy.get("/rns", "Cache-Control", "no-store");
    assertThat(noStore.body()).isEqualTo("cacheable".getBytes());
    assertThat(proxy.server.store().entryCount()).isZero();
    HttpResponse<byte[]> miss = proxy.get("/rns");
    assertThat(miss.headers().firstValue("cache-status")).hasValueSatisfying(v -> assertThat(v).contains("stored"));
    awaitStored(1);
    assertThat(proxy.get("/rns").headers().firstValue("x-cache")).hasValue("HIT");
    // A stored response is not used for a no-store request either: it goes to the origin, and what
    // it gets is not stored over the stored one.
    HttpResponse<byte[]> again = proxy.get("/rns", "Cache-Control", "no-store");
    assertThat(again.body()).isEqualTo("cacheable".getBytes());
    assertThat(again.headers().firstValue("cache-status")).hasValueSatisfying(v -> assertThat(v).contains("fwd=request"));
    assertThat(origin.requests("/rns")).isEqualTo(3);
    assertThat(proxy.server.store().entryCount()).isEqualTo(1);
    assertThat(proxy.get("/rns").headers().firstValue("x-cache")).hasValue("HIT");
    assertThat(origin.requests("/rns")).isEqualTo(3);
  }

  @Test
  void aPostResponseNamingItsOwnUriIsStoredForLaterGets() throws Exception {
    java.util.List<String> seen = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
    origin.route("/p", req -> req.body().onSuccess(b -> {
      seen.add(req.method().name() + " " + b);
      var resp = req.response().putHeader("Cache-Control", "max-age=600");
      if (req.method() == io.vertx.core.http.HttpMethod.POST) {
        // RFC 9110 §9.3.3: explicit freshness and Content-Location = the target URI
        resp.putHeader("Content-Location", "/p").end("posted " + b);
      } else {
        resp.end("v1");
      }
    }));
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    assertThat(new String(proxy.get("/p").body())).isEqualTo("v1");
    awaitStored(1);

    var post = java.net.http.HttpRequest.newBuilder(java.net.URI.create(proxy.url("/p")))
        .POST(java.net.http.HttpRequest.BodyPublishers.ofString("12345")).header("Content-Type", "text/plain").build();
    HttpResponse<String> posted = proxy.client.send(post, HttpResponse.BodyHandlers.ofString());
    assertThat(posted.body()).isEqualTo("posted 12345");
    assertThat(posted.headers().firstValue("cache-status")).hasValueSatisfying(v -> assertThat(v).contains("stored"));
    awaitStored(2);

    // the POST invalidated the stored GET (RFC 9111 §4.4) and its own response took its place
    HttpResponse<byte[]> get = proxy.get("/p");
    assertThat(new String(get.body())).isEqualTo("posted 12345");
    assertThat(get.headers().firstValue("x-cache")).hasValue("HIT");
    assertThat(seen).containsExactly("GET ", "POST 12345");
    assertThat(proxy.server.store().entryCount()).isEqualTo(1);
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
    for (String connection : java.util.List.of("close, X-Secret", "X-Secret, close")) {
      try (var socket = new java.net.Socket("127.0.0.1", proxy.server.port())) {
        // close among other options still closes (RFC 9112 9.6): the end of the stream comes with the response,
        // not after the idle timeout (60 s)
        socket.setSoTimeout(10_000);
        socket.getOutputStream().write(("GET /hop2 HTTP/1.1\r\nHost: test\r\nConnection: " + connection
            + "\r\nX-Secret: 1\r\n\r\n").getBytes());
        String response = new String(socket.getInputStream().readAllBytes());
        assertThat(response).startsWith("HTTP/1.1 200").containsIgnoringCase("\r\nconnection: close\r\n");
      }
      assertThat(origin.lastRequestHeaders().contains("x-secret")).isFalse();
    }
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
    // A response is counted when the proxy has finished it, which can be just after the client read its last byte.
    proxy.server.metrics().whenResponses(CacheOutcome.PASS, 1).get(20, java.util.concurrent.TimeUnit.SECONDS);
    assertThat(proxy.server.metrics().responses(CacheOutcome.PASS)).isEqualTo(1);
  }

  @Test
  void purgeThroughTheAdminListenerDropsTheEntry() throws Exception {
    origin.serve("/p", "x".getBytes(), "Cache-Control", "max-age=600");
    proxy = ProxyFixture.start(origin.url(), cacheDir, "admin.token: caching-it-admin-token");
    proxy.get("/p");
    awaitStored(1);
    String host = "127.0.0.1:" + proxy.server.port();
    var purge = java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + proxy.server.adminPort()
        + "/purge?url=http://" + host + "/p")).header("Authorization", "Bearer caching-it-admin-token")
        .POST(java.net.http.HttpRequest.BodyPublishers.noBody()).build();
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
