package dev.zcproxy.proxy.it;

import static dev.zcproxy.proxy.it.FastHitIT.read;
import static dev.zcproxy.proxy.it.FastHitIT.readHead;
import static dev.zcproxy.proxy.it.FastHitIT.send;
import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.CacheOutcome;
import dev.zcproxy.proxy.it.FastHitIT.Response;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A keep-alive client that sends the same head bytes again on its connection: the front path reuses what it decided
 * from the head alone (fields, site, key), and still asks the index and the clock for every request. So the
 * repeated head gets the bytes the first one got, and an entry that was purged, soft-purged, banned, replaced, gone
 * stale or replaced by a {@code Vary} response is never served from what the connection saw before: the origin's
 * request count proves each miss. A head that differs by one field, and a hostile head behind a repeated one, go
 * their own way.
 */
class RepeatedHeadIT extends OriginAndProxy {
  private static final String TOKEN = "test-admin-token-0123456789";
  private static final byte[] OLD = CachingIT.body(1024, 3);
  private static final byte[] NEW = CachingIT.body(1024, 4);
  /** Whether this run has the front path on (the default). */
  private static final boolean FRONT = !"false".equals(System.getProperty("zcproxy.it.frontHits"));

  @RegisterExtension
  final RawConnections raw = new RawConnections(() -> proxy);
  private String get;

  @BeforeEach
  void start() throws Exception {
    origin.serve("/f", OLD, "Cache-Control", "max-age=600", "ETag", "\"old\"");
    proxy = ProxyFixture.start(origin.url(), cacheDir, "admin.token: " + TOKEN);
    get = "GET /f HTTP/1.1\r\nHost: " + raw.host() + "\r\nUser-Agent: repeat\r\nAccept: */*\r\n\r\n";
    warm(1);
  }

  /** A miss (its fill reads the body into RAM) and a first hit: the next hit of /f can be a front hit. */
  private void warm(int nth) throws Exception {
    assertThat(proxy.get("/f").statusCode()).isEqualTo(200);
    proxy.server.metrics().whenStored(nth).get(20, TimeUnit.SECONDS);
    proxy.server.metrics().whenRamLoaded(nth).get(10, TimeUnit.SECONDS);
  }

  /** Sends {@code get} {@code n} times on {@code s}, one at a time; every answer must be a hit with {@code body}. */
  private void hits(Socket s, int n, byte[] body) throws Exception {
    for (int i = 0; i < n; i++) {
      send(s, get);
      Response r = read(s);
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.field("cache-status")).isEqualTo("zcproxy; hit");
      assertThat(name(r.body())).isEqualTo(name(body));
    }
  }

  /** Which body {@code b} is, for short failure messages. */
  private static String name(byte[] b) {
    return Arrays.equals(b, OLD) ? "OLD" : Arrays.equals(b, NEW) ? "NEW" : "other (" + b.length + " bytes)";
  }

  @Test
  void aRepeatedHeadGetsTheBytesOfTheFirstAndOfAnotherConnection() throws Exception {
    long front = proxy.server.metrics().frontHits();
    Socket s = raw.connect();
    send(s, get);
    byte[] first = FrontHitIT.raw(read(s));
    send(s, get + get + get); // pipelined repeats in one read
    byte[][] repeated = {FrontHitIT.raw(read(s)), FrontHitIT.raw(read(s)), FrontHitIT.raw(read(s))};
    Socket other = raw.connect();
    send(other, get);
    byte[] elsewhere = FrontHitIT.raw(read(other));
    // the fake clock stands still: Age is the same
    for (byte[] r : repeated) {
      assertThat(new String(r, StandardCharsets.ISO_8859_1)).isEqualTo(new String(first, StandardCharsets.ISO_8859_1));
    }
    assertThat(new String(elsewhere, StandardCharsets.ISO_8859_1)).isEqualTo(new String(first, StandardCharsets.ISO_8859_1));
    proxy.advance(Duration.ofSeconds(7));
    send(s, get);
    Response later = read(s);
    assertThat(later.lastField()).as("Age is the clock's, not the first answer's").isEqualTo("Age: 7");
    proxy.server.metrics().whenResponses(CacheOutcome.HIT, 6).get(10, TimeUnit.SECONDS);
    assertThat(proxy.server.metrics().frontHits()).isEqualTo(front + (FRONT ? 6 : 0));
    assertThat(origin.requests("/f")).isEqualTo(1);
  }

  @Test
  void aPurgedEntryIsFetchedAgainOnTheConnectionThatRepeatsItsHead() throws Exception {
    Socket s = raw.connect();
    hits(s, 3, OLD);
    origin.serve("/f", NEW, "Cache-Control", "max-age=600", "ETag", "\"new\"");
    admin("POST", "/purge?url=" + enc(proxy.url("/f")));
    send(s, get);
    Response after = read(s);
    assertThat(name(after.body())).isEqualTo("NEW");
    assertThat(after.field("cache-status")).doesNotContain("hit");
    assertThat(origin.requests("/f")).isEqualTo(2);
    proxy.server.metrics().whenStored(2).get(20, TimeUnit.SECONDS);
    proxy.server.metrics().whenRamLoaded(2).get(10, TimeUnit.SECONDS);
    hits(s, 3, NEW);
    assertThat(origin.requests("/f")).isEqualTo(2);
  }

  @Test
  void aSoftPurgedEntryIsRevalidatedOnTheConnectionThatRepeatsItsHead() throws Exception {
    Socket s = raw.connect();
    hits(s, 3, OLD);
    admin("POST", "/purge?soft=true&url=" + enc(proxy.url("/f")));
    proxy.advance(Duration.ofSeconds(1));
    send(s, get);
    Response after = read(s);
    assertThat(name(after.body())).isEqualTo("OLD");
    assertThat(after.field("cache-status")).as("not a fresh hit").isNotEqualTo("zcproxy; hit");
    assertThat(origin.requests("/f")).isEqualTo(2);
  }

  @Test
  void aBannedEntryIsFetchedAgainOnTheConnectionThatRepeatsItsHead() throws Exception {
    Socket s = raw.connect();
    hits(s, 3, OLD);
    origin.serve("/f", NEW, "Cache-Control", "max-age=600", "ETag", "\"new\"");
    proxy.advance(Duration.ofSeconds(1)); // the ban applies to what was stored before it
    admin("POST", "/ban?prefix=" + enc("http://127.0.0.1:" + proxy.server.port() + "/f"));
    send(s, get);
    Response after = read(s);
    assertThat(name(after.body())).isEqualTo("NEW");
    assertThat(after.field("cache-status")).doesNotContain("hit");
    assertThat(origin.requests("/f")).isEqualTo(2);
  }

  @Test
  void aReplacedEntryIsServedNewOnTheConnectionThatRepeatsItsHead() throws Exception {
    Socket s = raw.connect();
    hits(s, 3, OLD);
    origin.serve("/f", NEW, "Cache-Control", "max-age=600", "ETag", "\"new\"");
    // another client reloads: the origin's new response replaces the entry
    assertThat(name(proxy.get("/f", "Cache-Control", "no-cache").body())).isEqualTo("NEW");
    proxy.server.metrics().whenStored(2).get(20, TimeUnit.SECONDS);
    assertThat(origin.requests("/f")).isEqualTo(2);
    for (int i = 0; i < 3; i++) {
      send(s, get);
      Response r = read(s);
      assertThat(name(r.body())).as("request %d after the replacement", i).isEqualTo("NEW");
      assertThat(r.field("etag")).isEqualTo("\"new\"");
    }
    assertThat(origin.requests("/f")).isEqualTo(2);
  }

  @Test
  void anExpiredEntryIsNotServedFreshOnTheConnectionThatRepeatsItsHead() throws Exception {
    Socket s = raw.connect();
    hits(s, 3, OLD);
    proxy.advance(Duration.ofSeconds(601));
    send(s, get);
    Response after = read(s);
    assertThat(name(after.body())).isEqualTo("OLD");
    assertThat(after.field("cache-status")).as("not a fresh hit").isNotEqualTo("zcproxy; hit");
    assertThat(origin.requests("/f")).isEqualTo(2);
  }

  @Test
  void aReplacedVariantIsServedNewAndTheOtherVariantStaysItsOwn() throws Exception {
    // the origin varies on Accept: the repeated head (Accept: */*) and a JSON client each get their own variant
    java.util.concurrent.atomic.AtomicReference<byte[]> any = new java.util.concurrent.atomic.AtomicReference<>(OLD);
    origin.route("/v", req -> {
      boolean json = "application/json".equals(req.getHeader("Accept"));
      req.response().putHeader("Cache-Control", "max-age=600").putHeader("Vary", "Accept")
          .end(io.vertx.core.buffer.Buffer.buffer(json ? "json".getBytes(StandardCharsets.US_ASCII) : any.get()));
    });
    get = get.replace("GET /f ", "GET /v ");
    Socket s = raw.connect();
    send(s, get);
    assertThat(name(read(s).body())).isEqualTo("OLD");
    proxy.server.metrics().whenStored(2).get(20, TimeUnit.SECONDS);
    proxy.server.metrics().whenRamLoaded(2).get(10, TimeUnit.SECONDS);
    hits(s, 3, OLD);
    assertThat(new String(proxy.get("/v", "Accept", "application/json").body(), StandardCharsets.US_ASCII)).isEqualTo("json");
    proxy.server.metrics().whenStored(3).get(20, TimeUnit.SECONDS);
    assertThat(new String(proxy.get("/v", "Accept", "application/json").body(), StandardCharsets.US_ASCII)).isEqualTo("json");
    hits(s, 2, OLD);
    assertThat(origin.requests("/v")).isEqualTo(2);
    // the */* variant is replaced by another client's reload: the repeating connection gets the new one
    any.set(NEW);
    assertThat(name(proxy.get("/v", "Accept", "*/*", "Cache-Control", "no-cache").body())).isEqualTo("NEW");
    proxy.server.metrics().whenStored(4).get(20, TimeUnit.SECONDS);
    for (int i = 0; i < 3; i++) {
      send(s, get);
      assertThat(name(read(s).body())).as("request %d after the replacement", i).isEqualTo("NEW");
    }
    assertThat(new String(proxy.get("/v", "Accept", "application/json").body(), StandardCharsets.US_ASCII)).isEqualTo("json");
    assertThat(origin.requests("/v")).isEqualTo(3);
  }

  @Test
  void aHeadThatDiffersByOneFieldAndAHostileHeadBehindARepeatGoTheirOwnWay() throws Exception {
    Socket s = raw.connect();
    hits(s, 2, OLD);
    String ranged = get.substring(0, get.length() - 2) + "Range: bytes=0-9\r\n\r\n";
    send(s, get + ranged);
    assertThat(name(read(s).body())).isEqualTo("OLD");
    Response part = read(s);
    assertThat(part.status()).isEqualTo(206);
    assertThat(part.body()).isEqualTo(Arrays.copyOf(OLD, 10));
    // the repeated head, then one with a second Host: the decoder's 400, and nothing reaches the origin
    send(s, get + "GET /f HTTP/1.1\r\nHost: " + raw.host() + "\r\nHost: evil.test\r\n\r\n");
    assertThat(name(read(s).body())).isEqualTo("OLD");
    assertThat(readHead(s).status()).isEqualTo(400);
    assertThat(origin.requests("/f")).isEqualTo(1);
    assertThat(origin.totalRequests()).isEqualTo(1);
  }

  @Test
  void aLongHeadIsAnsweredRightEachTimeAndAPurgeStillReachesIt() throws Exception {
    long front = proxy.server.metrics().frontHits();
    get = get.substring(0, get.length() - 2) + "X-Pad: " + "p".repeat(1500) + "\r\n\r\n"; // longer than what is kept
    Socket s = raw.connect();
    hits(s, 3, OLD);
    proxy.server.metrics().whenResponses(CacheOutcome.HIT, 3).get(10, TimeUnit.SECONDS);
    assertThat(proxy.server.metrics().frontHits()).isEqualTo(front + (FRONT ? 3 : 0));
    origin.serve("/f", NEW, "Cache-Control", "max-age=600", "ETag", "\"new\"");
    admin("POST", "/purge?url=" + enc(proxy.url("/f")));
    send(s, get);
    assertThat(name(read(s).body())).isEqualTo("NEW");
    assertThat(origin.requests("/f")).isEqualTo(2);
  }

  // ---------------------------------------------------------------- helpers

  private void admin(String method, String pathAndQuery) throws Exception {
    HttpRequest r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.server.adminPort() + pathAndQuery))
        .method(method, HttpRequest.BodyPublishers.noBody()).header("Authorization", "Bearer " + TOKEN).build();
    HttpResponse<String> resp = proxy.client.send(r, HttpResponse.BodyHandlers.ofString());
    assertThat(resp.statusCode()).as(resp.body()).isEqualTo(200);
  }

  private static String enc(String s) {
    return java.net.URLEncoder.encode(s, StandardCharsets.UTF_8);
  }
}
