package dev.zcproxy.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.EntryMeta;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Partial (206) responses stored and reused (RFC 9111 §3.3), against a real origin that honours
 * {@code Range} and counts requests, and hostile origins whose 206 must not be stored. Each test
 * asserts what the client got, what the origin received and what the cache holds.
 */
class PartialContentIT extends OriginAndProxy {
  private static final byte[] BODY = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!?".getBytes(StandardCharsets.US_ASCII);
  private static final int N = BODY.length;

  /** Answers a single {@code bytes} range with a 206 of it, anything else with the whole body. */
  private static void rangeOrigin(HttpServerRequest req) {
    var resp = req.response().putHeader("Cache-Control", "max-age=600");
    String range = req.getHeader("Range");
    if (range == null || !range.startsWith("bytes=") || range.contains(",")) {
      resp.end(Buffer.buffer(BODY));
      return;
    }
    String spec = range.substring(6);
    int dash = spec.indexOf('-');
    int first;
    int last;
    if (dash == 0) {
      first = Math.max(0, N - Integer.parseInt(spec.substring(1)));
      last = N - 1;
    } else {
      first = Integer.parseInt(spec.substring(0, dash));
      last = dash == spec.length() - 1 ? N - 1 : Math.min(N - 1, Integer.parseInt(spec.substring(dash + 1)));
    }
    resp.setStatusCode(206).putHeader("Content-Range", "bytes " + first + "-" + last + "/" + N)
        .end(Buffer.buffer(Arrays.copyOfRange(BODY, first, last + 1)));
  }

  private List<EntryMeta> held() {
    return proxy.server.store().list("", 100);
  }

  private static String text(HttpResponse<byte[]> r) {
    return new String(r.body(), StandardCharsets.US_ASCII);
  }

  private static String cacheStatus(HttpResponse<byte[]> r) {
    return r.headers().firstValue("cache-status").orElse("");
  }

  @Test
  void aSuffixRangeMissIsStoredAsAPartialAndAnswersRangesInsideIt_9111_3_3() throws Exception {
    origin.route("/p", PartialContentIT::rangeOrigin);
    proxy = ProxyFixture.start(origin.url(), cacheDir);

    HttpResponse<byte[]> first = proxy.get("/p", "Range", "bytes=-20");
    assertThat(first.statusCode()).isEqualTo(206);
    assertThat(first.headers().firstValue("content-range")).hasValue("bytes 44-63/64");
    assertThat(text(first)).isEqualTo("IJKLMNOPQRSTUVWXYZ!?");
    assertThat(origin.lastRequestHeaders().get("Range")).as("forwarded with its Range").isEqualTo("bytes=-20");
    proxy.server.metrics().whenStored(1).get(20, TimeUnit.SECONDS);
    assertThat(held()).singleElement().satisfies(e -> {
      assertThat(e.status()).isEqualTo(206);
      assertThat(e.variant()).isEqualTo("partial:bytes=-20");
      assertThat(e.bodyLength()).isEqualTo(20);
    });

    HttpResponse<byte[]> same = proxy.get("/p", "Range", "bytes=-20");
    assertThat(same.statusCode()).isEqualTo(206);
    assertThat(text(same)).isEqualTo("IJKLMNOPQRSTUVWXYZ!?");
    assertThat(cacheStatus(same)).contains("hit", "detail=partial");

    HttpResponse<byte[]> inside = proxy.get("/p", "Range", "bytes=50-52");
    assertThat(inside.statusCode()).isEqualTo(206);
    assertThat(inside.headers().firstValue("content-range")).hasValue("bytes 50-52/64");
    assertThat(text(inside)).isEqualTo("OPQ");
    HttpResponse<byte[]> tail = proxy.get("/p", "Range", "bytes=-3");
    assertThat(tail.headers().firstValue("content-range")).hasValue("bytes 61-63/64");
    assertThat(text(tail)).isEqualTo("Z!?");
    HttpResponse<byte[]> open = proxy.get("/p", "Range", "bytes=60-");
    assertThat(text(open)).isEqualTo("YZ!?");
    assertThat(origin.requests("/p")).as("all four from the partial entry").isEqualTo(1);

    HttpResponse<byte[]> outside = proxy.get("/p", "Range", "bytes=-30");
    assertThat(outside.statusCode()).isEqualTo(206);
    assertThat(text(outside)).isEqualTo(new String(BODY, N - 30, 30, StandardCharsets.US_ASCII));
    assertThat(origin.requests("/p")).as("not inside the stored range: to the origin").isEqualTo(2);

    HttpResponse<byte[]> whole = proxy.get("/p");
    assertThat(whole.statusCode()).as("a partial entry is never a complete response").isEqualTo(200);
    assertThat(whole.body()).isEqualTo(BODY);
    assertThat(whole.headers().firstValue("content-range")).isEmpty();
    assertThat(origin.requests("/p")).isEqualTo(3);
    assertThat(origin.lastRequestHeaders().get("Range")).as("the complete response is fetched").isNull();
  }

  @Test
  void aRangeNearTheStartStillFetchesAndStoresTheWholeResponse() throws Exception {
    origin.route("/p", PartialContentIT::rangeOrigin);
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    HttpResponse<byte[]> r = proxy.get("/p", "Range", "bytes=10-19");
    assertThat(r.statusCode()).as("the filling miss answers the range from the growing file").isEqualTo(206);
    assertThat(r.headers().firstValue("content-range")).hasValue("bytes 10-19/64");
    assertThat(text(r)).isEqualTo("abcdefghij");
    assertThat(origin.lastRequestHeaders().get("Range")).isNull();
    proxy.server.metrics().whenStored(1).get(20, TimeUnit.SECONDS);
    assertThat(held()).singleElement().satisfies(e -> {
      assertThat(e.status()).isEqualTo(200);
      assertThat(e.bodyLength()).isEqualTo(N);
    });
    HttpResponse<byte[]> hit = proxy.get("/p", "Range", "bytes=10-19");
    assertThat(hit.statusCode()).isEqualTo(206);
    assertThat(text(hit)).isEqualTo("abcdefghij");
    assertThat(origin.requests("/p")).isEqualTo(1);
  }

  /**
   * A 206 that does not say unambiguously which bytes it holds is relayed as it came and not stored:
   * no Content-Range, an unknown complete length, an invalid or out-of-bounds range, two
   * Content-Range fields, multipart/byteranges.
   */
  @ParameterizedTest
  @ValueSource(strings = {"none", "bytes 44-63/*", "bytes 63-44/64", "bytes 44-64/64", "two", "multipart"})
  void aHostile206IsRelayedButNotStored(String contentRange) throws Exception {
    byte[] part = Arrays.copyOfRange(BODY, 44, 64);
    origin.route("/h", req -> {
      var resp = req.response().setStatusCode(206).putHeader("Cache-Control", "max-age=600");
      switch (contentRange) {
        case "none" -> { }
        case "two" -> resp.headers().add("Content-Range", "bytes 44-63/64").add("Content-Range", "bytes 0-19/64");
        case "multipart" -> resp.putHeader("Content-Type", "multipart/byteranges; boundary=B");
        default -> resp.putHeader("Content-Range", contentRange);
      }
      resp.end(Buffer.buffer(part));
    });
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    for (int i = 1; i <= 2; i++) {
      HttpResponse<byte[]> r = proxy.get("/h", "Range", "bytes=-20");
      assertThat(r.statusCode()).isEqualTo(206);
      assertThat(r.body()).isEqualTo(part);
      assertThat(origin.requests("/h")).isEqualTo(i);
      assertThat(origin.lastRequestHeaders().get("Range")).isEqualTo("bytes=-20");
    }
    assertThat(held()).isEmpty();
  }

  /**
   * The suite's origin sends {@code Content-Range: bytes 4-9/10} (6 bytes) with a 5-byte body: which
   * bytes it holds is unknown, so it only answers the very same range again, as the origin did, and
   * never a range inside it or a request for the whole.
   */
  @Test
  void a206WhoseBodyDisagreesWithItsContentRangeOnlyAnswersTheSameRange() throws Exception {
    origin.route("/m", req -> {
      var resp = req.response().putHeader("Cache-Control", "max-age=600");
      if (req.getHeader("Range") == null) {
        resp.end("0123456789");
      } else {
        resp.setStatusCode(206).putHeader("Content-Range", "bytes 4-9/10").end("01234");
      }
    });
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    assertThat(text(proxy.get("/m", "Range", "bytes=-5"))).isEqualTo("01234");
    proxy.server.metrics().whenStored(1).get(20, TimeUnit.SECONDS);
    assertThat(held()).singleElement().satisfies(e -> assertThat(e.bodyLength()).isEqualTo(5));

    HttpResponse<byte[]> same = proxy.get("/m", "Range", "bytes=-5");
    assertThat(same.statusCode()).isEqualTo(206);
    assertThat(same.headers().firstValue("content-range")).hasValue("bytes 4-9/10");
    assertThat(text(same)).isEqualTo("01234");
    assertThat(origin.requests("/m")).isEqualTo(1);

    HttpResponse<byte[]> inside = proxy.get("/m", "Range", "bytes=6-8");
    assertThat(inside.statusCode()).as("not cut from the partial: from the fill of the whole").isEqualTo(206);
    assertThat(inside.headers().firstValue("content-range")).hasValue("bytes 6-8/10");
    assertThat(text(inside)).isEqualTo("678");
    assertThat(origin.requests("/m")).isEqualTo(2);
    assertThat(origin.lastRequestHeaders().get("Range")).as("a range near the start fetches the whole").isNull();
    proxy.server.metrics().whenStored(2).get(20, TimeUnit.SECONDS);

    HttpResponse<byte[]> cut = proxy.get("/m", "Range", "bytes=6-8");
    assertThat(cut.statusCode()).isEqualTo(206);
    assertThat(text(cut)).as("cut from the complete response").isEqualTo("678");
    HttpResponse<byte[]> whole = proxy.get("/m");
    assertThat(whole.statusCode()).isEqualTo(200);
    assertThat(text(whole)).isEqualTo("0123456789");
    assertThat(origin.requests("/m")).isEqualTo(2);
  }

  @Test
  void aPurgeOrInvalidationDropsThePartialEntryToo() throws Exception {
    origin.route("/p", PartialContentIT::rangeOrigin);
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    proxy.get("/p", "Range", "bytes=-20");
    proxy.server.metrics().whenStored(1).get(20, TimeUnit.SECONDS);
    assertThat(proxy.send("POST", "/p").statusCode()).isEqualTo(200);
    assertThat(held()).isEmpty();
    assertThat(text(proxy.get("/p", "Range", "bytes=-20"))).isEqualTo("IJKLMNOPQRSTUVWXYZ!?");
    assertThat(origin.requests("/p")).isEqualTo(3);
  }
}
