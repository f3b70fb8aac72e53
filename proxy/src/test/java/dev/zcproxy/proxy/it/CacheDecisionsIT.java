package dev.zcproxy.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.EntryMeta;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Decisions the review found wrong (issue 10): what the client got, what the origin received and what the
 * cache holds, against a real origin on loopback.
 */
class CacheDecisionsIT extends OriginAndProxy {
  private static final byte[] BODY = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!?".getBytes(StandardCharsets.US_ASCII);
  private static final int N = BODY.length;

  /** Answers a single {@code bytes} range with a 206 of it, anything else with the whole body; validators on both. */
  private static void rangeOrigin(HttpServerRequest req) {
    var resp = req.response().putHeader("Cache-Control", "max-age=600").putHeader("ETag", "\"v1\"");
    if ("\"v1\"".equals(req.getHeader("If-None-Match"))) {
      resp.setStatusCode(304).end();
      return;
    }
    String range = req.getHeader("Range");
    if (range == null || !range.startsWith("bytes=-")) {
      resp.end(Buffer.buffer(BODY));
      return;
    }
    int first = N - Integer.parseInt(range.substring(7));
    resp.setStatusCode(206).putHeader("Content-Range", "bytes " + first + "-" + (N - 1) + "/" + N)
        .end(Buffer.buffer(Arrays.copyOfRange(BODY, first, N)));
  }

  private List<EntryMeta> held() {
    return proxy.server.store().list("", 100);
  }

  private static String cacheStatus(HttpResponse<byte[]> r) {
    return r.headers().firstValue("cache-status").orElse("");
  }

  // ---------------------------------------------------------------- Cache-Status fwd (RFC 9211 §2.2)

  @Test
  void aRequestsMaxAgeZeroOnAFreshEntryIsForwardedByTheRequest_9211_2_2() throws Exception {
    origin.route("/f", CacheDecisionsIT::rangeOrigin);
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    proxy.get("/f");
    proxy.server.metrics().whenStored(1).get(20, TimeUnit.SECONDS);
    proxy.advance(Duration.ofSeconds(10)); // fresh for 590 s more

    HttpResponse<byte[]> r = proxy.get("/f", "Cache-Control", "max-age=0");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).isEqualTo(BODY);
    assertThat(r.headers().firstValue("x-cache")).hasValue("REVALIDATED");
    assertThat(cacheStatus(r)).contains("fwd=request", "fwd-status=304").doesNotContain("fwd=stale");
    assertThat(origin.requests("/f")).isEqualTo(2);
    assertThat(origin.lastRequestHeaders().get("If-None-Match")).isEqualTo("\"v1\"");

    HttpResponse<byte[]> minFresh = proxy.get("/f", "Cache-Control", "min-fresh=100000");
    assertThat(cacheStatus(minFresh)).contains("fwd=request").doesNotContain("fwd=stale");
    assertThat(origin.requests("/f")).isEqualTo(3);
    assertThat(held()).singleElement().satisfies(e -> assertThat(e.status()).isEqualTo(200));

    proxy.advance(Duration.ofSeconds(1000)); // stale now: revalidated because it is stale
    HttpResponse<byte[]> stale = proxy.get("/f", "Cache-Control", "max-age=0");
    assertThat(cacheStatus(stale)).contains("fwd=stale");
  }

  @Test
  void onlyAStoredPartialIsAMissNotAVaryMiss_9211_2_2() throws Exception {
    origin.route("/p", CacheDecisionsIT::rangeOrigin);
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    assertThat(proxy.get("/p", "Range", "bytes=-20").statusCode()).isEqualTo(206);
    proxy.server.metrics().whenStored(1).get(20, TimeUnit.SECONDS);
    assertThat(held()).singleElement().satisfies(e -> assertThat(e.status()).isEqualTo(206));

    HttpResponse<byte[]> whole = proxy.get("/p");
    assertThat(whole.statusCode()).isEqualTo(200);
    assertThat(whole.body()).isEqualTo(BODY);
    assertThat(cacheStatus(whole)).contains("fwd=miss").doesNotContain("vary-miss");
    assertThat(origin.requests("/p")).isEqualTo(2);
    assertThat(origin.lastRequestHeaders().get("Range")).isNull();
  }

  // ---------------------------------------------------------------- stale-while-revalidate started by a HEAD

  @Test
  void aHeadsBackgroundRevalidationStoresTheGetsResponse_5861_3() throws Exception {
    java.util.concurrent.atomic.AtomicInteger version = new java.util.concurrent.atomic.AtomicInteger(1);
    List<String> methods = new java.util.concurrent.CopyOnWriteArrayList<>();
    origin.route("/swr", req -> {
      methods.add(req.method().name());
      int v = version.get();
      req.response().putHeader("Cache-Control", "max-age=10, stale-while-revalidate=600").putHeader("ETag", "\"v" + v + "\"")
          .end("version " + v);
    });
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    proxy.get("/swr");
    proxy.server.metrics().whenStored(1).get(20, TimeUnit.SECONDS);
    version.set(2);
    proxy.advance(Duration.ofSeconds(60)); // stale, inside stale-while-revalidate

    HttpResponse<byte[]> head = proxy.send("HEAD", "/swr");
    assertThat(head.statusCode()).isEqualTo(200);
    assertThat(head.headers().firstValue("x-cache")).hasValue("STALE");
    assertThat(head.headers().firstValue("etag")).hasValue("\"v1\"");
    // the background request is a GET, and its 200 replaces the stale entry
    proxy.server.metrics().whenStored(2).get(20, TimeUnit.SECONDS);
    assertThat(methods).containsExactly("GET", "GET");
    assertThat(held()).singleElement().satisfies(e -> assertThat(e.headers().get("ETag")).isEqualTo("\"v2\""));

    HttpResponse<byte[]> hit = proxy.get("/swr");
    assertThat(hit.headers().firstValue("x-cache")).hasValue("HIT");
    assertThat(new String(hit.body(), StandardCharsets.US_ASCII)).isEqualTo("version 2");
    assertThat(origin.requests("/swr")).isEqualTo(2);
  }

  // ---------------------------------------------------------------- If-Match / If-Unmodified-Since (RFC 9110 §13)

  private static final String LM = "Tue, 14 Nov 2023 22:13:20 GMT";

  /** A validating origin that records the preconditions it received (it evaluates none). */
  private void validatingOrigin(String path, List<String> seen, String cacheControl) {
    origin.route(path, req -> {
      seen.add(req.method().name() + " im=" + req.getHeader("If-Match") + " ius=" + req.getHeader("If-Unmodified-Since"));
      var resp = req.response().putHeader("Cache-Control", cacheControl).putHeader("ETag", "\"v1\"").putHeader("Last-Modified", LM);
      if ("\"v1\"".equals(req.getHeader("If-None-Match"))) {
        resp.setStatusCode(304).end();
      } else {
        resp.end(Buffer.buffer(BODY));
      }
    });
  }

  @Test
  void aFillDoesNotForwardIfMatchAndTheCacheAnswersIt_9110_13_1_1() throws Exception {
    List<String> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
    validatingOrigin("/m", seen, "max-age=60");
    proxy = ProxyFixture.start(origin.url(), cacheDir);

    HttpResponse<byte[]> failed = proxy.get("/m", "If-Match", "\"v2\"");
    assertThat(failed.statusCode()).as("the filled response does not match").isEqualTo(412);
    assertThat(failed.body()).isEmpty();
    assertThat(failed.headers().firstValue("content-length")).hasValue("0");
    assertThat(seen).containsExactly("GET im=null ius=null");
    proxy.server.metrics().whenStored(1).get(20, TimeUnit.SECONDS);
    assertThat(held()).singleElement().satisfies(e -> assertThat(e.bodyLength()).isEqualTo(N));

    HttpResponse<byte[]> hitFailed = proxy.get("/m", "If-Match", "\"v2\", W/\"v1\"");
    assertThat(hitFailed.statusCode()).isEqualTo(412);
    assertThat(hitFailed.headers().firstValue("x-cache")).hasValue("HIT");
    assertThat(hitFailed.body()).isEmpty();
    HttpResponse<byte[]> hit = proxy.get("/m", "If-Match", "\"v2\", \"v1\"");
    assertThat(hit.statusCode()).isEqualTo(200);
    assertThat(hit.body()).isEqualTo(BODY);
    HttpResponse<byte[]> any = proxy.get("/m", "If-Match", "*");
    assertThat(any.statusCode()).isEqualTo(200);
    HttpResponse<byte[]> head = proxy.send("HEAD", "/m", "If-Match", "\"v2\"");
    assertThat(head.statusCode()).isEqualTo(412);
    // If-Unmodified-Since, only without If-Match (§13.2.2)
    HttpResponse<byte[]> modified = proxy.get("/m", "If-Unmodified-Since", "Mon, 13 Nov 2023 22:13:20 GMT");
    assertThat(modified.statusCode()).isEqualTo(412);
    HttpResponse<byte[]> unmodified = proxy.get("/m", "If-Unmodified-Since", LM);
    assertThat(unmodified.statusCode()).isEqualTo(200);
    assertThat(unmodified.body()).isEqualTo(BODY);
    HttpResponse<byte[]> matchWins = proxy.get("/m", "If-Match", "\"v1\"", "If-Unmodified-Since", "Mon, 13 Nov 2023 22:13:20 GMT");
    assertThat(matchWins.statusCode()).isEqualTo(200);
    assertThat(seen).hasSize(1);
    assertThat(held()).singleElement().satisfies(e -> assertThat(e.bodyLength()).isEqualTo(N));
  }

  @Test
  void aRevalidationAndAStaleEntryAnswerThePreconditionsToo_9110_13_2_2() throws Exception {
    List<String> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
    validatingOrigin("/r", seen, "max-age=10");
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    proxy.get("/r");
    proxy.server.metrics().whenStored(1).get(20, TimeUnit.SECONDS);
    proxy.advance(Duration.ofSeconds(60));

    HttpResponse<byte[]> revalidated = proxy.get("/r", "If-Match", "\"v2\"");
    assertThat(revalidated.headers().firstValue("x-cache")).hasValue("REVALIDATED");
    assertThat(revalidated.statusCode()).isEqualTo(412);
    assertThat(revalidated.body()).isEmpty();
    assertThat(seen).containsExactly("GET im=null ius=null", "GET im=null ius=null");
    assertThat(origin.lastRequestHeaders().get("If-None-Match")).as("the stored validators, not the client's").isEqualTo("\"v1\"");
    HttpResponse<byte[]> ok = proxy.get("/r", "If-Match", "\"v1\"");
    assertThat(ok.statusCode()).isEqualTo(200);
    assertThat(ok.headers().firstValue("x-cache")).hasValue("HIT");
    assertThat(ok.body()).isEqualTo(BODY);
  }

  @Test
  void aPassForwardsThePreconditionsUnchanged() throws Exception {
    List<String> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
    validatingOrigin("/post", seen, "max-age=60");
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    HttpResponse<byte[]> post = proxy.client.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(proxy.url("/post")))
        .POST(java.net.http.HttpRequest.BodyPublishers.ofString("x")).header("If-Match", "\"v2\"")
        .header("If-Unmodified-Since", LM).build(), HttpResponse.BodyHandlers.ofByteArray());
    assertThat(post.statusCode()).as("the origin evaluates them (this one ignores them)").isEqualTo(200);
    assertThat(seen).containsExactly("POST im=\"v2\" ius=" + LM);
  }

  @Test
  void anUncacheableResponseToAFillIsCheckedAgainstTheDroppedPreconditions() throws Exception {
    List<String> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
    validatingOrigin("/ns", seen, "no-store");
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    HttpResponse<byte[]> failed = proxy.get("/ns", "If-Match", "\"v2\"");
    assertThat(failed.statusCode()).isEqualTo(412);
    assertThat(failed.body()).isEmpty();
    assertThat(seen).containsExactly("GET im=null ius=null");
    HttpResponse<byte[]> ok = proxy.get("/ns", "If-Match", "\"v1\"");
    assertThat(ok.statusCode()).isEqualTo(200);
    assertThat(ok.body()).isEqualTo(BODY);
    assertThat(held()).isEmpty();
  }

  // ---------------------------------------------------------------- Range on a filling miss (RFC 9110 §14)

  @Test
  void aRangeMissGetsA206FromTheFillAndTheWholeIsStored_9110_14_2() throws Exception {
    origin.route("/p", CacheDecisionsIT::rangeOrigin);
    proxy = ProxyFixture.start(origin.url(), cacheDir);

    HttpResponse<byte[]> r = proxy.get("/p", "Range", "bytes=10-19");
    assertThat(r.statusCode()).isEqualTo(206);
    assertThat(r.headers().firstValue("content-range")).hasValue("bytes 10-19/64");
    assertThat(r.headers().firstValue("content-length")).hasValue("10");
    assertThat(new String(r.body(), StandardCharsets.US_ASCII)).isEqualTo("abcdefghij");
    assertThat(r.headers().firstValue("x-cache")).hasValue("MISS");
    assertThat(origin.lastRequestHeaders().get("Range")).as("the fill fetches the whole").isNull();
    proxy.server.metrics().whenStored(1).get(20, TimeUnit.SECONDS);
    assertThat(held()).singleElement().satisfies(e -> {
      assertThat(e.status()).isEqualTo(200);
      assertThat(e.bodyLength()).isEqualTo(N);
    });
    assertThat(proxy.get("/p").body()).isEqualTo(BODY);
    assertThat(origin.requests("/p")).isEqualTo(1);
  }

  @Test
  void anUnsatisfiableRangeOnAFillingMissIs416AndTheWholeIsStored_9110_15_5_17() throws Exception {
    origin.route("/p", CacheDecisionsIT::rangeOrigin);
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    HttpResponse<byte[]> r = proxy.get("/p", "Range", "bytes=64-");
    assertThat(r.statusCode()).isEqualTo(416);
    assertThat(r.headers().firstValue("content-range")).hasValue("bytes */64");
    assertThat(r.body()).isEmpty();
    proxy.server.metrics().whenStored(1).get(20, TimeUnit.SECONDS);
    assertThat(held()).singleElement().satisfies(e -> assertThat(e.bodyLength()).isEqualTo(N));
    assertThat(origin.requests("/p")).isEqualTo(1);
  }

  @Test
  void aChunkedFillIsSentWholeToARangeRequest() throws Exception {
    origin.route("/c", req -> {
      var resp = req.response().putHeader("Cache-Control", "max-age=600").setChunked(true);
      resp.write(Buffer.buffer(Arrays.copyOfRange(BODY, 0, 10)));
      resp.end(Buffer.buffer(Arrays.copyOfRange(BODY, 10, N)));
    });
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    HttpResponse<byte[]> r = proxy.get("/c", "Range", "bytes=10-19");
    assertThat(r.statusCode()).as("the length is unknown until the fill ends: the whole (RFC 9110 §14.2)").isEqualTo(200);
    assertThat(r.body()).isEqualTo(BODY);
    proxy.server.metrics().whenStored(1).get(20, TimeUnit.SECONDS);
    HttpResponse<byte[]> hit = proxy.get("/c", "Range", "bytes=10-19");
    assertThat(hit.statusCode()).isEqualTo(206);
    assertThat(new String(hit.body(), StandardCharsets.US_ASCII)).isEqualTo("abcdefghij");
    assertThat(origin.requests("/c")).isEqualTo(1);
  }

  /**
   * Requests that join a fill under way get their ranges from the growing file: one inside what has
   * arrived is answered before the origin sends the rest, one in the tail once it arrives.
   */
  @Test
  void rangesThatJoinAFillAreServedFromTheGrowingFile() throws Exception {
    byte[] body = CachingIT.body(1 << 20, 7);
    java.util.concurrent.CompletableFuture<Void> go = new java.util.concurrent.CompletableFuture<>();
    origin.route("/big", req -> {
      var resp = req.response().putHeader("Cache-Control", "max-age=600").putHeader("Content-Length", Integer.toString(body.length));
      resp.write(Buffer.buffer(Arrays.copyOfRange(body, 0, 64 * 1024)));
      go.whenComplete((v, t) -> origin.vertx().runOnContext(x -> resp.end(Buffer.buffer(Arrays.copyOfRange(body, 64 * 1024, body.length)))));
    });
    // a copy fill reports each write; a spliced one reports progress per spliced chunk (1 MiB)
    proxy = ProxyFixture.start(origin.url(), cacheDir, "origin.idle-timeout: 60s", "transfer.splice: false");
    var client = proxy.client;
    var whole = client.sendAsync(java.net.http.HttpRequest.newBuilder(java.net.URI.create(proxy.url("/big"))).build(),
        HttpResponse.BodyHandlers.ofByteArray());
    var early = client.sendAsync(java.net.http.HttpRequest.newBuilder(java.net.URI.create(proxy.url("/big")))
        .header("Range", "bytes=1000-1999").build(), HttpResponse.BodyHandlers.ofByteArray());
    var late = client.sendAsync(java.net.http.HttpRequest.newBuilder(java.net.URI.create(proxy.url("/big")))
        .header("Range", "bytes=" + (body.length - 100) + "-").build(), HttpResponse.BodyHandlers.ofByteArray());
    var mismatch = client.sendAsync(java.net.http.HttpRequest.newBuilder(java.net.URI.create(proxy.url("/big")))
        .header("If-Match", "\"other\"").build(), HttpResponse.BodyHandlers.ofByteArray());

    // the first 64 KiB arrived: the early range is complete while the origin still holds back the rest
    HttpResponse<byte[]> e = early.get(20, TimeUnit.SECONDS);
    assertThat(go).isNotDone();
    assertThat(e.statusCode()).isEqualTo(206);
    assertThat(e.headers().firstValue("content-range")).hasValue("bytes 1000-1999/" + body.length);
    assertThat(e.body()).isEqualTo(Arrays.copyOfRange(body, 1000, 2000));
    assertThat(late).isNotDone();
    HttpResponse<byte[]> failed = mismatch.get(20, TimeUnit.SECONDS);
    assertThat(failed.statusCode()).as("a joined request's If-Match fails against the fill (it has no ETag)").isEqualTo(412);
    assertThat(failed.body()).isEmpty();
    assertThat(go).isNotDone();
    go.complete(null);
    HttpResponse<byte[]> l = late.get(20, TimeUnit.SECONDS);
    assertThat(l.statusCode()).isEqualTo(206);
    assertThat(l.headers().firstValue("content-range")).hasValue("bytes " + (body.length - 100) + "-" + (body.length - 1) + "/" + body.length);
    assertThat(l.body()).isEqualTo(Arrays.copyOfRange(body, body.length - 100, body.length));
    HttpResponse<byte[]> w = whole.get(20, TimeUnit.SECONDS);
    assertThat(w.statusCode()).isEqualTo(200);
    assertThat(w.body()).isEqualTo(body);
    assertThat(origin.requests("/big")).as("one fetch for all four").isEqualTo(1);
    proxy.server.metrics().whenStored(1).get(20, TimeUnit.SECONDS);
    assertThat(held()).singleElement().satisfies(m -> assertThat(m.bodyLength()).isEqualTo(body.length));
  }
}
