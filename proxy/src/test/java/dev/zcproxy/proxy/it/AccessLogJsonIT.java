package dev.zcproxy.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.CacheOutcome;
import io.vertx.core.json.JsonObject;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code logging.access-log-format: json}: one JSON object per response from the real
 * {@code zcproxy.access} logger, with the origin's status and time when the origin was asked and
 * without them for a hit.
 */
class AccessLogJsonIT extends OriginAndProxy {
  @RegisterExtension
  final AccessLogCapture access = new AccessLogCapture();
  final BlockingQueue<String> lines = access.lines;

  @BeforeEach
  void start() throws Exception {
    origin.serve("/j", "json body".getBytes(java.nio.charset.StandardCharsets.US_ASCII), "Cache-Control", "max-age=600");
    proxy = ProxyFixture.start(origin.url(), cacheDir, "logging.access-log: stdout", "logging.access-log-format: json");
  }

  private JsonObject next() throws InterruptedException {
    String s = lines.poll(20, TimeUnit.SECONDS);
    assertThat(s).as("an access line within 20 s").isNotNull();
    return new JsonObject(s);
  }

  @Test
  void missCarriesTheOriginsStatusAndTimeAndAHitDoesNot() throws Exception {
    proxy.get("/j?q=%22a%20b%22");
    proxy.server.metrics().whenStored(1).get(20, TimeUnit.SECONDS);
    JsonObject miss = next();
    assertThat(miss.getString("outcome")).isEqualTo("MISS");
    assertThat(miss.getString("method")).isEqualTo("GET");
    assertThat(miss.getString("url")).isEqualTo("/j?q=%22a%20b%22");
    assertThat(miss.getString("client")).isEqualTo("127.0.0.1");
    assertThat(miss.getInteger("status")).isEqualTo(200);
    assertThat(miss.getLong("bytes")).isEqualTo("json body".length());
    assertThat(miss.getBoolean("complete")).isTrue();
    assertThat(miss.getInteger("origin_status")).isEqualTo(200);
    assertThat(miss.getLong("origin_us")).isNotNegative().isLessThanOrEqualTo(miss.getLong("duration_us"));
    assertThat(miss.getString("time")).endsWith("Z");

    assertThat(proxy.get("/j?q=%22a%20b%22").headers().firstValue("x-cache")).hasValue("HIT");
    proxy.server.metrics().whenResponses(CacheOutcome.HIT, 1).get(20, TimeUnit.SECONDS);
    JsonObject hit = next();
    assertThat(hit.getString("outcome")).isEqualTo("HIT");
    assertThat(hit.getLong("bytes")).isEqualTo("json body".length());
    assertThat(hit.containsKey("origin_status")).isFalse();
    assertThat(origin.requests("/j")).isEqualTo(1);
  }
}
