package dev.zcproxy.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.proxy.ProxyServer;
import dev.zcproxy.proxy.config.ConfigLoader;
import io.vertx.core.json.JsonObject;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code POST /reload} against real origins and real sockets: the new config applies (origin, token,
 * policy knobs, listener address), the cache and its hits survive (origin requests counted), a bad file
 * or an address that cannot be bound changes nothing, restart-required keys are named and kept, a
 * client loop across several reloads sees no failed response, and draining turns {@code /health} to
 * 503 while requests are still served.
 */
class ReloadIT {
  private static final String TOKEN = "reload-admin-token-0123456789";
  private static final String TOKEN2 = "reload-admin-token-abcdefghij";

  @TempDir
  Path dir;
  FixtureOrigin a;
  FixtureOrigin b;
  ProxyServer server;
  Path file;
  final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).build();

  @BeforeEach
  void origins() throws Exception {
    a = FixtureOrigin.start();
    b = FixtureOrigin.start();
    for (FixtureOrigin o : List.of(a, b)) {
      String name = o == a ? "A" : "B";
      o.route("/cached", req -> req.response().putHeader("Cache-Control", "max-age=600").end("cached from " + name));
      o.route("/fresh", req -> req.response().putHeader("Cache-Control", "no-store").end("fresh from " + name));
    }
  }

  @AfterEach
  void stop() throws Exception {
    try {
      if (server != null) {
        server.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      }
    } finally {
      a.close();
      b.close();
    }
  }

  /** The config file: one event loop, cache in the temp dir, admin with a token, {@code "section.key: value"} extras winning. */
  private String yaml(FixtureOrigin origin, String token, String... extra) {
    Map<String, Map<String, String>> sections = new java.util.LinkedHashMap<>();
    java.util.function.BiConsumer<String, String> put = (path, value) -> sections
        .computeIfAbsent(path.substring(0, path.indexOf('.')), k -> new java.util.LinkedHashMap<>())
        .put(path.substring(path.indexOf('.') + 1), value);
    put.accept("listen.address", "127.0.0.1:0");
    put.accept("listen.event-loops", "1");
    put.accept("listen.shutdown-grace", "5s");
    put.accept("origin.url", origin.url());
    put.accept("origin.connect-timeout", "2s");
    put.accept("origin.first-byte-timeout", "5s");
    put.accept("cache.dir", dir.resolve("cache").toString());
    put.accept("cache.max-size", "64MiB");
    put.accept("admin.address", "127.0.0.1:0");
    put.accept("admin.token", token);
    put.accept("logging.access-log", "off");
    for (String e : extra) {
      int colon = e.indexOf(':');
      put.accept(e.substring(0, colon).trim(), e.substring(colon + 1).trim());
    }
    StringBuilder y = new StringBuilder();
    sections.forEach((section, keys) -> {
      y.append(section).append(":\n");
      keys.forEach((k, v) -> y.append("  ").append(k).append(": ").append(v).append('\n'));
    });
    return y.toString();
  }

  private void start(String yaml) throws Exception {
    file = dir.resolve("proxy.yaml");
    Files.writeString(file, yaml);
    String[] args = {"--config", file.toString()};
    server = new ProxyServer(ConfigLoader.loadArgs(args, Map.of()), () -> ConfigLoader.loadArgs(args, Map.of()),
        System::currentTimeMillis);
    server.start().toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
  }

  private HttpResponse<String> get(String path) throws Exception {
    return get(server.port(), path);
  }

  private HttpResponse<String> get(int port, String path) throws Exception {
    return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> admin(String method, String path, String token) throws Exception {
    HttpRequest.Builder r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.adminPort() + path))
        .timeout(Duration.ofSeconds(30)).method(method, HttpRequest.BodyPublishers.noBody());
    if (token != null) {
      r.header("Authorization", "Bearer " + token);
    }
    return client.send(r.build(), HttpResponse.BodyHandlers.ofString());
  }

  private JsonObject reload(String newYaml, String token) throws Exception {
    Files.writeString(file, newYaml);
    HttpResponse<String> r = admin("POST", "/reload", token);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return new JsonObject(r.body());
  }

  /** Stores /cached from A and checks it is a hit. */
  private void storeCached() throws Exception {
    assertThat(get("/cached").body()).isEqualTo("cached from A");
    server.metrics().whenStored(1).get(20, TimeUnit.SECONDS);
    HttpResponse<String> hit = get("/cached");
    assertThat(hit.headers().firstValue("x-cache")).hasValue("HIT");
    assertThat(a.requests("/cached")).isEqualTo(1);
  }

  @Test
  void reloadSendsRequestsToTheNewOriginAndKeepsTheCachedObjectsAsHits() throws Exception {
    start(yaml(a, TOKEN));
    storeCached();
    assertThat(get("/fresh").body()).isEqualTo("fresh from A");

    // the reload needs the token, like every mutation
    assertThat(admin("POST", "/reload", null).statusCode()).isEqualTo(401);
    JsonObject answer = reload(yaml(b, TOKEN2, "cache.coalesce: false", "origin.max-connections: 8"), TOKEN);
    assertThat(answer.getJsonArray("changed").getList())
        .containsExactlyInAnyOrder("origin.url", "origin.max-connections", "cache.coalesce", "admin.token");
    assertThat(answer.getJsonArray("restartRequired").getList()).isEmpty();
    assertThat(answer.getInteger("unchanged")).isPositive();

    HttpResponse<String> hit = get("/cached");
    assertThat(hit.body()).isEqualTo("cached from A");
    assertThat(hit.headers().firstValue("x-cache")).hasValue("HIT");
    assertThat(a.requests("/cached")).isEqualTo(1);
    assertThat(b.requests("/cached")).isZero();
    int aFresh = a.requests("/fresh");
    assertThat(get("/fresh").body()).isEqualTo("fresh from B");
    assertThat(a.requests("/fresh")).isEqualTo(aFresh);
    assertThat(server.config().cache().coalesce()).isFalse();

    // the new token is the one that counts now
    assertThat(admin("POST", "/reload", TOKEN).statusCode()).isEqualTo(401);
    assertThat(admin("POST", "/reload", TOKEN2).statusCode()).isEqualTo(200);
    assertThat(server.metrics().reloads(true)).isEqualTo(2);
    assertThat(server.metrics().toPrometheus()).contains("zcproxy_reloads_total{result=\"ok\"} 2.0");
  }

  @Test
  void aBadFileIsRefusedWithTheKeyAndLineAndNothingChanges() throws Exception {
    start(yaml(a, TOKEN));
    storeCached();
    String bad = yaml(b, TOKEN, "cache.max-variants: many");
    Files.writeString(file, bad);
    int line = 1 + List.of(bad.split("\n")).indexOf("  max-variants: many");
    HttpResponse<String> r = admin("POST", "/reload", TOKEN);
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(r.body()).contains("cache.max-variants", file + ":" + line, "reload refused");
    // a typo is refused the same way, naming the key
    Files.writeString(file, yaml(b, TOKEN, "origin.conect-timeout: 1s"));
    assertThat(admin("POST", "/reload", TOKEN).body()).contains("origin.conect-timeout", "did you mean");

    assertThat(get("/fresh").body()).isEqualTo("fresh from A");
    assertThat(b.totalRequests()).isZero();
    assertThat(get("/cached").headers().firstValue("x-cache")).hasValue("HIT");
    assertThat(server.config().origin().url().port()).isEqualTo(a.port());
    assertThat(server.metrics().reloads(false)).isEqualTo(2);
    assertThat(server.metrics().reloads(true)).isZero();
  }

  @Test
  void restartRequiredKeysAreNamedAndKeptAsTheyWere() throws Exception {
    start(yaml(a, TOKEN));
    storeCached();
    Path cacheDir = server.config().cache().dir();
    String next = yaml(a, TOKEN, "listen.event-loops: 2", "cache.max-variants: 3", "cache.index-heap: 32MiB",
        "cache.dir: " + dir.resolve("other-cache"));
    JsonObject answer = reload(next, TOKEN);
    assertThat(answer.getJsonArray("restartRequired").getList())
        .containsExactlyInAnyOrder("listen.event-loops", "cache.dir", "cache.index-heap");
    assertThat(answer.getJsonArray("changed").getList()).containsExactly("cache.max-variants");
    assertThat(server.config().cache().dir()).isEqualTo(cacheDir);
    assertThat(server.config().listen().eventLoops()).isEqualTo(1);
    assertThat(server.config().cache().maxVariants()).isEqualTo(3);
    assertThat(get("/cached").headers().firstValue("x-cache")).hasValue("HIT");
    assertThat(a.requests("/cached")).isEqualTo(1);
    // still pending on the next reload: they need a restart until there is one
    assertThat(reload(next, TOKEN).getJsonArray("restartRequired").getList()).hasSize(3);
  }

  @Test
  void theListenerMovesByBindingTheNewAddressFirstAndABusyAddressIsRefused() throws Exception {
    start(yaml(a, TOKEN));
    storeCached();
    int oldPort = server.port();
    try (ServerSocket busy = new ServerSocket(0, 50, java.net.InetAddress.getByName("127.0.0.1"))) {
      Files.writeString(file, yaml(a, TOKEN, "listen.address: 127.0.0.1:" + busy.getLocalPort()));
      HttpResponse<String> r = admin("POST", "/reload", TOKEN);
      assertThat(r.statusCode()).isEqualTo(400);
      assertThat(r.body()).contains("listen.address", String.valueOf(busy.getLocalPort()));
      assertThat(server.port()).isEqualTo(oldPort);
      assertThat(get(oldPort, "/cached").headers().firstValue("x-cache")).hasValue("HIT");
    }
    int free;
    try (ServerSocket s = new ServerSocket(0, 50, java.net.InetAddress.getByName("127.0.0.1"))) {
      free = s.getLocalPort();
    }
    JsonObject answer = reload(yaml(a, TOKEN, "listen.idle-timeout: 30s", "listen.address: 127.0.0.1:" + free), TOKEN);
    assertThat(answer.getJsonArray("changed").getList()).containsExactlyInAnyOrder("listen.address", "listen.idle-timeout");
    assertThat(server.port()).isEqualTo(free);
    // the authority is part of the key: on the new port the object is stored once more, then hit
    assertThat(get(free, "/cached").body()).isEqualTo("cached from A");
    server.metrics().whenStored(2).get(20, TimeUnit.SECONDS);
    assertThat(get(free, "/cached").headers().firstValue("x-cache")).hasValue("HIT");
    assertThat(a.requests("/cached")).isEqualTo(2);
    // the old port stops accepting once its requests are done
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> get(oldPort, "/cached")).isInstanceOf(java.io.IOException.class);
  }

  @Test
  void theAdminListenerMovesAndTheReloadThatMovedItIsAnswered() throws Exception {
    start(yaml(a, TOKEN));
    int oldAdmin = server.adminPort();
    int free;
    try (ServerSocket s = new ServerSocket(0, 50, java.net.InetAddress.getByName("127.0.0.1"))) {
      free = s.getLocalPort();
    }
    JsonObject answer = reload(yaml(a, TOKEN, "admin.address: 127.0.0.1:" + free), TOKEN);
    assertThat(answer.getJsonArray("changed").getList()).containsExactly("admin.address");
    assertThat(server.adminPort()).isEqualTo(free);
    assertThat(admin("GET", "/health", null).statusCode()).isEqualTo(200);
    assertThat(server.startupLine()).contains("admin http://127.0.0.1:" + free);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> client.send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + oldAdmin + "/health")).build(), HttpResponse.BodyHandlers.ofString()))
        .isInstanceOf(java.io.IOException.class);
    // turned off: the proxy keeps serving, SIGHUP can still reload it
    reload(yaml(a, TOKEN, "admin.address: 127.0.0.1:" + free, "admin.enabled: false"), TOKEN);
    assertThat(server.adminPort()).isEqualTo(-1);
    assertThat(get("/fresh").body()).isEqualTo("fresh from A");
  }

  @Test
  void aClientLoopAcrossSeveralReloadsGetsEveryResponseCompleteAndTheCacheIsKept() throws Exception {
    int hot = 20;
    int total = 2000;
    int clients = 4;
    for (FixtureOrigin o : List.of(a, b)) {
      for (int i = 0; i < hot; i++) {
        String body = "hot " + i + " " + "x".repeat(2000 + i);
        o.route("/hot/" + i, req -> req.response().putHeader("Cache-Control", "max-age=600").end(body));
      }
      o.route("/miss", req -> req.response().putHeader("Cache-Control", "no-store").end("miss " + req.query()));
    }
    start(yaml(a, TOKEN));
    AtomicInteger next = new AtomicInteger();
    AtomicInteger done = new AtomicInteger();
    ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
    int reloads = 6;
    CountDownLatch[] reached = new CountDownLatch[reloads];
    for (int i = 0; i < reloads; i++) {
      reached[i] = new CountDownLatch(1);
    }
    ExecutorService pool = Executors.newFixedThreadPool(clients);
    List<Future<?>> loops = new ArrayList<>();
    for (int c = 0; c < clients; c++) {
      loops.add(pool.submit(() -> {
        for (int n = next.getAndIncrement(); n < total; n = next.getAndIncrement()) {
          String path = n % 2 == 0 ? "/hot/" + (n / 2) % hot : "/miss?n=" + n;
          String expected = n % 2 == 0 ? "hot " + (n / 2) % hot + " " + "x".repeat(2000 + (n / 2) % hot) : "miss n=" + n;
          try {
            HttpResponse<String> r = get(path);
            if (r.statusCode() != 200 || !r.body().equals(expected)) {
              failures.add(path + ": " + r.statusCode() + " " + r.body().length() + " bytes");
            }
          } catch (Exception e) {
            failures.add(path + ": " + e);
          }
          int d = done.incrementAndGet();
          for (int i = 0; i < reloads; i++) {
            if (d == (i + 1) * total / (reloads + 1)) {
              reached[i].countDown();
            }
          }
        }
        return null;
      }));
    }
    // reloads while the loop runs: the origin moves back and forth and a policy knob flips
    for (int i = 0; i < reloads; i++) {
      assertThat(reached[i].await(120, TimeUnit.SECONDS)).isTrue();
      FixtureOrigin to = i % 2 == 0 ? b : a;
      JsonObject answer = reload(yaml(to, TOKEN, "cache.max-variants: " + (8 + i % 2)), TOKEN);
      assertThat(answer.getJsonArray("changed").getList()).contains("origin.url");
    }
    for (Future<?> l : loops) {
      l.get(180, TimeUnit.SECONDS);
    }
    pool.shutdown();
    assertThat(failures).isEmpty();
    assertThat(done.get()).isEqualTo(total);
    assertThat(server.metrics().reloads(true)).isEqualTo(reloads);
    // every hot object was fetched once, from whichever origin was current, and then always hit
    int hotFetches = 0;
    for (int i = 0; i < hot; i++) {
      hotFetches += a.requests("/hot/" + i) + b.requests("/hot/" + i);
    }
    assertThat(hotFetches).isEqualTo(hot);
    assertThat(a.requests("/miss") + b.requests("/miss")).isEqualTo(total / 2);
    assertThat(b.requests("/miss")).isPositive();
  }

  @Test
  void anUploadUnderWayWhenTheConfigIsReloadedReachesTheOriginWhole() throws Exception {
    Path bodies = dir.resolve("bodies");
    a.route("/upload", req -> req.body().onSuccess(body -> req.response().end("got " + body.length())));
    start(yaml(a, TOKEN, "listen.body-buffer-size: 0", "listen.body-temp-dir: " + bodies));
    int length = 200_000;
    try (java.net.Socket s = new java.net.Socket("127.0.0.1", server.port())) {
      s.setSoTimeout(30_000);
      var out = s.getOutputStream();
      out.write(("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: " + length + "\r\nConnection: close\r\n\r\n")
          .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
      out.write(new byte[length / 2]);
      out.flush();
      // the first half is in a temp file (body-buffer-size 0) when the reload comes
      for (int i = 0; i < 3000 && tempFileBytes(bodies) < length / 2; i++) {
        Thread.sleep(5); // bounded poll of the file system: there is no event to wait for
      }
      assertThat(tempFileBytes(bodies)).isEqualTo(length / 2);
      reload(yaml(a, TOKEN, "listen.body-buffer-size: 0", "listen.body-temp-dir: " + bodies, "cache.max-variants: 5"), TOKEN);
      out.write(new byte[length - length / 2]);
      out.flush();
      String response = new String(s.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.ISO_8859_1);
      assertThat(response).startsWith("HTTP/1.1 200").endsWith("got " + length);
    }
    assertThat(a.requests("/upload")).isEqualTo(1);
  }

  private static long tempFileBytes(Path dir) throws Exception {
    if (!Files.isDirectory(dir)) {
      return 0;
    }
    try (var files = Files.list(dir)) {
      return files.mapToLong(f -> f.toFile().length()).sum();
    }
  }

  @Test
  void drainTurnsHealthTo503WhileRequestsAreStillServed() throws Exception {
    start(yaml(a, TOKEN));
    HttpResponse<String> ok = admin("GET", "/health", null);
    assertThat(ok.statusCode()).isEqualTo(200);
    assertThat(new JsonObject(ok.body()).getString("status")).isEqualTo("ok");
    assertThat(admin("POST", "/drain", null).statusCode()).isEqualTo(401);
    assertThat(admin("POST", "/drain", TOKEN).statusCode()).isEqualTo(200);
    HttpResponse<String> draining = admin("GET", "/health", null);
    assertThat(draining.statusCode()).isEqualTo(503);
    assertThat(new JsonObject(draining.body()).getString("status")).isEqualTo("draining");
    assertThat(get("/fresh").body()).isEqualTo("fresh from A");
    assertThat(admin("POST", "/drain?cancel=true", TOKEN).statusCode()).isEqualTo(200);
    assertThat(admin("GET", "/health", null).statusCode()).isEqualTo(200);
  }

  @Test
  void theStopDrainsForDrainTimeServingThenStops() throws Exception {
    start(yaml(a, TOKEN, "listen.drain-time: 2s"));
    int port = server.port();
    var stopped = server.drainAndClose().toCompletionStage().toCompletableFuture();
    HttpResponse<String> health = admin("GET", "/health", null);
    assertThat(health.statusCode()).isEqualTo(503);
    assertThat(health.body()).contains("\"draining\"");
    assertThat(get(port, "/fresh").body()).isEqualTo("fresh from A");
    assertThat(stopped).isNotDone();
    stopped.get(30, TimeUnit.SECONDS);
    server = null;
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> get(port, "/fresh")).isInstanceOf(java.io.IOException.class);
  }
}
