package dev.zcproxy.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.CacheOutcome;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code /metrics} and {@code /stats} after known traffic against a real origin: hits, misses and a
 * pass move the counters and latency histograms by exactly their number, origin requests match what
 * the origin counted, and Vert.x's own HTTP server and client metrics are scraped from the same registry.
 */
class MetricsIT extends OriginAndProxy {
  private static final String TOKEN = "metrics-admin-token-0123456789";
  final byte[] cached = "c".repeat(3000).getBytes(java.nio.charset.StandardCharsets.US_ASCII);

  @BeforeEach
  void start() throws Exception {
    origin.serve("/c", cached, "Cache-Control", "max-age=600");
    origin.serve("/n", "not stored".getBytes(java.nio.charset.StandardCharsets.US_ASCII), "Cache-Control", "no-store");
    origin.route("/p", req -> req.body().onSuccess(b -> req.response().end("posted")));
    proxy = ProxyFixture.start(origin.url(), cacheDir);
  }

  /** One MISS stored, two HITs, one MISS not stored, one PASS. */
  private void traffic() throws Exception {
    assertThat(proxy.get("/c").statusCode()).isEqualTo(200);
    proxy.server.metrics().whenStored(1).get(20, TimeUnit.SECONDS);
    assertThat(proxy.get("/c").headers().firstValue("x-cache")).hasValue("HIT");
    assertThat(proxy.get("/c").headers().firstValue("x-cache")).hasValue("HIT");
    assertThat(proxy.get("/n").statusCode()).isEqualTo(200);
    assertThat(proxy.send("POST", "/p").statusCode()).isEqualTo(200);
    proxy.server.metrics().whenResponses(CacheOutcome.HIT, 2).get(20, TimeUnit.SECONDS);
    proxy.server.metrics().whenResponses(CacheOutcome.MISS, 2).get(20, TimeUnit.SECONDS);
    proxy.server.metrics().whenResponses(CacheOutcome.PASS, 1).get(20, TimeUnit.SECONDS);
    assertThat(origin.requests("/c") + origin.requests("/n") + origin.requests("/p")).isEqualTo(3);
  }

  private String admin(String path) throws Exception {
    HttpResponse<String> r = proxy.client.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.server.adminPort() + path)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
    return r.body();
  }

  /** The sum of the samples of {@code name} whose labels include every {@code k="v"} given. */
  private static double sample(String exposition, String name, String... labels) {
    double sum = 0;
    boolean found = false;
    for (String line : exposition.split("\n")) {
      if (line.startsWith("#") || line.isBlank()) {
        continue;
      }
      int brace = line.indexOf('{');
      int space = line.lastIndexOf(' ');
      String metric = brace >= 0 ? line.substring(0, brace) : line.substring(0, space);
      if (!metric.equals(name)) {
        continue;
      }
      String labelText = brace >= 0 ? line.substring(brace, line.lastIndexOf('}') + 1) : "";
      boolean all = true;
      for (String l : labels) {
        all &= labelText.contains(l);
      }
      if (all) {
        found = true;
        sum += Double.parseDouble(line.substring(space + 1));
      }
    }
    assertThat(found).as("a sample of %s %s in\n%s", name, String.join(",", labels), exposition).isTrue();
    return sum;
  }

  @Test
  void prometheusCountersAndHistogramsMoveWithTheTraffic() throws Exception {
    traffic();
    String m = admin("/metrics");
    assertThat(sample(m, "zcproxy_responses_total", "outcome=\"HIT\"")).isEqualTo(2);
    assertThat(sample(m, "zcproxy_responses_total", "outcome=\"MISS\"")).isEqualTo(2);
    assertThat(sample(m, "zcproxy_responses_total", "outcome=\"PASS\"")).isEqualTo(1);
    assertThat(sample(m, "zcproxy_responses_total", "outcome=\"STALE\"")).isZero();
    // hits go by sendfile or copy, whichever this machine allows, or from the RAM tier once a small body
    // was read in after its first hit; bytes by mode add up to what was sent
    assertThat(sample(m, "zcproxy_responses_total", "outcome=\"HIT\"", "mode=\"sendfile\"")
        + sample(m, "zcproxy_responses_total", "outcome=\"HIT\"", "mode=\"copy\"")
        + sample(m, "zcproxy_responses_total", "outcome=\"HIT\"", "mode=\"ram\"")).isEqualTo(2);
    assertThat(sample(m, "zcproxy_response_bytes_total")).isEqualTo(3 * cached.length + "not stored".length() + "posted".length());
    assertThat(sample(m, "zcproxy_request_duration_seconds_count", "outcome=\"HIT\"")).isEqualTo(2);
    assertThat(sample(m, "zcproxy_request_duration_seconds_count", "outcome=\"MISS\"")).isEqualTo(2);
    assertThat(sample(m, "zcproxy_request_duration_seconds_count", "outcome=\"PASS\"")).isEqualTo(1);
    assertThat(sample(m, "zcproxy_request_duration_seconds_bucket", "outcome=\"HIT\"", "le=\"+Inf\"")).isEqualTo(2);
    assertThat(sample(m, "zcproxy_request_duration_seconds_sum", "outcome=\"MISS\"")).isPositive();
    assertThat(sample(m, "zcproxy_origin_requests_total")).isEqualTo(3);
    assertThat(sample(m, "zcproxy_origin_duration_seconds_count")).isEqualTo(3);
    assertThat(sample(m, "zcproxy_origin_errors_total")).isZero();
    assertThat(sample(m, "zcproxy_cache_stored_total")).isEqualTo(1);
    assertThat(sample(m, "zcproxy_cache_entries")).isEqualTo(1);
    assertThat(sample(m, "zcproxy_cache_bytes")).isPositive();
    assertThat(sample(m, "zcproxy_fills_in_flight")).isZero();
    assertThat(sample(m, "zcproxy_fill_bytes_total")).isEqualTo(cached.length);
    // Not Vert.x's HTTP server's or client's per-request metrics (tags and meter lookups on every request):
    // zcproxy_request_duration_seconds and zcproxy_origin_* count the same requests.
    assertThat(m).doesNotContain("vertx_http_server_requests_total");
    assertThat(m).doesNotContain("vertx_http_client_requests_total");
  }

  @Test
  void purgesAreCountedAndEmptyTheCacheGauges() throws Exception {
    proxy.close();
    proxy = ProxyFixture.start(origin.url(), cacheDir, "admin.token: " + TOKEN);
    traffic();
    HttpResponse<String> r = proxy.client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.server.adminPort()
            + "/purge?url=http://127.0.0.1:" + proxy.server.port() + "/c"))
        .header("Authorization", "Bearer " + TOKEN).POST(HttpRequest.BodyPublishers.noBody()).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
    String m = admin("/metrics");
    assertThat(sample(m, "zcproxy_purges_total")).isEqualTo(1);
    assertThat(sample(m, "zcproxy_purged_entries_total")).isEqualTo(1);
    assertThat(sample(m, "zcproxy_cache_entries")).isZero();
    JsonObject cache = new JsonObject(admin("/stats")).getJsonObject("cache");
    assertThat(cache.getLong("purges")).isEqualTo(1);
    assertThat(cache.getLong("purged_entries")).isEqualTo(1);
    assertThat(cache.getLong("entries")).isZero();
    int before = origin.requests("/c");
    proxy.get("/c");
    assertThat(origin.requests("/c")).isEqualTo(before + 1);
  }

  @Test
  void statsJsonKeepsItsFieldsAndMatchesTheRegistry() throws Exception {
    traffic();
    JsonObject s = new JsonObject(admin("/stats"));
    assertThat(s.getJsonObject("responses").getLong("HIT")).isEqualTo(2);
    assertThat(s.getJsonObject("responses").getLong("MISS")).isEqualTo(2);
    assertThat(s.getJsonObject("responses").getLong("PASS")).isEqualTo(1);
    JsonObject transfer = s.getJsonObject("transfer");
    long bytes = 0;
    long responses = 0;
    for (String mode : new String[] {"sendfile", "splice", "copy", "ram", "none"}) {
      bytes += transfer.getJsonObject(mode).getLong("bytes");
      responses += transfer.getJsonObject(mode).getLong("responses");
    }
    assertThat(bytes).isEqualTo(3L * cached.length + "not stored".length() + "posted".length());
    assertThat(responses).isEqualTo(5);
    assertThat(s.getJsonObject("fill").getLong("splice_bytes") + s.getJsonObject("fill").getLong("copy_bytes"))
        .isEqualTo(cached.length);
    assertThat(s.getJsonObject("origin").getLong("requests")).isEqualTo(3);
    assertThat(s.getJsonObject("origin").getLong("errors")).isZero();
    assertThat(s.getJsonObject("origin").getJsonObject("latency_ms").getLong("count")).isEqualTo(3);
    JsonObject cache = s.getJsonObject("cache");
    assertThat(cache.getLong("entries")).isEqualTo(1);
    assertThat(cache.getLong("bytes")).isPositive();
    assertThat(cache.getLong("stored")).isEqualTo(1);
    assertThat(cache.getLong("collapsed")).isZero();
    assertThat(cache.getLong("store_failures")).isZero();
    assertThat(s.getLong("bad_requests")).isZero();
    assertThat(s.getJsonObject("latency_ms").getJsonObject("HIT").getLong("count")).isEqualTo(2);
    assertThat(s.getJsonObject("latency_ms").getJsonObject("HIT").getDouble("max")).isPositive();
  }
}
