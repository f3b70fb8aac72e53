package dev.zcproxy.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.proxy.config.ConfigLoader;
import dev.zcproxy.proxy.origin.OriginPool;
import dev.zcproxy.proxy.origin.OriginServer;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Sites, routes and origin pools end to end: host routing, balancing, health, retries, limits. */
class SitesIT {
  @TempDir
  Path cacheDir;
  private final List<AutoCloseable> closing = new ArrayList<>();
  private ProxyFixture proxy;

  @AfterEach
  void close() throws Exception {
    if (proxy != null) {
      proxy.close();
    }
    for (AutoCloseable c : closing) {
      c.close();
    }
  }

  /** An origin that answers every path with its own name (header X-Server) and counts requests. */
  static final class Named implements AutoCloseable {
    final Vertx vertx = Vertx.vertx();
    final String name;
    final AtomicInteger requests = new AtomicInteger();
    final AtomicInteger posts = new AtomicInteger();
    final Map<String, String> headersByPath = new java.util.concurrent.ConcurrentHashMap<>();
    volatile String cacheControl = "no-store";
    volatile CountDownLatch hold;
    final AtomicInteger held = new AtomicInteger();
    HttpServer server;
    int port;

    Named(String name, int port) throws Exception {
      this.name = name;
      listen(port);
    }

    void listen(int p) throws Exception {
      server = vertx.createHttpServer().requestHandler(req -> {
        if (req.path().equals("/healthz")) {
          req.response().end("ok");
          return;
        }
        requests.incrementAndGet();
        if (req.method().name().equals("POST")) {
          posts.incrementAndGet();
        }
        headersByPath.put(req.path(), req.getHeader("host"));
        if (req.path().startsWith("/cookie")) {
          req.response().putHeader("Set-Cookie", "id=" + name); // a shared cookie the site chose to store
        }
        if (req.path().endsWith("/self")) {
          req.response().putHeader("Content-Location", req.path()); // a POST answer that names its own URI
        }
        Runnable answer = () -> req.response().putHeader("X-Server", name).putHeader("Cache-Control", cacheControl)
            .end(name + " " + req.path());
        if (req.path().startsWith("/big")) {
          req.response().putHeader("X-Server", name).putHeader("Cache-Control", cacheControl)
              .end(io.vertx.core.buffer.Buffer.buffer(new byte[1 << 20]));
          return;
        }
        CountDownLatch h = hold;
        if (h != null && req.path().startsWith("/slow")) {
          held.incrementAndGet();
          vertx.executeBlocking(() -> h.await(10, TimeUnit.SECONDS)).onComplete(x -> answer.run());
        } else {
          answer.run();
        }
      }).listen(p, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      port = server.actualPort();
    }

    void stop() throws Exception {
      server.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    String url() {
      return "http://127.0.0.1:" + port;
    }

    @Override
    public void close() throws Exception {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }

  private Named origin(String name) throws Exception {
    Named n = new Named(name, 0);
    closing.add(n);
    return n;
  }

  private ProxyFixture start(String sites) throws Exception {
    String yaml = "listen:\n  address: 127.0.0.1:0\n  event-loops: 1\n  shutdown-grace: 5s\n"
        + "origin:\n  connect-timeout: 2s\n  first-byte-timeout: 5s\n  idle-timeout: 5s\n"
        + "cache:\n  dir: " + cacheDir + "\n  max-size: 64MiB\n"
        + "admin:\n  address: 127.0.0.1:0\n"
        + "logging:\n  access-log: off\n"
        + sites;
    proxy = ProxyFixture.start(ConfigLoader.parse(yaml, "sites-it.yaml"));
    return proxy;
  }

  /** One response read off a raw HTTP/1.1 connection (java.net.http cannot set Host). */
  record Resp(int status, Map<String, String> headers, String body) {
    String header(String name) {
      return headers.get(name.toLowerCase(Locale.ROOT));
    }
  }

  private Resp request(String method, String host, String path, String... extra) throws Exception {
    return request(proxy.server.port(), method, host, path, extra);
  }

  static Resp request(int port, String method, String host, String path, String... extra) throws Exception {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(15_000);
      StringBuilder req = new StringBuilder(method + " " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n");
      String body = method.equals("POST") ? "x" : null;
      for (int i = 0; i < extra.length; i += 2) {
        req.append(extra[i]).append(": ").append(extra[i + 1]).append("\r\n");
        if (extra[i].equalsIgnoreCase("content-length")) {
          body = "x".repeat(Integer.parseInt(extra[i + 1]));
        }
      }
      if (body != null && !req.toString().toLowerCase(Locale.ROOT).contains("content-length")) {
        req.append("Content-Length: ").append(body.length()).append("\r\n");
      }
      req.append("\r\n");
      if (body != null) {
        req.append(body);
      }
      s.getOutputStream().write(req.toString().getBytes(StandardCharsets.ISO_8859_1));
      InputStream in = s.getInputStream();
      ByteArrayOutputStream all = new ByteArrayOutputStream();
      in.transferTo(all);
      String text = all.toString(StandardCharsets.ISO_8859_1);
      int end = text.indexOf("\r\n\r\n");
      String[] lines = text.substring(0, end).split("\r\n");
      Map<String, String> headers = new LinkedHashMap<>();
      for (int i = 1; i < lines.length; i++) {
        int c = lines[i].indexOf(':');
        headers.merge(lines[i].substring(0, c).trim().toLowerCase(Locale.ROOT), lines[i].substring(c + 1).trim(), (a, b) -> a + ", " + b);
      }
      return new Resp(Integer.parseInt(lines[0].split(" ")[1]), headers, text.substring(end + 4));
    }
  }

  private static void await(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      Thread.sleep(10);
    }
  }

  private OriginServer server(String site, String pool, int index) {
    return proxy.server.origins().pool(site, pool).servers().get(index);
  }

  // ---------------------------------------------------------------- hosts and keys

  @Test
  void twoSitesOnDifferentHostsGetTheirOwnOriginsAndObjects() throws Exception {
    Named shop = origin("shop");
    Named blog = origin("blog");
    shop.cacheControl = "max-age=600";
    blog.cacheControl = "max-age=600";
    start("sites:\n"
        + "  - name: shop\n    hosts: [shop.test, \"*.shop.test\"]\n    origins: [" + shop.url() + "]\n"
        + "  - name: blog\n    hosts: [blog.test]\n    origins: [" + blog.url() + "]\n");
    assertThat(request("GET", "shop.test", "/same").body()).isEqualTo("shop /same");
    assertThat(request("GET", "blog.test", "/same").body()).isEqualTo("blog /same");
    assertThat(request("GET", "BLOG.test:8080", "/port").body()).isEqualTo("blog /port"); // any port, any case
    Resp again = request("GET", "shop.test", "/same");
    assertThat(again.body()).isEqualTo("shop /same");
    assertThat(again.header("cache-status")).contains("hit");
    assertThat(request("GET", "blog.test", "/same").body()).isEqualTo("blog /same");
    assertThat(shop.requests.get()).isEqualTo(1);
    assertThat(blog.requests.get()).isEqualTo(2);
    // a subdomain of *.shop.test is the shop (its own object: the host is in the key)
    assertThat(request("GET", "www.shop.test", "/same").body()).isEqualTo("shop /same");
    assertThat(shop.requests.get()).isEqualTo(2);
    // the cache holds one object per site, each keyed with its site
    await("stored", () -> proxy.server.store().entryCount() == 4);
    List<String> keys = proxy.server.store().list("", 10).stream().map(m -> m.primaryKey()).sorted().toList();
    assertThat(keys).containsExactly("http://blog.test/same site=blog", "http://blog.test:8080/port site=blog",
        "http://shop.test/same site=shop",
        "http://www.shop.test/same site=shop");
    // the client's Host goes to the origin (origin.preserve-host defaults to true)
    assertThat(shop.headersByPath.get("/same")).isEqualTo("www.shop.test");
  }

  @Test
  void purgeEntriesAndBanAddressASite() throws Exception {
    Named shop = origin("shop");
    Named blog = origin("blog");
    shop.cacheControl = "max-age=600";
    blog.cacheControl = "max-age=600";
    String token = "sites-it-admin-token-0123";
    String yaml = "sites:\n"
        + "  - name: shop\n    hosts: [shop.test]\n    origins: [" + shop.url() + "]\n"
        + "  - name: blog\n    hosts: [blog.test, \"*.blog.test\"]\n    origins: [" + blog.url() + "]\n";
    proxy = ProxyFixture.start(ConfigLoader.parse("listen:\n  address: 127.0.0.1:0\n  event-loops: 1\n"
        + "cache:\n  dir: " + cacheDir + "\n  max-size: 64MiB\nadmin:\n  address: 127.0.0.1:0\n  token: " + token + "\n"
        + "logging:\n  access-log: off\n" + yaml, "sites-it.yaml"));
    for (String h : List.of("shop.test", "blog.test", "a.blog.test")) {
      request("GET", h, "/p");
      request("GET", h, "/q");
    }
    await("stored", () -> proxy.server.store().entryCount() == 6);
    int admin = proxy.server.adminPort();
    String auth = "Bearer " + token;
    // a URL purge finds the site from its host
    Resp purged = request(admin, "POST", "127.0.0.1", "/purge?url=http://shop.test/p", "Authorization", auth);
    assertThat(purged.body()).contains("\"purged\":1", "shop.test/p site=shop");
    // site= names it explicitly; a site that does not exist is 404
    assertThat(request(admin, "POST", "127.0.0.1", "/purge?url=http://a.blog.test/p&site=blog", "Authorization", auth).body())
        .contains("\"purged\":1");
    assertThat(request(admin, "POST", "127.0.0.1", "/purge?url=http://shop.test/q&site=nope", "Authorization", auth).status())
        .isEqualTo(404);
    assertThat(request(admin, "POST", "127.0.0.1", "/purge?url=http://unknown.test/q", "Authorization", auth).status())
        .isEqualTo(404);
    Resp listed = request(admin, "GET", "127.0.0.1", "/entries?prefix=blog.test/&site=blog");
    assertThat(listed.body()).contains("\"url\":\"http://blog.test/p\"", "\"site\":\"blog\"").doesNotContain("shop");
    // a ban of a whole site: its entries are gone, the other site's stay
    assertThat(request(admin, "POST", "127.0.0.1", "/ban?site=blog", "Authorization", auth).status()).isEqualTo(200);
    int shopBefore = shop.requests.get();
    int blogBefore = blog.requests.get();
    assertThat(request("GET", "shop.test", "/q").header("cache-status")).contains("hit");
    assertThat(request("GET", "blog.test", "/q").header("cache-status")).doesNotContain("hit");
    assertThat(request("GET", "a.blog.test", "/q").header("cache-status")).doesNotContain("hit");
    assertThat(shop.requests.get()).isEqualTo(shopBefore);
    assertThat(blog.requests.get()).isEqualTo(blogBefore + 2);
    // a prefix ban within a site
    assertThat(request(admin, "POST", "127.0.0.1", "/ban?prefix=http://shop.test/q&site=shop", "Authorization", auth).status())
        .isEqualTo(200);
    assertThat(request("GET", "shop.test", "/q").header("cache-status")).doesNotContain("hit");
    assertThat(shop.requests.get()).isEqualTo(shopBefore + 1);
  }

  @Test
  void unknownHostIsMisdirectedUnlessADefaultSiteTakesIt() throws Exception {
    Named shop = origin("shop");
    start("sites:\n  - name: shop\n    hosts: [shop.test]\n    origins: [" + shop.url() + "]\n");
    Resp r = request("GET", "other.test", "/x");
    assertThat(r.status()).isEqualTo(421);
    assertThat(r.header("cache-status")).isEqualTo("zcproxy; fwd=bypass; detail=unknown-host");
    assertThat(shop.requests.get()).isZero();
    proxy.close();
    proxy = null;
    start("sites:\n  - name: shop\n    hosts: [shop.test]\n    origins: [" + shop.url() + "]\n    preserve-host: false\n"
        + "default-site: shop\n");
    Resp d = request("GET", "other.test", "/x");
    assertThat(d.status()).isEqualTo(200);
    assertThat(d.body()).isEqualTo("shop /x");
    // preserve-host: false sends the server's own authority
    assertThat(shop.headersByPath.get("/x")).isEqualTo("127.0.0.1:" + shop.port);
  }

  @Test
  void routesGoToTheirOwnPoolWithTheirOwnCacheSettings() throws Exception {
    Named site = origin("site");
    Named api = origin("api");
    site.cacheControl = "max-age=600";
    api.cacheControl = "max-age=600";
    start("sites:\n  - name: shop\n    hosts: [shop.test]\n    origins: [" + site.url() + "]\n    max-body-size: 0\n"
        + "    routes:\n      - { prefix: /api/, origins: [" + api.url() + "], cache: { enabled: false } }\n");
    assertThat(request("GET", "shop.test", "/api/a").body()).isEqualTo("api /api/a");
    Resp passed = request("GET", "shop.test", "/api/a");
    assertThat(passed.header("cache-status")).contains("fwd=bypass").contains("detail=cache-disabled");
    assertThat(api.requests.get()).isEqualTo(2);
    assertThat(request("GET", "shop.test", "/apiary").body()).isEqualTo("site /apiary");
    // a POST answer that names its own URI with explicit freshness is stored for GETs (RFC 9110 §9.3.3),
    // but not where the cache is off
    assertThat(request("POST", "shop.test", "/self").status()).isEqualTo(200);
    await("the POST answer stored", () -> proxy.server.store().entryCount() == 2);
    assertThat(request("POST", "shop.test", "/api/self").status()).isEqualTo(200);
    assertThat(request("GET", "shop.test", "/self").header("cache-status")).contains("hit");
    assertThat(request("GET", "shop.test", "/api/self").header("cache-status")).contains("cache-disabled");
    assertThat(proxy.server.store().list("", 10)).extracting(m -> m.primaryKey())
        .containsExactlyInAnyOrder("http://shop.test/apiary site=shop", "http://shop.test/self site=shop");
  }

  @Test
  void aSiteWithSetCookieStoreServesTheStoredCookieOnHitsWhileTheGlobalDefaultPasses() throws Exception {
    Named shop = origin("shop");
    shop.cacheControl = "max-age=600";
    start("sites:\n  - name: shop\n    hosts: [shop.test]\n    origins: [" + shop.url() + "]\n"
        + "    cache: { set-cookie: store }\n");
    Resp miss = request("GET", "shop.test", "/cookie");
    assertThat(miss.header("set-cookie")).isEqualTo("id=shop");
    await("the response with its cookie stored", () -> proxy.server.store().entryCount() == 1);
    for (int i = 0; i < 2; i++) { // the second hit may come from the RAM tier's pre-encoded head
      Resp hit = request("GET", "shop.test", "/cookie");
      assertThat(hit.header("cache-status")).contains("hit");
      assertThat(hit.header("set-cookie")).as("hit %d keeps the site's stored cookie", i).isEqualTo("id=shop");
    }
    assertThat(shop.requests.get()).isEqualTo(1);
  }

  @Test
  void aSiteBodyLimitAnswers413() throws Exception {
    Named shop = origin("shop");
    start("sites:\n  - name: shop\n    hosts: [shop.test]\n    origins: [" + shop.url() + "]\n    max-body-size: 1\n");
    assertThat(request("POST", "shop.test", "/up").status()).isEqualTo(200); // one byte is allowed
    Resp r = request("POST", "shop.test", "/up", "Content-Length", "2");
    assertThat(r.status()).isEqualTo(413);
    assertThat(shop.posts.get()).isEqualTo(1);
  }

  // ---------------------------------------------------------------- balancing

  @Test
  void consistentHashKeepsKeysOnTheirServerWhenOneIsAdded() throws Exception {
    Named a = origin("a");
    Named b = origin("b");
    Named c = origin("c");
    String pool = "    balance: consistent-hash\n    cache: { enabled: false }\n";
    start("sites:\n  - name: s\n    hosts: [s.test]\n    origins: [" + a.url() + ", " + b.url() + "]\n" + pool);
    Map<String, String> before = new LinkedHashMap<>();
    for (int i = 0; i < 60; i++) {
      before.put("/k" + i, request("GET", "s.test", "/k" + i).header("x-server"));
    }
    assertThat(before.values()).contains("a", "b");
    proxy.close();
    proxy = null;
    start("sites:\n  - name: s\n    hosts: [s.test]\n    origins: [" + a.url() + ", " + b.url() + ", " + c.url() + "]\n" + pool);
    int moved = 0;
    for (Map.Entry<String, String> e : before.entrySet()) {
      String now = request("GET", "s.test", e.getKey()).header("x-server");
      if (!now.equals(e.getValue())) {
        moved++;
        assertThat(now).as("a key that moved went to the new server").isEqualTo("c");
      }
      // asked twice: the same server
      assertThat(request("GET", "s.test", e.getKey()).header("x-server")).isEqualTo(now);
    }
    assertThat(moved).isBetween(5, 35); // ~1/3 of 60
  }

  @Test
  void leastRequestsPrefersTheIdleServer() throws Exception {
    Named a = origin("a");
    Named b = origin("b");
    CountDownLatch release = new CountDownLatch(1);
    a.hold = release;
    b.hold = release;
    start("sites:\n  - name: s\n    hosts: [s.test]\n    origins: [" + a.url() + ", " + b.url() + "]\n"
        + "    balance: least-requests\n    cache: { enabled: false }\n");
    ExecutorService pool = Executors.newSingleThreadExecutor();
    try {
      Future<Resp> slow = pool.submit(() -> request("GET", "s.test", "/slow"));
      await("the slow request at an origin", () -> a.held.get() + b.held.get() == 1);
      Named busy = a.held.get() == 1 ? a : b;
      Named idle = busy == a ? b : a;
      for (int i = 0; i < 6; i++) {
        assertThat(request("GET", "s.test", "/fast" + i).header("x-server")).isEqualTo(idle.name);
      }
      assertThat(server("s", "/", busy == a ? 0 : 1).inFlight()).isEqualTo(1);
      release.countDown();
      assertThat(slow.get(10, TimeUnit.SECONDS).status()).isEqualTo(200);
      await("nothing in flight", () -> server("s", "/", 0).inFlight() == 0 && server("s", "/", 1).inFlight() == 0);
    } finally {
      release.countDown();
      pool.shutdownNow();
    }
  }

  @Test
  void aSplicedOrCopiedBodyEndsItsRequestInFlight() throws Exception {
    Named a = origin("a");
    start("sites:\n  - name: s\n    hosts: [s.test]\n    origins: [" + a.url() + "]\n"
        + "    max-connections: 1\n    queue: 0\n    balance: least-requests\n    cache: { enabled: false }\n");
    // 1 MiB passes are spliced where epoll is available: each must give its pool slot back
    for (int i = 0; i < 3; i++) {
      Resp r = request("GET", "s.test", "/big" + i);
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.body()).hasSize(1 << 20);
      await("the request out of flight", () -> server("s", "/", 0).inFlight() == 0);
    }
    assertThat(proxy.server.origins().pool("s", "/").servers().get(0).state()).isEqualTo(OriginServer.State.UP);
  }

  @Test
  void aFullQueueAnswers503AndAWaitThatTimesOutToo() throws Exception {
    Named a = origin("a");
    CountDownLatch release = new CountDownLatch(1);
    a.hold = release;
    start("sites:\n  - name: s\n    hosts: [s.test]\n    origins: [" + a.url() + "]\n"
        + "    max-connections: 1\n    queue: 1\n    queue-timeout: 2s\n    cache: { enabled: false }\n");
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      Future<Resp> first = pool.submit(() -> request("GET", "s.test", "/slow"));
      await("the first request at the origin", () -> a.held.get() == 1);
      Future<Resp> queued = pool.submit(() -> request("GET", "s.test", "/slow2"));
      OriginPool p = proxy.server.origins().pool("s", "/");
      await("one request queued", () -> proxy.server.origins().toJson().getJsonArray("pools").getJsonObject(0).getInteger("queued") == 1);
      Resp full = request("GET", "s.test", "/x");
      assertThat(full.status()).isEqualTo(503);
      assertThat(full.header("cache-status")).contains("detail=queue-full");
      Resp timedOut = queued.get(10, TimeUnit.SECONDS);
      assertThat(timedOut.status()).isEqualTo(503);
      assertThat(timedOut.header("cache-status")).contains("detail=queue-timeout");
      release.countDown();
      assertThat(first.get(10, TimeUnit.SECONDS).status()).isEqualTo(200);
      // the slot is free again
      assertThat(request("GET", "s.test", "/after").status()).isEqualTo(200);
      assertThat(a.requests.get()).isEqualTo(2);
      await("nothing in flight", () -> p.servers().get(0).inFlight() == 0);
      assertThat(proxy.server.metrics().toPrometheus()).contains("zcproxy_origin_pool_rejected_total{pool=\"/\",site=\"s\"} 2.0");
    } finally {
      release.countDown();
      pool.shutdownNow();
    }
  }

  // ---------------------------------------------------------------- health and retries

  @Test
  void aServerKilledUnderLoadCostsNoRequestAndComesBackAfterItsChecks() throws Exception {
    Named a = origin("a");
    Named b = origin("b");
    Named c = origin("c");
    start("sites:\n  - name: s\n    hosts: [s.test]\n    origins: [" + a.url() + ", " + b.url() + ", " + c.url() + "]\n"
        + "    health: { path: /healthz, interval: 50ms, timeout: 2s, rise: 2, fall: 2, eject-after: 1, eject-for: 200ms }\n"
        + "    cache: { enabled: false }\n");
    int port = b.port;
    ExecutorService load = Executors.newFixedThreadPool(4);
    AtomicInteger failed = new AtomicInteger();
    List<String> problems = new java.util.concurrent.CopyOnWriteArrayList<>();
    AtomicInteger done = new AtomicInteger();
    CountDownLatch killed = new CountDownLatch(1);
    try {
      List<Future<?>> workers = new ArrayList<>();
      for (int w = 0; w < 4; w++) {
        int worker = w;
        workers.add(load.submit(() -> {
          for (int i = 0; i < 30; i++) {
            if (worker == 0 && i == 8) {
              try {
                b.stop();
              } catch (Exception e) {
                throw new IllegalStateException(e);
              }
              killed.countDown();
            }
            try {
              Resp r = request("GET", "s.test", "/w" + worker + "/" + i);
              if (r.status() != 200) {
                failed.incrementAndGet();
                problems.add(r.status() + " " + r.headers() + " " + r.body());
              }
            } catch (Exception e) {
              failed.incrementAndGet();
              problems.add(e.toString());
            }
            done.incrementAndGet();
          }
          return null;
        }));
      }
      for (Future<?> f : workers) {
        f.get(60, TimeUnit.SECONDS);
      }
    } finally {
      load.shutdownNow();
    }
    assertThat(killed.getCount()).isZero();
    assertThat(failed.get()).as("failed requests: " + problems + "\n" + proxy.server.origins().toJson()).isZero();
    assertThat(done.get()).isEqualTo(120);
    await("b out of the pool", () -> server("s", "/", 1).state() != OriginServer.State.UP);
    int bBefore = b.requests.get();
    // b comes back on its port; its checks bring it back into the pool
    b.listen(port);
    await("b back up", () -> server("s", "/", 1).state() == OriginServer.State.UP);
    for (int i = 0; i < 9; i++) {
      assertThat(request("GET", "s.test", "/back" + i).status()).isEqualTo(200);
    }
    assertThat(b.requests.get()).isGreaterThan(bBefore);
    String origins = request(proxy.server.adminPort(), "GET", "127.0.0.1", "/origins").body();
    assertThat(origins).contains("\"site\":\"s\"", "\"state\":\"up\"", "\"url\":\"" + b.url().replace("127.0.0.1", "127.0.0.1") + "\"");
    assertThat(proxy.server.metrics().toPrometheus()).contains("zcproxy_origin_server_requests_total{pool=\"/\",server=\"" + b.url() + "\",site=\"s\"}");
  }

  @Test
  void whenEveryServerIsDownStaleIfErrorServesTheStoredObjectElse503() throws Exception {
    Named a = origin("a");
    Named b = origin("b");
    a.cacheControl = "max-age=1, stale-if-error=600";
    b.cacheControl = "max-age=1, stale-if-error=600";
    start("sites:\n  - name: s\n    hosts: [s.test]\n    origins: [" + a.url() + ", " + b.url() + "]\n"
        + "    health: { path: /healthz, interval: 50ms, timeout: 2s, fall: 1 }\n");
    Resp first = request("GET", "s.test", "/page");
    assertThat(first.status()).isEqualTo(200);
    await("stored", () -> proxy.server.store().entryCount() == 1);
    proxy.advance(java.time.Duration.ofSeconds(10));
    a.stop();
    b.stop();
    await("both down", () -> server("s", "/", 0).state() == OriginServer.State.DOWN
        && server("s", "/", 1).state() == OriginServer.State.DOWN);
    int before = a.requests.get() + b.requests.get();
    Resp stale = request("GET", "s.test", "/page");
    assertThat(stale.status()).as(stale.headers().toString()).isEqualTo(200);
    assertThat(stale.body()).isEqualTo(first.body());
    assertThat(stale.header("cache-status")).contains("detail=stale-if-error");
    Resp none = request("GET", "s.test", "/never-stored");
    assertThat(none.status()).isEqualTo(503);
    assertThat(none.header("cache-status")).startsWith("zcproxy; fwd=").endsWith("miss; detail=no-healthy-origin");
    assertThat(a.requests.get() + b.requests.get()).isEqualTo(before);
  }

  @Test
  void aResetBeforeTheResponseIsRetriedOnAnotherServerForGetButNeverForPost() throws Exception {
    Named good = origin("good");
    RawOrigin resetting = RawOrigin.start(new io.vertx.core.net.NetServerOptions().setSoLinger(0),
        (req, socket) -> socket.close());
    closing.add(resetting);
    start("sites:\n  - name: s\n    hosts: [s.test]\n    origins: [" + resetting.url() + ", " + good.url() + "]\n"
        + "    health: { eject-after: 0 }\n    cache: { enabled: false }\n");
    for (int i = 0; i < 4; i++) {
      Resp r = request("GET", "s.test", "/g" + i);
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.header("x-server")).isEqualTo("good");
    }
    assertThat(resetting.requests.get()).as("round-robin sent some GETs to the resetting server first").isGreaterThan(0);
    int resetGets = resetting.requests.get();
    assertThat(good.requests.get()).isEqualTo(4);
    int failedPosts = 0;
    for (int i = 0; i < 4; i++) {
      Resp r = request("POST", "s.test", "/p" + i);
      if (r.status() == 502) {
        failedPosts++;
      } else {
        assertThat(r.status()).isEqualTo(200);
      }
    }
    int resetPosts = resetting.requests.get() - resetGets;
    assertThat(resetPosts).as("POSTs that reached the resetting server").isGreaterThan(0);
    // every POST went to one server only: those the resetting server took failed, none was sent again
    assertThat(failedPosts).isEqualTo(resetPosts);
    assertThat(good.posts.get()).isEqualTo(4 - resetPosts);
  }
}
