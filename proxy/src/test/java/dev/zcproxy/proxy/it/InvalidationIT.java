package dev.zcproxy.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Soft purge, bans and surrogate keys through the admin API against a real origin: what the admin
 * call answered, what clients get next, and (by counting origin requests) what the cache still holds.
 */
class InvalidationIT extends OriginAndProxy {
  private static final String TOKEN = "test-admin-token-0123456789";

  private ProxyFixture startProxy(String... extra) throws Exception {
    String[] all = new String[extra.length + 1];
    all[0] = "admin.token: " + TOKEN;
    System.arraycopy(extra, 0, all, 1, extra.length);
    return ProxyFixture.start(origin.url(), cacheDir, all);
  }

  private HttpResponse<String> admin(String method, String pathAndQuery) throws Exception {
    HttpRequest r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.server.adminPort() + pathAndQuery))
        .method(method, HttpRequest.BodyPublishers.noBody()).header("Authorization", "Bearer " + TOKEN).build();
    return proxy.client.send(r, HttpResponse.BodyHandlers.ofString());
  }

  private JsonObject adminOk(String method, String pathAndQuery) throws Exception {
    HttpResponse<String> r = admin(method, pathAndQuery);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-type")).hasValue("application/json");
    return new JsonObject(r.body());
  }

  private String abs(String path) {
    return "http://127.0.0.1:" + proxy.server.port() + path;
  }

  private static String enc(String s) {
    return java.net.URLEncoder.encode(s, java.nio.charset.StandardCharsets.UTF_8);
  }

  private String xcache(String path) throws Exception {
    return proxy.get(path).headers().firstValue("x-cache").orElse("none");
  }

  @Test
  void softPurgeRevalidatesNextAndStaleIfErrorStillServesIt() throws Exception {
    origin.route("/s", req -> {
      if ("\"v1\"".equals(req.getHeader("If-None-Match"))) {
        req.response().setStatusCode(304).putHeader("ETag", "\"v1\"")
            .putHeader("Cache-Control", "max-age=600, stale-if-error=600").end();
      } else {
        req.response().putHeader("ETag", "\"v1\"").putHeader("Cache-Control", "max-age=600, stale-if-error=600")
            .end("soft body");
      }
    });
    proxy = startProxy();
    proxy.get("/s");
    proxy.server.metrics().whenStored(1).get(20, TimeUnit.SECONDS);
    assertThat(xcache("/s")).isEqualTo("HIT");

    JsonObject marked = adminOk("POST", "/purge?soft=true&url=" + enc(abs("/s")));
    assertThat(marked.getInteger("marked_stale")).isEqualTo(1);
    proxy.advance(Duration.ofSeconds(1));

    int before = origin.requests("/s");
    HttpResponse<byte[]> r = proxy.get("/s");
    assertThat(new String(r.body())).isEqualTo("soft body");
    assertThat(r.headers().firstValue("x-cache")).hasValue("REVALIDATED");
    assertThat(origin.requests("/s")).isEqualTo(before + 1);
    assertThat(origin.lastRequestHeaders().get("If-None-Match")).isEqualTo("\"v1\"");
    // Revalidated: fresh again, a HIT without the origin.
    assertThat(xcache("/s")).isEqualTo("HIT");
    assertThat(origin.requests("/s")).isEqualTo(before + 1);

    // Soft purge again, then the origin goes away: stale-if-error serves the marked entry.
    assertThat(adminOk("POST", "/purge?soft=true&url=" + enc(abs("/s"))).getInteger("marked_stale")).isEqualTo(1);
    proxy.advance(Duration.ofSeconds(1));
    origin.close();
    HttpResponse<byte[]> stale = proxy.get("/s");
    assertThat(stale.statusCode()).isEqualTo(200);
    assertThat(new String(stale.body())).isEqualTo("soft body");
    assertThat(stale.headers().firstValue("x-cache")).hasValue("STALE");
    origin = FixtureOrigin.start(); // for OriginAndProxy's @AfterEach
    assertThat(admin("GET", "/metrics").body()).contains("zcproxy_soft_purges_total 2.0");
  }

  /** Fills {@code paths} through the proxy (each a MISS) and waits until all are stored. */
  private void fill(java.util.List<String> paths) throws Exception {
    long stored = proxy.server.metrics().toJson().isEmpty() ? 0 : new JsonObject(proxy.server.metrics().toJson())
        .getJsonObject("cache").getLong("stored");
    for (String p : paths) {
      assertThat(proxy.get(p).statusCode()).isEqualTo(200);
    }
    proxy.server.metrics().whenStored(stored + paths.size()).get(60, TimeUnit.SECONDS);
  }

  private static java.util.List<String> paths(String prefix, int n) {
    return java.util.stream.IntStream.range(0, n).mapToObj(i -> prefix + i).toList();
  }

  private void serveAll(java.util.List<String> paths, String... headers) {
    for (String p : paths) {
      origin.serve(p, ("body of " + p).getBytes(java.nio.charset.StandardCharsets.UTF_8), headers);
    }
  }

  /** Gets each path; returns how many were answered by the cache (the origin count did not move). */
  private int hits(java.util.List<String> paths) throws Exception {
    int hits = 0;
    for (String p : paths) {
      int before = origin.requests(p);
      HttpResponse<byte[]> r = proxy.get(p);
      assertThat(new String(r.body())).isEqualTo("body of " + p);
      if (origin.requests(p) == before) {
        hits++;
      }
    }
    return hits;
  }

  @Test
  void banByPrefixRemovesExactlyTheMatchingOnesOfThreeThousandAtLookup() throws Exception {
    java.util.List<String> img = paths("/img/", 1500);
    java.util.List<String> css = paths("/css/", 1500);
    serveAll(img, "Cache-Control", "max-age=600");
    serveAll(css, "Cache-Control", "max-age=600");
    proxy = startProxy();
    fill(img);
    fill(css);
    assertThat(proxy.server.store().entryCount()).isEqualTo(3000);
    proxy.advance(Duration.ofSeconds(1));

    JsonObject added = adminOk("POST", "/ban?prefix=" + enc(abs("/img/")));
    assertThat(added.getJsonObject("ban").getString("kind")).isEqualTo("prefix");
    assertThat(added.getJsonObject("ban").getString("expression")).isEqualTo("127.0.0.1:" + proxy.server.port() + "/img/");
    // Lazy: nothing was scanned or removed yet.
    assertThat(proxy.server.store().entryCount()).isEqualTo(3000);
    proxy.advance(Duration.ofSeconds(1));

    int originBefore = origin.totalRequests();
    assertThat(hits(css)).isEqualTo(1500);
    assertThat(origin.totalRequests()).isEqualTo(originBefore);
    assertThat(hits(img)).isZero();
    assertThat(origin.totalRequests()).isEqualTo(originBefore + 1500);

    JsonObject listed = adminOk("GET", "/bans");
    assertThat(listed.getJsonArray("bans")).hasSize(1);
    assertThat(listed.getJsonArray("bans").getJsonObject(0).getLong("removed")).isEqualTo(1500);
    // Refilled after the ban: HITs again.
    proxy.server.metrics().whenStored(4500).get(60, TimeUnit.SECONDS);
    assertThat(hits(img.subList(0, 100))).isEqualTo(100);
    String metrics = admin("GET", "/metrics").body();
    assertThat(metrics).contains("zcproxy_bans_total 1.0").contains("zcproxy_ban_matches_total 1500.0");
  }

  /** Polls (bounded) until {@code done}: Caffeine's removal notices run on the cache I/O pool. */
  private static void await(java.util.function.BooleanSupplier done, String what) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!done.getAsBoolean()) {
      assertThat(System.nanoTime()).as(what).isLessThan(deadline);
      Thread.sleep(20);
    }
  }

  @Test
  void regexBanOfTwoThousandIsSweptExactlyAndTheBanListShrinksOnceOlderObjectsExpire() throws Exception {
    java.util.List<String> all = paths("/old/", 2000);
    serveAll(all, "Cache-Control", "max-age=60");
    proxy = startProxy();
    fill(all);
    assertThat(proxy.server.store().entryCount()).isEqualTo(2000);
    proxy.advance(Duration.ofSeconds(1));

    adminOk("POST", "/ban?regex=" + enc("/old/[0-9]*[02468]$"));
    proxy.advance(Duration.ofSeconds(1));
    // The periodic sweep (every minute on the cache I/O pool) applies the ban to objects nobody asks for.
    proxy.server.store().sweepBans();
    assertThat(proxy.server.store().entryCount()).isEqualTo(1000);
    JsonObject listed = adminOk("GET", "/bans");
    assertThat(listed.getJsonArray("bans")).hasSize(1);
    assertThat(listed.getJsonArray("bans").getJsonObject(0).getLong("removed")).isEqualTo(1000);
    await(() -> proxy.server.store().removedExplicitly() >= 1000, "explicit removals counted");
    JsonObject shown = adminOk("GET", "/dashboard/snapshot");
    assertThat(shown.getJsonArray("invalidations").getJsonObject(0).getString("kind")).isEqualTo("ban");
    assertThat(shown.getJsonArray("invalidations").getJsonObject(0).getLong("removed")).isEqualTo(1000);

    java.util.List<String> even = new java.util.ArrayList<>();
    java.util.List<String> odd = new java.util.ArrayList<>();
    for (int i = 0; i < all.size(); i++) {
      (i % 2 == 0 ? even : odd).add(all.get(i));
    }
    int before = origin.totalRequests();
    assertThat(hits(odd)).isEqualTo(1000);
    assertThat(origin.totalRequests()).isEqualTo(before);
    assertThat(hits(even)).isZero();
    assertThat(origin.totalRequests()).isEqualTo(before + 1000);
    proxy.server.metrics().whenStored(3000).get(60, TimeUnit.SECONDS);
    // Objects older than the ban remain (the odd ones): it stays.
    proxy.server.store().sweepBans();
    assertThat(adminOk("GET", "/bans").getJsonArray("bans")).hasSize(1);

    // Once every object older than the ban has expired (max-age 60 s + cache.keep 1 h), the sweep drops it.
    proxy.advance(Duration.ofHours(2));
    proxy.server.store().cleanUp();
    await(() -> proxy.server.store().entryCount() == 0, "every object expired");
    proxy.server.store().sweepBans();
    assertThat(adminOk("GET", "/bans").getJsonArray("bans")).isEmpty();
    await(() -> proxy.server.store().evictedExpired() >= 2000, "expiries counted");
    assertThat(admin("GET", "/metrics").body()).containsPattern("zcproxy_cache_evictions_total\\{cause=\"expired\",?\\} 2000\\.0");
  }

  @Test
  void regexAndHeaderBansAndBadPatternsAreRefusedWithJson() throws Exception {
    java.util.List<String> a = paths("/r/a", 50);
    java.util.List<String> b = paths("/r/b", 50);
    serveAll(a, "Cache-Control", "max-age=600", "X-Owner", "team-a");
    serveAll(b, "Cache-Control", "max-age=600", "X-Owner", "team-b");
    proxy = startProxy();
    fill(a);
    fill(b);
    proxy.advance(Duration.ofSeconds(1));

    // Mutating calls need the admin token; the list is open like the other reads.
    HttpResponse<String> anonymous = proxy.client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
        + proxy.server.adminPort() + "/ban?prefix=" + enc(abs("/r/")))).POST(HttpRequest.BodyPublishers.noBody()).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(anonymous.statusCode()).isEqualTo(401);
    assertThat(new JsonObject(anonymous.body()).getString("error")).isNotEmpty();
    HttpResponse<String> bad = admin("POST", "/ban?regex=" + enc("(unclosed"));
    assertThat(bad.statusCode()).isEqualTo(400);
    assertThat(bad.headers().firstValue("content-type")).hasValue("application/json");
    assertThat(new JsonObject(bad.body()).getString("error")).contains("regex", "bad regular expression");
    assertThat(admin("POST", "/ban?regex=" + "x".repeat(2000)).statusCode()).isEqualTo(400);
    assertThat(admin("POST", "/ban?header=X-Owner").statusCode()).isEqualTo(400);
    assertThat(admin("POST", "/ban").statusCode()).isEqualTo(400);
    assertThat(adminOk("GET", "/bans").getJsonArray("bans")).isEmpty();

    adminOk("POST", "/ban?regex=" + enc("/r/a[0-9]*[05]$"));
    proxy.advance(Duration.ofSeconds(1));
    assertThat(hits(a)).isEqualTo(40); // a0, a5, a10, ... a45 banned
    proxy.advance(Duration.ofSeconds(1));
    adminOk("POST", "/ban?header=X-Owner&value=team-b");
    proxy.advance(Duration.ofSeconds(1));
    assertThat(hits(b)).isZero();
    assertThat(adminOk("GET", "/bans").getJsonArray("bans")).hasSize(2);
  }

  @Test
  void bansSurviveARestart() throws Exception {
    java.util.List<String> x = paths("/x/", 300);
    serveAll(x, "Cache-Control", "max-age=600");
    int port;
    try (java.net.ServerSocket free = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = free.getLocalPort(); // the same port after the restart: the cache keys name it
    }
    proxy = startProxy("listen.address: 127.0.0.1:" + port);
    fill(x);
    proxy.advance(Duration.ofSeconds(1));
    adminOk("POST", "/ban?prefix=" + enc(abs("/x/1")));
    long clock = proxy.clock.get();
    proxy.close();

    proxy = null;
    // the test waits for the index's rebuild itself: it need not wait for a first response or 1 s
    proxy = ProxyFixture.start(ProxyFixture.config(origin.url(), cacheDir, "admin.token: " + TOKEN,
        "listen.address: 127.0.0.1:" + port), s -> s.storeStartAfter(Duration.ZERO));
    proxy.clock.set(Math.max(proxy.clock.get(), clock) + 1000);
    proxy.server.store().scanned().get(30, TimeUnit.SECONDS);
    JsonObject listed = adminOk("GET", "/bans");
    assertThat(listed.getJsonArray("bans")).hasSize(1);
    // x/1, x/10..19, x/100..199: 111 banned of 300.
    assertThat(hits(x)).isEqualTo(300 - 111);
  }

  @Test
  void tagPurgeOfOneThousandOfThreeThousandAndTagsAreStrippedForClients() throws Exception {
    java.util.List<String> all = paths("/t/", 3000);
    for (int i = 0; i < all.size(); i++) {
      String p = all.get(i);
      // Every third object carries tag "red", in Fastly's or Cloudflare's header style.
      String tags = i % 3 == 0 ? "red common" : "blue common";
      if (i % 2 == 0) {
        origin.serve(p, ("body of " + p).getBytes(java.nio.charset.StandardCharsets.UTF_8), "Cache-Control", "max-age=600",
            "Surrogate-Key", tags);
      } else {
        origin.serve(p, ("body of " + p).getBytes(java.nio.charset.StandardCharsets.UTF_8), "Cache-Control", "max-age=600",
            "Cache-Tag", tags.replace(' ', ','));
      }
    }
    proxy = startProxy();
    HttpResponse<byte[]> first = proxy.get(all.get(0));
    assertThat(first.headers().firstValue("surrogate-key")).isEmpty();
    fill(all.subList(1, all.size()));
    proxy.server.metrics().whenStored(3000).get(60, TimeUnit.SECONDS);
    HttpResponse<byte[]> hit = proxy.get(all.get(1));
    assertThat(hit.headers().firstValue("x-cache")).hasValue("HIT");
    assertThat(hit.headers().firstValue("cache-tag")).isEmpty();

    JsonObject purged = adminOk("POST", "/purge?tag=red");
    assertThat(purged.getInteger("purged")).isEqualTo(1000);
    int before = origin.totalRequests();
    java.util.List<String> red = new java.util.ArrayList<>();
    java.util.List<String> blue = new java.util.ArrayList<>();
    for (int i = 0; i < all.size(); i++) {
      (i % 3 == 0 ? red : blue).add(all.get(i));
    }
    assertThat(hits(blue)).isEqualTo(2000);
    assertThat(origin.totalRequests()).isEqualTo(before);
    assertThat(hits(red)).isZero();
    assertThat(origin.totalRequests()).isEqualTo(before + 1000);
    // The refetched ones carry the tag again: the next tag purge removes exactly them.
    proxy.server.metrics().whenStored(4000).get(60, TimeUnit.SECONDS);
    assertThat(adminOk("POST", "/purge?tag=red").getInteger("purged")).isEqualTo(1000);
    assertThat(admin("GET", "/metrics").body()).contains("zcproxy_tag_purges_total 2.0");
  }

  @Test
  void softTagPurgeRevalidatesTheTaggedOnesAndKeepsTheTagsWhenConfiguredTo() throws Exception {
    java.util.concurrent.atomic.AtomicInteger notModified = new java.util.concurrent.atomic.AtomicInteger();
    for (String p : java.util.List.of("/g/1", "/g/2", "/g/3")) {
      origin.route(p, req -> {
        req.response().putHeader("ETag", "\"e\"").putHeader("Cache-Control", "max-age=600")
            .putHeader("Surrogate-Key", p.equals("/g/3") ? "other" : "group");
        if ("\"e\"".equals(req.getHeader("If-None-Match"))) {
          notModified.incrementAndGet();
          req.response().setStatusCode(304).end();
        } else {
          req.response().end("body of " + p);
        }
      });
    }
    proxy = startProxy("cache.strip-tag-headers: false");
    fill(java.util.List.of("/g/1", "/g/2", "/g/3"));
    assertThat(proxy.get("/g/1").headers().firstValue("surrogate-key")).hasValue("group");

    assertThat(adminOk("POST", "/purge?tag=group&soft=true").getInteger("marked_stale")).isEqualTo(2);
    proxy.advance(Duration.ofSeconds(1));
    assertThat(xcache("/g/1")).isEqualTo("REVALIDATED");
    assertThat(xcache("/g/2")).isEqualTo("REVALIDATED");
    assertThat(xcache("/g/3")).isEqualTo("HIT");
    assertThat(notModified.get()).isEqualTo(2);
  }

  @Test
  void entriesAreListedByPrefixBoundedAndOneEntryShowsItsStoredHead() throws Exception {
    java.util.List<String> many = paths("/e/", 1100);
    serveAll(many, "Cache-Control", "max-age=600", "X-Kind", "listed");
    serveAll(java.util.List.of("/other"), "Cache-Control", "max-age=600");
    proxy = startProxy();
    fill(many.subList(0, 5));
    fill(java.util.List.of("/other"));
    proxy.advance(Duration.ofSeconds(10));

    JsonObject five = adminOk("GET", "/entries?prefix=" + enc(abs("/e/")));
    assertThat(five.getBoolean("truncated")).isFalse();
    assertThat(five.getJsonArray("entries")).hasSize(5);
    JsonObject e = five.getJsonArray("entries").getJsonObject(0);
    assertThat(e.getString("url")).startsWith(abs("/e/"));
    assertThat(e.getLong("size")).isEqualTo(("body of " + e.getString("url").substring(abs("").length())).length());
    assertThat(e.getLong("age")).isEqualTo(10);
    assertThat(e.getLong("freshness_left")).isEqualTo(590);

    fill(many.subList(5, many.size()));
    JsonObject bounded = adminOk("GET", "/entries?prefix=" + enc(abs("/e/")));
    assertThat(bounded.getBoolean("truncated")).isTrue();
    assertThat(bounded.getJsonArray("entries")).hasSize(1000);

    JsonObject one = adminOk("GET", "/entries?url=" + enc(abs("/e/7")));
    JsonObject v = one.getJsonArray("variants").getJsonObject(0);
    assertThat(v.getInteger("status")).isEqualTo(200);
    assertThat(v.getJsonArray("headers").encode()).contains("[\"X-Kind\",\"listed\"]");
    HttpResponse<String> missing = admin("GET", "/entries?url=" + enc(abs("/nope")));
    assertThat(missing.statusCode()).isEqualTo(404);
    assertThat(new JsonObject(missing.body()).getString("error")).contains("not in the cache");
    assertThat(admin("GET", "/entries").statusCode()).isEqualTo(400);
  }
}
