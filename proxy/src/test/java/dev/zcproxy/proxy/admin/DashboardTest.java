package dev.zcproxy.proxy.admin;

import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.CacheOutcome;
import dev.zcproxy.proxy.transfer.TransferMode;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

class DashboardTest {
  @Test
  void percentilesInterpolateWithinTheBucketAndCountOnlyTheWindow() {
    double[] bounds = {1, 2, 4};
    // cumulative: 10 values <= 1 ms, 10 more <= 2 ms, none more <= 4 ms, 20 in total
    JsonObject all = Dashboard.percentiles(bounds, new long[] {10, 20, 20, 20}, null);
    assertThat(all.getLong("count")).isEqualTo(20);
    assertThat(all.getDouble("p50")).isEqualTo(1.0);
    assertThat(all.getDouble("p90")).isEqualTo(1.8);
    // since an earlier reading of 10 values <= 1 ms: only the 10 in (1, 2]
    JsonObject window = Dashboard.percentiles(bounds, new long[] {10, 20, 20, 20}, new long[] {10, 10, 10, 10});
    assertThat(window.getLong("count")).isEqualTo(10);
    assertThat(window.getDouble("p50")).isEqualTo(1.5);
    // above the last bound: reported as the last bound
    assertThat(Dashboard.percentiles(bounds, new long[] {0, 0, 0, 5}, null).getDouble("p99")).isEqualTo(4.0);
    assertThat(Dashboard.percentiles(bounds, new long[] {0, 0, 0, 0}, null).getValue("p50")).isNull();
  }

  @Test
  void snapshotReadsTheRegistryHistogramsRatesAndTopUrls() {
    ProxyMetrics metrics = new ProxyMetrics();
    Dashboard d = new Dashboard(null, metrics, null);
    d.takeSnapshot();
    for (int i = 0; i < 100; i++) {
      metrics.response(CacheOutcome.HIT, TransferMode.SENDFILE, 1000, 3_000_000); // 3 ms
      metrics.urlResponse("http://a/hot", CacheOutcome.HIT, 1000);
    }
    metrics.response(CacheOutcome.MISS, TransferMode.SPLICE, 5000, 40_000_000);
    metrics.urlResponse("http://a/big", CacheOutcome.MISS, 500_000);
    JsonObject s = d.takeSnapshot();
    JsonObject hit = s.getJsonObject("latency_ms").getJsonObject("HIT");
    assertThat(hit.getLong("count")).isEqualTo(100);
    assertThat(hit.getDouble("p50")).isBetween(2.5, 5.0); // in the (2.5 ms, 5 ms] bucket
    assertThat(s.getJsonObject("latency_ms").getJsonObject("MISS").getDouble("p99")).isBetween(25.0, 50.0);
    assertThat(s.getJsonObject("point").getLong("requests")).isEqualTo(101);
    assertThat(s.getJsonObject("point").getLong("hits")).isEqualTo(100);
    assertThat(s.getDouble("hit_ratio_last_minute")).isCloseTo(100.0 / 101, org.assertj.core.data.Offset.offset(1e-9));
    assertThat(s.getJsonObject("bytes").getLong("sendfile")).isEqualTo(100_000);
    assertThat(metrics.topUrls().topByHits(1).get(0).url()).isEqualTo("http://a/hot");
    assertThat(metrics.topUrls().topByBytes(1).get(0).url()).isEqualTo("http://a/big");
    assertThat(metrics.topUrls().hits("http://a/hot")).isEqualTo(100);
    assertThat(metrics.topUrls().hits("http://a/never")).isEqualTo(-1);
  }
}
