package dev.zcproxy.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.CacheOutcome;
import dev.zcproxy.proxy.transfer.TransferMode;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The RAM tier ({@code cache.ram-size}): small bodies are kept in memory from their fill while the tier has room
 * (else after their first hit), and a hit from RAM answers exactly as the normal path does (headers, 304, HEAD,
 * Range); invalidation drops the copy, and bodies above {@code cache.ram-max-object-size} stay on sendfile.
 */
class RamTierIT extends OriginAndProxy {
  private static final String TOKEN = "test-admin-token-0123456789";

  private long hits;

  /** A GET that is a HIT, counted before it returns (a response is counted once its last byte left). */
  private HttpResponse<byte[]> hit(String path, String... headers) throws Exception {
    HttpResponse<byte[]> r = proxy.get(path, headers);
    assertThat(r.headers().firstValue("x-cache")).as("x-cache of %s", path).hasValue("HIT");
    proxy.server.metrics().whenResponses(CacheOutcome.HIT, ++hits).get(10, TimeUnit.SECONDS);
    return r;
  }

  /** Sendfile and copy responses before the hits: the misses' fill readers send with sendfile (or copy) too. */
  private long sendfileBase;

  private void missesCounted(long n) throws Exception {
    proxy.server.metrics().whenStored(n).get(20, TimeUnit.SECONDS);
    proxy.server.metrics().whenResponses(CacheOutcome.MISS, n).get(10, TimeUnit.SECONDS);
    sendfileBase = proxy.server.metrics().responses(TransferMode.SENDFILE) + proxy.server.metrics().responses(TransferMode.COPY);
  }

  /** Hits from the cache file: by sendfile, or (small bodies, read whole with their head) as a copy. */
  private long sendfileHits() {
    return proxy.server.metrics().responses(TransferMode.SENDFILE) + proxy.server.metrics().responses(TransferMode.COPY)
        - sendfileBase;
  }

  private static Map<String, java.util.List<String>> headersOf(HttpResponse<?> r) {
    return new TreeMap<>(r.headers().map());
  }

  @Test
  void aSmallBodyIsKeptFromItsFillWhileTheTierHasRoomSoItsFirstHitIsFromRam() throws Exception {
    byte[] body = CachingIT.body(1024, 5);
    origin.serve("/first", body, "Cache-Control", "max-age=600");
    proxy = ProxyFixture.start(origin.url(), cacheDir);

    proxy.get("/first");
    missesCounted(1);
    proxy.server.metrics().whenRamLoaded(1).get(10, TimeUnit.SECONDS); // read in after the fill, before any hit
    assertThat(hit("/first").body()).isEqualTo(body);
    assertThat(sendfileHits()).isZero();
    assertThat(proxy.server.metrics().responses(TransferMode.RAM)).isEqualTo(1);
    assertThat(proxy.server.metrics().ramObjects()).isEqualTo(1);
    assertThat(origin.requests("/first")).isEqualTo(1);
  }

  @Test
  void theHitHeadIsEncodedAtTheFillSoNoHitEncodesItAndEveryHitHasTheSameBytes() throws Exception {
    byte[] body = CachingIT.body(1024, 8);
    origin.serve("/headed", body, "Cache-Control", "max-age=600", "ETag", "\"h1\"", "Content-Type", "application/x-test");
    proxy = ProxyFixture.start(origin.url(), cacheDir);

    proxy.get("/headed");
    missesCounted(1);
    proxy.server.metrics().whenRamLoaded(1).get(10, TimeUnit.SECONDS);
    assertThat(proxy.server.metrics().ramHeads()).as("heads encoded by the fill, before any hit").isEqualTo(1);
    HttpResponse<byte[]> first = hit("/headed");
    HttpResponse<byte[]> second = hit("/headed");
    assertThat(proxy.server.metrics().ramHeads()).as("heads encoded after two hits").isEqualTo(1);
    assertThat(proxy.server.metrics().responses(TransferMode.RAM)).isEqualTo(2);
    assertThat(first.body()).isEqualTo(body);
    assertThat(second.body()).isEqualTo(body);
    // the normal path's answer (a validator that does not match: the Vert.x response) has the same fields
    HttpResponse<byte[]> normal = hit("/headed", "If-None-Match", "\"other\"");
    assertThat(headersOf(first)).isEqualTo(headersOf(normal)).isEqualTo(headersOf(second));
    assertThat(normal.body()).isEqualTo(body);
    assertThat(origin.requests("/headed")).isEqualTo(1);
  }

  /**
   * A store's file generations carry its random session in their top bits, so half of all stores hand out
   * negative generations; a fill once took a negative one for "not kept in RAM" and encoded no hit head (and
   * dropped no body it should drop) in those stores. Eight fresh stores miss all negative ones 1 time in 256.
   */
  @Test
  void theHitHeadIsEncodedAtTheFillInEveryStoreWhateverTheSignOfItsGenerations() throws Exception {
    byte[] body = CachingIT.body(1024, 9);
    origin.serve("/signed", body, "Cache-Control", "max-age=600");
    for (int store = 0; store < 8; store++) {
      proxy = ProxyFixture.start(origin.url(), java.nio.file.Files.createDirectory(cacheDir.resolve("store-" + store)));
      try {
        assertThat(proxy.get("/signed").body()).isEqualTo(body);
        proxy.server.metrics().whenStored(1).get(20, TimeUnit.SECONDS);
        assertThat(proxy.server.metrics().ramHeads()).as("heads encoded by the fill in store %d", store).isEqualTo(1);
      } finally {
        proxy.close();
        proxy = null;
      }
    }
    assertThat(origin.requests("/signed")).isEqualTo(8);
  }

  @Test
  void aSmallBodyKeptFromItsFillIsNotReadBackFromItsFile() throws Exception {
    byte[] body = CachingIT.body(1024, 6);
    origin.serve("/kept", body, "Cache-Control", "max-age=600");
    proxy = ProxyFixture.start(origin.url(), cacheDir);

    assertThat(proxy.get("/kept").body()).isEqualTo(body);
    missesCounted(1);
    proxy.server.metrics().whenRamLoaded(1).get(10, TimeUnit.SECONDS);
    // The fill hands the bytes it received to the tier: no open(2) and read of the published file (the
    // open-file cache would keep it open), only the fill's own channel, closed once its reader ended.
    String dir = cacheDir.toRealPath() + "/";
    java.util.List<String> open = openUnder(dir);
    for (int i = 0; i < 250 && !open.isEmpty(); i++) {
      Thread.sleep(20); // the fill's reader channel closes on the cache-io pool
      open = openUnder(dir);
    }
    assertThat(open).as("cache files open after the fill").isEmpty();
    assertThat(hit("/kept").body()).isEqualTo(body);
    assertThat(sendfileHits()).isZero();
    assertThat(proxy.server.metrics().responses(TransferMode.RAM)).isEqualTo(1);
    assertThat(origin.requests("/kept")).isEqualTo(1);
  }

  private static java.util.List<String> openUnder(String dir) throws java.io.IOException {
    java.util.List<String> out = new java.util.ArrayList<>();
    try (var links = java.nio.file.Files.list(java.nio.file.Path.of("/proc/self/fd"))) {
      for (java.nio.file.Path link : (Iterable<java.nio.file.Path>) links::iterator) {
        try {
          String target = java.nio.file.Files.readSymbolicLink(link).toString();
          if (target.startsWith(dir) && target.substring(dir.length()).matches("([0-9a-f]/[0-9a-f]{2}|tmp)/.*")) { // entry files, not the journal
            out.add(target);
          }
        } catch (java.io.IOException closed) {
          // closed between list and read
        }
      }
    }
    return out;
  }

  @Test
  void aSmallHitIsWrittenFromRamAndAnswersExactlyAsTheNormalPathDoes() throws Exception {
    byte[] body = CachingIT.body(1024, 7);
    origin.serve("/small", body, "Cache-Control", "max-age=600", "ETag", "\"v1\"", "Content-Type", "application/x-test");
    proxy = ProxyFixture.start(origin.url(), cacheDir);

    proxy.get("/small");
    missesCounted(1);
    proxy.server.metrics().whenRamLoaded(1).get(10, TimeUnit.SECONDS);

    HttpResponse<byte[]> fromRam = hit("/small");
    assertThat(proxy.server.metrics().responses(TransferMode.RAM)).isEqualTo(1);
    assertThat(proxy.server.metrics().bytes(TransferMode.RAM)).isEqualTo(1024);
    assertThat(fromRam.statusCode()).isEqualTo(200);
    assertThat(fromRam.body()).isEqualTo(body);
    assertThat(fromRam.headers().firstValue("content-length")).hasValue("1024");
    // a validator that does not match: 200 by the normal path (the Vert.x response) from the same body
    HttpResponse<byte[]> normal = hit("/small", "If-None-Match", "\"other\"");
    assertThat(normal.body()).isEqualTo(body);
    assertThat(headersOf(fromRam)).isEqualTo(headersOf(normal));

    HttpResponse<byte[]> head = proxy.send("HEAD", "/small");
    assertThat(head.statusCode()).isEqualTo(200);
    assertThat(head.body()).isEmpty();
    assertThat(head.headers().firstValue("content-length")).hasValue("1024");

    HttpResponse<byte[]> notModified = hit("/small", "If-None-Match", "\"v1\"");
    assertThat(notModified.statusCode()).isEqualTo(304);
    assertThat(notModified.body()).isEmpty();

    HttpResponse<byte[]> part = hit("/small", "Range", "bytes=10-19");
    assertThat(part.statusCode()).isEqualTo(206);
    assertThat(part.headers().firstValue("content-range")).hasValue("bytes 10-19/1024");
    assertThat(part.body()).isEqualTo(Arrays.copyOfRange(body, 10, 20));

    HttpResponse<byte[]> tail = hit("/small", "Range", "bytes=-4");
    assertThat(tail.statusCode()).isEqualTo(206);
    assertThat(tail.body()).isEqualTo(Arrays.copyOfRange(body, 1020, 1024));

    HttpResponse<byte[]> unsatisfiable = hit("/small", "Range", "bytes=5000-");
    assertThat(unsatisfiable.statusCode()).isEqualTo(416);

    assertThat(proxy.server.metrics().responses(TransferMode.RAM)).isEqualTo(4); // the 200s and the two 206s
    assertThat(sendfileHits()).isZero();
    assertThat(origin.requests("/small")).isEqualTo(1);
    assertThat(proxy.server.metrics().ramObjects()).isEqualTo(1);
  }

  @Test
  void aPurgeDropsTheRamCopyAndTheNewBodyIsServed() throws Exception {
    AtomicReference<byte[]> current = new AtomicReference<>(CachingIT.body(2000, 1));
    origin.route("/p", req -> req.response().putHeader("Cache-Control", "max-age=600")
        .end(io.vertx.core.buffer.Buffer.buffer(current.get())));
    proxy = ProxyFixture.start(origin.url(), cacheDir, "admin.token: " + TOKEN);
    byte[] first = current.get();

    proxy.get("/p");
    proxy.server.metrics().whenStored(1).get(20, TimeUnit.SECONDS);
    proxy.server.metrics().whenRamLoaded(1).get(10, TimeUnit.SECONDS); // from its fill
    assertThat(hit("/p").body()).isEqualTo(first);
    assertThat(proxy.server.metrics().responses(TransferMode.RAM)).isEqualTo(1);

    // Same length, other bytes: only the file's identity can tell the two apart.
    byte[] second = CachingIT.body(2000, 2);
    current.set(second);
    HttpRequest purge = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.server.adminPort() + "/purge?url="
            + java.net.URLEncoder.encode(proxy.url("/p"), java.nio.charset.StandardCharsets.UTF_8)))
        .POST(HttpRequest.BodyPublishers.noBody()).header("Authorization", "Bearer " + TOKEN).build();
    assertThat(proxy.client.send(purge, HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
    for (int i = 0; i < 500 && proxy.server.metrics().ramObjects() > 0; i++) {
      Thread.sleep(10); // the store tells the RAM tier on its I/O executor; bounded wait
    }
    assertThat(proxy.server.metrics().ramObjects()).as("RAM copies after the purge").isZero();

    HttpResponse<byte[]> refetched = proxy.get("/p");
    assertThat(refetched.headers().firstValue("x-cache")).hasValue("MISS");
    assertThat(refetched.body()).isEqualTo(second);
    proxy.server.metrics().whenStored(2).get(20, TimeUnit.SECONDS);
    proxy.server.metrics().whenRamLoaded(2).get(10, TimeUnit.SECONDS);
    assertThat(hit("/p").body()).isEqualTo(second);
    assertThat(hit("/p").body()).isEqualTo(second);
    assertThat(proxy.server.metrics().responses(TransferMode.RAM)).isEqualTo(3);
    assertThat(origin.requests("/p")).isEqualTo(2);
  }

  /**
   * The front path answers a RAM hit's head from the RAM tier while the index entry it was encoded for is indexed:
   * a soft purge and the 304 it leads to change the entry in place (same file, same RAM body), and the next hits
   * carry the merged headers; a ban then ends the hits. Counted by origin requests.
   */
  @Test
  void aSoftPurgeItsMerged304AndABanAreSeenByTheNextHitsFromRam() throws Exception {
    AtomicReference<String> version = new AtomicReference<>("v1");
    byte[] body = CachingIT.body(2000, 3);
    origin.route("/q", req -> {
      req.response().putHeader("Cache-Control", "max-age=600").putHeader("ETag", "\"e1\"")
          .putHeader("X-Version", version.get());
      if ("\"e1\"".equals(req.getHeader("If-None-Match"))) {
        req.response().setStatusCode(304).end();
      } else {
        req.response().end(io.vertx.core.buffer.Buffer.buffer(body));
      }
    });
    proxy = ProxyFixture.start(origin.url(), cacheDir, "admin.token: " + TOKEN);
    proxy.get("/q");
    proxy.server.metrics().whenStored(1).get(20, TimeUnit.SECONDS);
    proxy.server.metrics().whenRamLoaded(1).get(10, TimeUnit.SECONDS);
    long front = proxy.server.metrics().frontHits();
    for (int i = 0; i < 3; i++) {
      HttpResponse<byte[]> r = hit("/q");
      assertThat(r.body()).isEqualTo(body);
      assertThat(r.headers().firstValue("x-version")).hasValue("v1");
    }
    long frontAfterFirst = proxy.server.metrics().frontHits();
    assertThat(frontAfterFirst - front).as("hits answered in front of Vert.x").isGreaterThanOrEqualTo(2);

    version.set("v2");
    assertThat(admin("/purge?url=" + encoded(proxy.url("/q")) + "&soft=true").statusCode()).isEqualTo(200);
    HttpResponse<byte[]> revalidated = proxy.get("/q");
    assertThat(revalidated.body()).isEqualTo(body);
    assertThat(revalidated.headers().firstValue("x-version")).hasValue("v2");
    assertThat(origin.requests("/q")).isEqualTo(2); // the fill and the 304
    for (int i = 0; i < 3; i++) {
      HttpResponse<byte[]> r = hit("/q");
      assertThat(r.body()).isEqualTo(body);
      assertThat(r.headers().firstValue("x-version")).as("hit %d after the merge", i).hasValue("v2");
    }
    assertThat(proxy.server.metrics().frontHits()).as("front hits again after the merge").isGreaterThan(frontAfterFirst);
    assertThat(origin.requests("/q")).isEqualTo(2);

    assertThat(admin("/ban?header=X-Version&value=v2").statusCode()).isEqualTo(200);
    HttpResponse<byte[]> after = proxy.get("/q");
    assertThat(after.headers().firstValue("x-cache")).hasValue("MISS");
    assertThat(after.body()).isEqualTo(body);
    assertThat(origin.requests("/q")).isEqualTo(3);
  }

  private HttpResponse<String> admin(String pathAndQuery) throws Exception {
    HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.server.adminPort() + pathAndQuery))
        .POST(HttpRequest.BodyPublishers.noBody()).header("Authorization", "Bearer " + TOKEN).build();
    return proxy.client.send(req, HttpResponse.BodyHandlers.ofString());
  }

  private static String encoded(String s) {
    return java.net.URLEncoder.encode(s, java.nio.charset.StandardCharsets.UTF_8);
  }

  @Test
  void bodiesAboveTheThresholdStayOnSendfile() throws Exception {
    byte[] big = CachingIT.body(4096, 3);
    byte[] small = CachingIT.body(100, 4);
    origin.serve("/big", big, "Cache-Control", "max-age=600");
    origin.serve("/tiny", small, "Cache-Control", "max-age=600");
    proxy = ProxyFixture.start(origin.url(), cacheDir, "cache.ram-max-object-size: 4095B");

    proxy.get("/big");
    proxy.get("/tiny");
    missesCounted(2);
    proxy.server.metrics().whenRamLoaded(1).get(10, TimeUnit.SECONDS); // the tiny one, from its fill
    for (int i = 0; i < 3; i++) {
      assertThat(hit("/big").body()).isEqualTo(big);
    }
    assertThat(hit("/tiny").body()).isEqualTo(small);
    assertThat(hit("/tiny").body()).isEqualTo(small);
    assertThat(hit("/big").body()).isEqualTo(big);
    assertThat(sendfileHits()).isEqualTo(4);
    assertThat(proxy.server.metrics().responses(TransferMode.RAM)).isEqualTo(2);
    assertThat(proxy.server.metrics().ramObjects()).isEqualTo(1);
  }

  /**
   * A full tier reads a body only once its policy kept a probe of it: before, every file hit of a body the tier
   * turned away read it in again (4-5 reads per key, loadtest/results/KEYS-2026-12-03.md). 1,400 B bodies weigh about
   * 1,400 B + their head and the meta it pins each (~2.5 KB): two fit in 6 KiB (kept from their fill), a third does not. Its hits stay on sendfile
   * with no read while W-TinyLFU turns its probe away (the two were hit three times each), until it was seen often
   * enough to displace one of them; then it is read exactly once and that one body counts as evicted.
   */
  @Test
  void aFullTierReadsABodyOnlyOnceItsPolicyKeptItAndCountsTheBodyItDisplaced() throws Exception {
    byte[][] bodies = new byte[3][];
    for (int i = 0; i < 3; i++) {
      bodies[i] = CachingIT.body(1400, 20 + i);
      origin.serve("/k" + i, bodies[i], "Cache-Control", "max-age=600");
    }
    proxy = ProxyFixture.start(origin.url(), cacheDir, "cache.ram-size: 6KiB");
    for (int i = 0; i < 3; i++) {
      proxy.get("/k" + i);
      proxy.server.metrics().whenStored(i + 1).get(20, TimeUnit.SECONDS); // one fill after the other: room is known
    }
    missesCounted(3);
    proxy.server.metrics().whenRamLoaded(2).get(10, TimeUnit.SECONDS); // the two kept from their fills
    assertThat(proxy.server.metrics().ramObjects()).isEqualTo(2);
    assertThat(proxy.server.metrics().ramEvictions()).isZero();

    for (int round = 0; round < 3; round++) { // the two kept are the often-hit ones: a newcomer must earn its place
      assertThat(hit("/k0").body()).isEqualTo(bodies[0]);
      assertThat(hit("/k1").body()).isEqualTo(bodies[1]);
    }
    assertThat(sendfileHits()).isZero();
    long ramBefore = proxy.server.metrics().responses(TransferMode.RAM);
    int fileHits = 0;
    while (proxy.server.metrics().responses(TransferMode.RAM) == ramBefore && fileHits < 40) {
      assertThat(hit("/k2").body()).isEqualTo(bodies[2]);
      if (proxy.server.metrics().responses(TransferMode.RAM) == ramBefore) {
        fileHits++;
        assertThat(proxy.server.metrics().ramLoads()).as("bodies read after %d file hits of /k2", fileHits)
            .isLessThanOrEqualTo(3);
      }
    }
    assertThat(proxy.server.metrics().responses(TransferMode.RAM)).as("/k2 answered from RAM at last").isGreaterThan(ramBefore);
    long turnedAway = proxy.server.metrics().ramTurnedAway();
    assertThat(turnedAway).as("probes of /k2 turned away, each without a read").isPositive();
    assertThat(fileHits).as("file hits of /k2 before it was read in: a probe turned away, one kept, the read")
        .isGreaterThan(2);
    assertThat(sendfileHits()).isEqualTo(fileHits);
    assertThat(proxy.server.metrics().ramLoads()).as("/k2 read once, however many file hits it took").isEqualTo(3);
    assertThat(proxy.server.metrics().ramObjects()).isEqualTo(2); // settles the tier's pending maintenance first
    assertThat(proxy.server.metrics().ramEvictions()).as("the one body /k2 displaced").isEqualTo(1);
    // every body still answers from the cache: the eviction dropped a copy in RAM, not the entry
    for (int i = 0; i < 3; i++) {
      assertThat(proxy.get("/k" + i).body()).isEqualTo(bodies[i]);
    }
    assertThat(origin.requests("/k0") + origin.requests("/k1") + origin.requests("/k2")).isEqualTo(3);
  }

  @Test
  void withTheTierOffEveryHitUsesSendfile() throws Exception {
    byte[] small = CachingIT.body(100, 4);
    origin.serve("/tiny", small, "Cache-Control", "max-age=600");
    proxy = ProxyFixture.start(origin.url(), cacheDir, "cache.ram-size: 0");
    proxy.get("/tiny");
    missesCounted(1);
    for (int i = 0; i < 3; i++) {
      assertThat(hit("/tiny").body()).isEqualTo(small);
    }
    assertThat(sendfileHits()).isEqualTo(3);
    assertThat(proxy.server.metrics().responses(TransferMode.RAM)).isZero();
  }
}
