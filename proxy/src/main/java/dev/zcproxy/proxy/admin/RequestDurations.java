package dev.zcproxy.proxy.admin;

import dev.zcproxy.cache.CacheOutcome;
import io.micrometer.core.instrument.distribution.CountAtBucket;
import io.micrometer.core.instrument.distribution.HistogramSnapshot;
import io.micrometer.core.instrument.distribution.ValueAtPercentile;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.ClassicHistogramBuckets;
import io.prometheus.metrics.model.snapshots.Exemplars;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot.HistogramDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricMetadata;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.util.ArrayList;
import java.util.List;

/**
 * The request latency histogram of {@link ResponseTally} in the Prometheus registry: a histogram family
 * {@code <name>} by {@code outcome} (buckets in seconds, {@code +Inf}, count, sum) and a gauge family
 * {@code <name>_max}, the samples Micrometer's timer with service-level objectives rendered before.
 */
final class RequestDurations implements MultiCollector {
  private final ResponseTally tally;
  private final String name;
  private final String help;

  RequestDurations(ResponseTally tally, String name, String help) {
    this.tally = tally;
    this.name = name;
    this.help = help;
  }

  @Override
  public MetricSnapshots collect() {
    long[] bounds = tally.boundsNanos();
    double[] upper = new double[bounds.length + 1];
    for (int i = 0; i < bounds.length; i++) {
      upper[i] = bounds[i] / 1e9;
    }
    upper[bounds.length] = Double.POSITIVE_INFINITY;
    List<HistogramDataPointSnapshot> points = new ArrayList<>();
    List<GaugeSnapshot.GaugeDataPointSnapshot> maxima = new ArrayList<>();
    for (CacheOutcome o : CacheOutcome.values()) {
      ResponseTally.Latency l = tally.latency(o);
      Labels labels = Labels.of("outcome", o.name());
      points.add(new HistogramDataPointSnapshot(ClassicHistogramBuckets.of(upper, l.buckets()), l.sumNanos() / 1e9,
          labels, Exemplars.EMPTY, 0L));
      maxima.add(new GaugeSnapshot.GaugeDataPointSnapshot(l.maxNanos() / 1e9, labels, null));
    }
    return new MetricSnapshots(
        new io.prometheus.metrics.model.snapshots.HistogramSnapshot(new MetricMetadata(name, help), points),
        new GaugeSnapshot(new MetricMetadata(name + "_max", help), maxima));
  }

  @Override
  public List<String> getPrometheusNames() {
    return List.of(name, name + "_max");
  }

  /** Micrometer's view of one outcome's latency (base unit nanoseconds; bucket counts cumulative). */
  static HistogramSnapshot snapshot(ResponseTally tally, CacheOutcome outcome) {
    ResponseTally.Latency l = tally.latency(outcome);
    long[] bounds = tally.boundsNanos();
    CountAtBucket[] counts = new CountAtBucket[bounds.length];
    long cumulative = 0;
    for (int i = 0; i < bounds.length; i++) {
      cumulative += l.buckets()[i];
      counts[i] = new CountAtBucket((double) bounds[i], cumulative);
    }
    return new HistogramSnapshot(l.count(), l.sumNanos(), l.maxNanos(), new ValueAtPercentile[0], counts, null);
  }
}
