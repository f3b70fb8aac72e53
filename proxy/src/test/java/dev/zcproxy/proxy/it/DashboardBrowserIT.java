package dev.zcproxy.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The admin dashboard in a real headless Chromium (Debian's chromium + chromium-driver through the
 * W3C WebDriver protocol): the page loads from the admin listener, its numbers move when traffic flows
 * through the proxy to a real origin, and a purge sent from its form takes effect (the origin sees the
 * next request). Saves {@code target/dashboard-browser.png}. Fails when Chromium is missing, unless
 * {@code -Dzcproxy.skipBrowserTests=true}.
 */
class DashboardBrowserIT extends OriginAndProxy {
  private static final String TOKEN = "browser-test-token-0123456789";
  private static final Duration WAIT = Duration.ofSeconds(20);

  @Test
  void pageShowsLiveTrafficAndItsPurgeFormPurges() throws Exception {
    Assumptions.assumeFalse(Boolean.getBoolean(WebDriver.SKIP_PROPERTY), "browser tests skipped by -D" + WebDriver.SKIP_PROPERTY);
    for (int i = 0; i < 5; i++) {
      origin.serve("/d/" + i, ("dashboard object " + i + " ").repeat(200).getBytes(StandardCharsets.UTF_8),
          "Cache-Control", "max-age=600", "Content-Type", "text/plain");
    }
    proxy = ProxyFixture.start(origin.url(), cacheDir, "admin.token: " + TOKEN);
    String admin = "http://127.0.0.1:" + proxy.server.adminPort();
    Path target = Path.of(System.getProperty("project.build.directory", "target"));
    try (WebDriver browser = WebDriver.start(target.resolve("browser-it"), 1400, 1500)) {
      browser.open(admin + "/");
      browser.awaitText("conn", "live"::equals, WAIT);
      assertThat(browser.text("requests-total")).isEqualTo("0");
      assertThat(browser.text("cache-entries")).isEqualTo("0 entries");

      // Traffic: 5 misses, stored (else a request could join a fill still under way: a MISS without
      // an origin request), then 45 hits; the page's totals, hit ratio and top URLs follow.
      for (int i = 0; i < 5; i++) {
        assertThat(proxy.get("/d/" + i).statusCode()).isEqualTo(200);
      }
      proxy.server.metrics().whenStored(5).get(10, TimeUnit.SECONDS);
      for (int round = 1; round < 10; round++) {
        for (int i = 0; i < 5; i++) {
          assertThat(proxy.get("/d/" + i).headers().firstValue("x-cache")).hasValue("HIT");
        }
      }
      assertThat(origin.totalRequests()).isEqualTo(5);
      browser.awaitText("requests-total", "50"::equals, WAIT);
      browser.awaitText("hit-ratio", "90.0%"::equals, WAIT);
      browser.awaitText("cache-entries", "5 entries"::equals, WAIT);
      browser.awaitText("top-hits", t -> t.contains("/d/0"), WAIT);
      assertThat(browser.text("latency-HIT")).contains("HIT45");
      assertThat(browser.text("mode-sendfile") + browser.text("mode-copy")).isNotEmpty();

      // The purge form, with the token typed into the page.
      browser.type("#token", TOKEN);
      browser.click("#action option[value='purge']");
      browser.type("#target", proxy.url("/d/3"));
      browser.click("#submit");
      String result = browser.awaitText("result", t -> t.startsWith("200") || t.startsWith("4") || t.startsWith("5"), WAIT);
      assertThat(result).startsWith("200").contains("\"purged\":1");
      browser.awaitText("invalidations", t -> t.contains("purge") && t.contains("/d/3"), WAIT);
      assertThat(browser.script("return sessionStorage.getItem('zcproxy.adminToken')")).isEqualTo(TOKEN);

      // The purge took effect: /d/3 comes from the origin again, /d/2 still from the cache.
      HttpResponse<byte[]> again = proxy.get("/d/3");
      assertThat(again.headers().firstValue("x-cache")).hasValue("MISS");
      assertThat(origin.requests("/d/3")).isEqualTo(2);
      assertThat(proxy.get("/d/2").headers().firstValue("x-cache")).hasValue("HIT");
      assertThat(origin.requests("/d/2")).isEqualTo(1);

      // A wrong token is refused and the page says so.
      browser.type("#token", "wrong");
      browser.click("#submit");
      browser.awaitText("result", t -> t.startsWith("401"), WAIT);
      browser.awaitText("requests-total", "52"::equals, WAIT);
      browser.screenshot(target.resolve("dashboard-browser.png"));
    }
  }

  @Test
  void eventStreamsAreBoundedAndThePageForbidsFramingAndForeignScripts() throws Exception {
    proxy = ProxyFixture.start(origin.url(), cacheDir, "admin.token: " + TOKEN);
    String admin = "http://127.0.0.1:" + proxy.server.adminPort();
    HttpResponse<String> page = proxy.client.send(HttpRequest.newBuilder(URI.create(admin + "/")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.headers().firstValue("content-security-policy")).get().asString()
        .contains("script-src 'self'").contains("frame-ancestors 'none'");
    // everything from the admin listener itself: no CDN, works offline
    assertThat(page.body()).contains("/dashboard/dashboard.js").doesNotContainPattern("(src|href)=\"(https?:)?//");

    // 16 streams are served; the 17th is refused with JSON; closing one makes room again.
    java.util.List<java.io.InputStream> streams = new java.util.ArrayList<>();
    try {
      for (int i = 0; i < 16; i++) {
        HttpResponse<java.io.InputStream> r = proxy.client.send(HttpRequest.newBuilder(URI.create(admin + "/events")).build(),
            HttpResponse.BodyHandlers.ofInputStream());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type")).hasValue("text/event-stream");
        streams.add(r.body());
      }
      // the first event is the history, then a snapshot
      byte[] head = streams.get(0).readNBytes(200);
      assertThat(new String(head, StandardCharsets.UTF_8)).contains("event: history");
      HttpResponse<String> refused = proxy.client.send(HttpRequest.newBuilder(URI.create(admin + "/events")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(refused.statusCode()).isEqualTo(503);
      assertThat(refused.body()).contains("\"error\"");
      streams.remove(0).close();
      long deadline = System.nanoTime() + WAIT.toNanos();
      int status;
      do {
        HttpResponse<java.io.InputStream> r = proxy.client.send(HttpRequest.newBuilder(URI.create(admin + "/events")).build(),
            HttpResponse.BodyHandlers.ofInputStream());
        status = r.statusCode();
        if (status == 200) {
          streams.add(r.body());
        } else {
          r.body().close();
          Thread.sleep(50); // the server notices the closed stream on its next write (a second at most)
        }
      } while (status != 200 && System.nanoTime() < deadline);
      assertThat(status).isEqualTo(200);
    } finally {
      for (java.io.InputStream s : streams) {
        s.close();
      }
    }
  }
}
