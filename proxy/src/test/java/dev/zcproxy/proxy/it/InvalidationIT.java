package dev.zcproxy.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Soft purge, bans and surrogate keys through the admin API against a real origin: what the admin
 * call answered, what clients get next, and (by counting origin requests) what the cache still holds.
 */
class InvalidationIT {
  private static final String TOKEN = "test-admin-token-0123456789";
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
    origin = FixtureOrigin.start(); // for @AfterEach
    assertThat(admin("GET", "/metrics").body()).contains("zcproxy_soft_purges_total 2.0");
  }
}
