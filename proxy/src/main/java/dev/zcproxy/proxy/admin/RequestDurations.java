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
 * A latency histogram of {@link ResponseTally} in the Prometheus registry: a histogram family {@code <name>}
 * (buckets in seconds, {@code +Inf}, count, sum) and a gauge family {@code <name>_max}, the samples Micrometer's
 * timer with service-level objectives rendered before; by {@code outcome} for the requests' latency, without labels
 * for the origin's ({@link #origin}).
 */
final class RequestDurations implements MultiCollector {
  private final ResponseTally tally;
  private final String name;
  private final String help;
  /** Whether this is the origin's row (one unlabelled point) rather than the outcomes'. */
  private final boolean origin;

  /** The requests' latency by outcome. */
  RequestDurations(ResponseTally tally, String name, String help) {
    this(tally, name, help, false);
  }

  private RequestDurations(ResponseTally tally, String name, String help, boolean origin) {
    this.tally = tally;
    this.name = name;
    this.help = help;
    this.origin = origin;
  }

  /** The origin's time to a response head ({@link ResponseTally#origin}), one point without labels. */
  static RequestDurations origin(ResponseTally tally, String name, String help) {
    return new RequestDurations(tally, name, help, true);
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
    if (origin) {
      add(tally.originLatency(), Labels.EMPTY, upper, points, maxima);
    } else {
      for (CacheOutcome o : CacheOutcome.values()) {
        add(tally.latency(o), Labels.of("outcome", o.name()), upper, points, maxima);
      }
    }
    return new MetricSnapshots(
        new io.prometheus.metrics.model.snapshots.HistogramSnapshot(new MetricMetadata(name, help), points),
        new GaugeSnapshot(new MetricMetadata(name + "_max", help), maxima));
  }

  private static void add(ResponseTally.Latency l, Labels labels, double[] upper, List<HistogramDataPointSnapshot> points,
      List<GaugeSnapshot.GaugeDataPointSnapshot> maxima) {
    points.add(new HistogramDataPointSnapshot(ClassicHistogramBuckets.of(upper, l.buckets()), l.sumNanos() / 1e9,
        labels, Exemplars.EMPTY, 0L));
    maxima.add(new GaugeSnapshot.GaugeDataPointSnapshot(l.maxNanos() / 1e9, labels, null));
  }

  @Override
  public List<String> getPrometheusNames() {
    return List.of(name, name + "_max");
  }

  /** Micrometer's view of one outcome's latency (base unit nanoseconds; bucket counts cumulative). */
  static HistogramSnapshot snapshot(ResponseTally tally, CacheOutcome outcome) {
    return snapshot(tally, tally.latency(outcome));
  }

  /** Micrometer's view of the origin's latency, as {@link #snapshot(ResponseTally, CacheOutcome)}. */
  static HistogramSnapshot originSnapshot(ResponseTally tally) {
    return snapshot(tally, tally.originLatency());
  }

  private static HistogramSnapshot snapshot(ResponseTally tally, ResponseTally.Latency l) {
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
