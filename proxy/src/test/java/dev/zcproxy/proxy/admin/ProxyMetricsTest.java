package dev.zcproxy.proxy.admin;

import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.CacheOutcome;
import dev.zcproxy.proxy.transfer.TransferMode;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ProxyMetricsTest {
  /** ProxyServer registers the meters after its listener is up: what was counted before is in them, once each. */
  @Test
  void metersRegisteredLaterShowWhatWasCountedBeforeThem() {
    ProxyMetrics m = ProxyMetrics.metersLater();
    m.response(CacheOutcome.MISS, TransferMode.COPY, 5, 2_000_000);
    m.originRequest();
    m.transferFallback(TransferMode.SENDFILE, TransferMode.COPY);
    assertThat(m.registry().find("zcproxy.responses").functionCounters()).isEmpty();
    assertThat(m.toPrometheus()).doesNotContain("zcproxy_responses_total").doesNotContain("zcproxy_request_duration_seconds");
    m.registerMeters();
    m.registerMeters(); // once: a second call registers nothing twice
    String text = m.toPrometheus();
    assertThat(text)
        .contains("zcproxy_responses_total{mode=\"copy\",outcome=\"MISS\"} 1.0")
        .contains("zcproxy_request_duration_seconds_count{outcome=\"MISS\"} 1")
        .contains("zcproxy_origin_requests_total 1.0")
        .contains("zcproxy_transfer_fallbacks_total{mode=\"copy\",planned=\"sendfile\"} 1.0");
    assertThat(text.split("# TYPE zcproxy_responses_total ", -1)).hasSize(2);
    assertThat(m.registry().getMeters()).hasSameSizeAs(new ProxyMetrics().registry().getMeters());
  }

  @Test
  void countsFromManyThreadsAreExactIncludingThreadsThatEnded() throws Exception {
    ProxyMetrics m = new ProxyMetrics();
    CompletableFuture<Void> all = m.whenResponses(CacheOutcome.HIT, 4 * 10_000);
    CountDownLatch go = new CountDownLatch(1);
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < 4; t++) {
      Thread th = new Thread(() -> {
        try {
          go.await();
        } catch (InterruptedException e) {
          return;
        }
        for (int i = 0; i < 10_000; i++) {
          m.response(CacheOutcome.HIT, TransferMode.RAM, 3, 150_000); // in the (100 µs, 250 µs] bucket
          m.written(0, 3);
          m.frontHit();
        }
      });
      th.start();
      threads.add(th);
    }
    go.countDown();
    for (Thread th : threads) {
      th.join();
    }
    all.get(10, TimeUnit.SECONDS);
    // a thread that joins after the others ended folds their counts into the retired sums
    Thread late = new Thread(() -> m.response(CacheOutcome.MISS, TransferMode.SENDFILE, 7, 2_000_000));
    late.start();
    late.join();
    assertThat(m.responses(CacheOutcome.HIT)).isEqualTo(40_000);
    assertThat(m.responses(TransferMode.RAM)).isEqualTo(40_000);
    assertThat(m.bytes(TransferMode.RAM)).isEqualTo(120_000);
    assertThat(m.writtenAsBuffers()).isEqualTo(120_000);
    assertThat(m.frontHits()).isEqualTo(40_000);
    assertThat(m.responses(CacheOutcome.MISS)).isEqualTo(1);
    String text = m.toPrometheus();
    assertThat(text)
        .contains("zcproxy_responses_total{mode=\"ram\",outcome=\"HIT\"} 40000.0")
        .contains("zcproxy_request_duration_seconds_bucket{outcome=\"HIT\",le=\"1.0E-4\"} 0")
        .contains("zcproxy_request_duration_seconds_bucket{outcome=\"HIT\",le=\"2.5E-4\"} 40000")
        .contains("zcproxy_request_duration_seconds_bucket{outcome=\"HIT\",le=\"+Inf\"} 40000")
        .contains("zcproxy_request_duration_seconds_count{outcome=\"HIT\"} 40000")
        .contains("zcproxy_request_duration_seconds_sum{outcome=\"HIT\"} 6.0")
        .contains("zcproxy_request_duration_seconds_bucket{outcome=\"MISS\",le=\"0.001\"} 0")
        .contains("zcproxy_request_duration_seconds_bucket{outcome=\"MISS\",le=\"0.0025\"} 1")
        .contains("zcproxy_request_duration_seconds_max{outcome=\"HIT\"} 1.5E-4")
        .contains("zcproxy_request_duration_seconds_max{outcome=\"MISS\"} 0.002")
        .contains("# TYPE zcproxy_request_duration_seconds histogram")
        .contains("# TYPE zcproxy_request_duration_seconds_max gauge")
        .contains("zcproxy_response_bytes_total{mode=\"ram\"} 120000.0")
        .contains("zcproxy_transfer_written_bytes_total{as=\"buffer\"} 120000.0");
    JsonObject hit = new JsonObject(m.toJson()).getJsonObject("latency_ms").getJsonObject("HIT");
    assertThat(hit.getLong("count")).isEqualTo(40_000);
    assertThat(hit.getDouble("mean")).isEqualTo(0.15);
    assertThat(hit.getDouble("max")).isEqualTo(0.15);
  }

  @Test
  void countingAResponseAllocatesNothing() {
    ProxyMetrics m = new ProxyMetrics();
    for (int i = 0; i < 20_000; i++) { // warm: the thread's counters exist, the code is compiled
      m.response(CacheOutcome.HIT, TransferMode.RAM, 1024, 200_000);
    }
    com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
    long before = mx.getCurrentThreadAllocatedBytes();
    for (int i = 0; i < 20_000; i++) {
      m.response(CacheOutcome.HIT, TransferMode.RAM, 1024, 200_000);
      m.written(0, 1024);
      m.frontHit();
      m.frontHit(1024, 1024, 200_000); // the same three, counted at once
    }
    long allocated = mx.getCurrentThreadAllocatedBytes() - before;
    assertThat(allocated).isLessThan(20_000); // under a byte per response (the counter's own reading may allocate)
    assertThat(m.responses(CacheOutcome.HIT)).isEqualTo(60_000);
    assertThat(m.responses(TransferMode.RAM)).isEqualTo(60_000);
    assertThat(m.frontHits()).isEqualTo(40_000);
    assertThat(m.writtenAsBuffers()).isEqualTo(40_000 * 1024L);
    assertThat(m.requestDuration(CacheOutcome.HIT).count()).isEqualTo(60_000);
  }

  /**
   * The origin's time to a response head, counted in the tally since it left Micrometer's timer: the same families
   * and samples the timer rendered (checked against af5b1e3's output for these three values), from several threads,
   * and no allocation per record.
   */
  @Test
  void theOriginDurationRendersAsTheTimerDidAndAllocatesNothing() throws Exception {
    ProxyMetrics m = new ProxyMetrics();
    m.originResponse(2_000_000);
    Thread other = new Thread(() -> m.originResponse(150_000));
    other.start();
    other.join();
    m.originResponse(40_000_000_000L);
    assertThat(m.toPrometheus())
        .contains("# HELP zcproxy_origin_duration_seconds Time from sending a request to the origin to its response head.\n"
            + "# TYPE zcproxy_origin_duration_seconds histogram\n"
            + "zcproxy_origin_duration_seconds_bucket{le=\"1.0E-4\"} 0\n"
            + "zcproxy_origin_duration_seconds_bucket{le=\"2.5E-4\"} 1\n")
        .contains("zcproxy_origin_duration_seconds_bucket{le=\"0.001\"} 1\n"
            + "zcproxy_origin_duration_seconds_bucket{le=\"0.0025\"} 2\n")
        .contains("zcproxy_origin_duration_seconds_bucket{le=\"30.0\"} 2\n"
            + "zcproxy_origin_duration_seconds_bucket{le=\"+Inf\"} 3\n"
            + "zcproxy_origin_duration_seconds_count 3\n"
            + "zcproxy_origin_duration_seconds_sum 40.00215\n"
            + "# HELP zcproxy_origin_duration_seconds_max Time from sending a request to the origin to its response head.\n"
            + "# TYPE zcproxy_origin_duration_seconds_max gauge\n"
            + "zcproxy_origin_duration_seconds_max 40.0\n");
    JsonObject origin = new JsonObject(m.toJson()).getJsonObject("origin").getJsonObject("latency_ms");
    assertThat(origin.getLong("count")).isEqualTo(3);
    assertThat(origin.getDouble("mean")).isEqualTo(13334.05);
    assertThat(origin.getDouble("max")).isEqualTo(40000.0);
    assertThat(m.originDuration().count()).isEqualTo(3);
    assertThat(m.requestDuration(CacheOutcome.PASS).count()).isZero(); // a row of its own

    for (int i = 0; i < 20_000; i++) { // warm
      m.originResponse(300_000);
    }
    com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
    long before = mx.getCurrentThreadAllocatedBytes();
    for (int i = 0; i < 20_000; i++) {
      m.originResponse(300_000);
    }
    assertThat(mx.getCurrentThreadAllocatedBytes() - before).isLessThan(20_000);
    assertThat(m.originDuration().count()).isEqualTo(40_003);
  }
}
