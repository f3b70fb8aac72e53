package dev.zcproxy.proxy.admin;

import dev.zcproxy.cache.CacheOutcome;
import dev.zcproxy.proxy.transfer.TransferMode;
import io.netty.util.concurrent.FastThreadLocal;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * The per-response counters and latency histograms of {@link ProxyMetrics}, kept per thread: each thread
 * that counts responses (an event loop, mostly) owns a plain {@code long[]} that only it writes, so counting a
 * response is a handful of ordinary stores (no atomics, no meter looked up by tags); readers ({@code /metrics},
 * {@code /stats}, the dashboard) sum every thread's array when they ask. Counts are exact: a writer publishes each
 * store with release semantics and the last one of a response as a volatile store, which a reader's acquire read
 * of the sum sees; the counts of a thread that ended are folded into a retired array when the next thread joins.
 *
 * <p>Latency is a fixed-bucket histogram per outcome, and one more of the origin's time to a response head ({@link
 * #origin}: stored before its response is counted, so it is seen with it), each (count, sum in nanoseconds, a count
 * per bucket bound) with a
 * maximum over a sliding window of {@link #MAX_ROTATIONS} rotations of {@link #ROTATE_NANOS}, as Micrometer's
 * timers in the Prometheus registry keep it (expiry one step, one minute, in three buffers).
 */
final class ResponseTally {
  private static final VarHandle LONGS = MethodHandles.arrayElementVarHandle(long[].class);
  static final int OUTCOMES = CacheOutcome.values().length;
  /** The latency row after the outcomes' ones: the origin's time to a response head ({@link #origin}). */
  static final int ORIGIN = OUTCOMES;
  /** Latency rows: one per outcome, then {@link #ORIGIN}. */
  private static final int ROWS = OUTCOMES + 1;
  static final int MODES = TransferMode.values().length;
  /** How long one maximum buffer covers; the reported maximum spans the last {@link #MAX_ROTATIONS} of them. */
  static final long ROTATE_NANOS = TimeUnit.SECONDS.toNanos(20);
  static final int MAX_ROTATIONS = 3;

  private final long[] boundsNanos;
  /** Index layout of a thread's array. */
  private final int byOutcomeAndMode = 0;
  private final int modeBytes = byOutcomeAndMode + OUTCOMES * MODES;
  private final int writtenFile = modeBytes + MODES;
  private final int writtenBuffer = writtenFile + 1;
  private final int frontHits = writtenBuffer + 1;
  private final int latency = frontHits + 1;
  /** Per outcome: count, sum (ns), then one count per bound and one above the last. */
  private final int latencyStride;
  private final int maxima;
  /** Per outcome and rotation: the rotation's number, its maximum (ns). */
  private final int maximaStride = 2 * MAX_ROTATIONS;
  private final int size;

  /** Netty's thread-local: an indexed read on an event loop (a {@code FastThreadLocalThread}), a map elsewhere. */
  private final FastThreadLocal<long[]> own = new FastThreadLocal<>() {
    @Override
    protected long[] initialValue() {
      return join();
    }
  };
  /** Every live thread's array, with its owner. */
  private final List<Slot> slots = new CopyOnWriteArrayList<>();
  /** The counts of threads that ended (guarded by {@code this}). */
  private final long[] retired;

  private record Slot(Thread owner, long[] counts) {}

  /** @param boundsNanos the histogram's bucket upper bounds, ascending */
  ResponseTally(long[] boundsNanos) {
    this.boundsNanos = boundsNanos.clone();
    this.latencyStride = 2 + boundsNanos.length + 1;
    this.maxima = latency + ROWS * latencyStride;
    this.size = maxima + ROWS * maximaStride;
    this.retired = new long[size];
  }

  private synchronized long[] join() {
    for (Slot s : slots) {
      if (!s.owner().isAlive()) { // its last stores happened-before isAlive() returned false
        long[] c = s.counts();
        for (int i = 0; i < maxima; i++) {
          retired[i] += c[i];
        }
        for (int m = maxima; m < size; m += 2) { // per rotation: the newer rotation's maximum, or the larger
          if (c[m] > retired[m] || c[m] == retired[m] && c[m + 1] > retired[m + 1]) {
            retired[m] = c[m];
            retired[m + 1] = c[m + 1];
          }
        }
        slots.remove(s);
      }
    }
    long[] counts = new long[size];
    slots.add(new Slot(Thread.currentThread(), counts));
    return counts;
  }

  /** Counts a response on the calling thread; {@code durationNanos < 0} records no latency. */
  void response(CacheOutcome outcome, TransferMode mode, long bodyBytes, long durationNanos) {
    response(own.get(), outcome, mode, bodyBytes, durationNanos, durationNanos >= 0 ? System.nanoTime() : 0);
  }

  /** A hit answered in front of Vert.x from RAM: {@link #frontHit}, {@link #written} and {@link #response} at once. */
  void frontHit(long handedBytes, long bodyBytes, long durationNanos, long nowNanos) {
    long[] c = own.get();
    add(c, frontHits, 1);
    add(c, writtenBuffer, handedBytes);
    response(c, CacheOutcome.HIT, TransferMode.RAM, bodyBytes, durationNanos, nowNanos);
  }

  /** A hit answered in front of Vert.x from its file: {@link #frontHit}, {@link #written} and {@link #response} at once. */
  void frontFileHit(long regionBytes, long bufferBytes, long bodyBytes, long durationNanos) {
    long[] c = own.get();
    add(c, frontHits, 1);
    add(c, writtenFile, regionBytes);
    add(c, writtenBuffer, bufferBytes);
    // a small body read whole with its head left as a copy (TransferPlanner.settle's rule for the normal path)
    TransferMode mode = regionBytes == 0 && bufferBytes > 0 ? TransferMode.COPY : TransferMode.SENDFILE;
    response(c, CacheOutcome.HIT, mode, bodyBytes, durationNanos, System.nanoTime());
  }

  /** @param nowNanos {@link System#nanoTime} at the response's end (the latency maximum's rotation) */
  private void response(long[] c, CacheOutcome outcome, TransferMode mode, long bodyBytes, long durationNanos,
      long nowNanos) {
    int o = outcome.ordinal();
    if (durationNanos >= 0) {
      record(c, o, durationNanos, nowNanos);
    }
    add(c, modeBytes + mode.ordinal(), bodyBytes);
    int i = byOutcomeAndMode + o * MODES + mode.ordinal();
    LONGS.setVolatile(c, i, c[i] + 1); // last: a waiter that sees nothing pending after it sees this
  }

  /**
   * Records a latency in row {@code row}: count, sum, bucket and the current rotation's maximum.
   *
   * @param nowNanos {@link System#nanoTime} now (the latency maximum's rotation)
   */
  private void record(long[] c, int row, long nanos, long nowNanos) {
    int at = latency + row * latencyStride;
    add(c, at + 1, nanos);
    add(c, at + 2 + bucket(nanos), 1);
    add(c, at, 1);
    long rotation = nowNanos / ROTATE_NANOS;
    int m = maxima + row * maximaStride + 2 * (int) Math.floorMod(rotation, (long) MAX_ROTATIONS);
    if (c[m] != rotation) {
      LONGS.setRelease(c, m + 1, nanos);
      LONGS.setRelease(c, m, rotation);
    } else if (nanos > c[m + 1]) {
      LONGS.setRelease(c, m + 1, nanos);
    }
  }

  /** Records on the calling thread how long the origin took to a response head ({@code nanos >= 0}). */
  void origin(long nanos) {
    record(own.get(), ORIGIN, nanos, System.nanoTime());
  }

  /** Body bytes a response handed its client connection as file regions and as buffers. */
  void written(long fileRegionBytes, long bufferBytes) {
    long[] c = own.get();
    add(c, writtenFile, fileRegionBytes);
    add(c, writtenBuffer, bufferBytes);
  }

  void frontHit() {
    long[] c = own.get();
    add(c, frontHits, 1);
  }

  private static void add(long[] c, int i, long n) {
    LONGS.setRelease(c, i, c[i] + n); // only the owner writes: no read-modify-write race
  }

  private int bucket(long nanos) {
    long[] b = boundsNanos;
    int i = 0;
    while (i < b.length && nanos > b[i]) {
      i++;
    }
    return i;
  }

  private synchronized long sum(int i) {
    long n = retired[i];
    for (Slot s : slots) {
      n += (long) LONGS.getAcquire(s.counts(), i);
    }
    return n;
  }

  long responses(CacheOutcome outcome, TransferMode mode) {
    return sum(byOutcomeAndMode + outcome.ordinal() * MODES + mode.ordinal());
  }

  long responses(CacheOutcome outcome) {
    long n = 0;
    for (TransferMode m : TransferMode.values()) {
      n += responses(outcome, m);
    }
    return n;
  }

  long responses(TransferMode mode) {
    long n = 0;
    for (CacheOutcome o : CacheOutcome.values()) {
      n += responses(o, mode);
    }
    return n;
  }

  long bytes(TransferMode mode) {
    return sum(modeBytes + mode.ordinal());
  }

  long writtenAsFileRegions() {
    return sum(writtenFile);
  }

  long writtenAsBuffers() {
    return sum(writtenBuffer);
  }

  long frontHits() {
    return sum(frontHits);
  }

  /** The bucket upper bounds in nanoseconds. */
  long[] boundsNanos() {
    return boundsNanos.clone();
  }

  /** One outcome's latency: count, sum and window maximum (ns), and the count per bucket (not cumulative; last: above every bound). */
  record Latency(long count, long sumNanos, long maxNanos, long[] buckets) {}

  /** The latency of {@code outcome}'s responses so far, summed over every thread. */
  Latency latency(CacheOutcome outcome) {
    return latency(outcome.ordinal());
  }

  /** The origin's time to a response head so far ({@link #origin}), summed over every thread. */
  Latency originLatency() {
    return latency(ORIGIN);
  }

  private Latency latency(int row) {
    int at = latency + row * latencyStride;
    long[] buckets = new long[boundsNanos.length + 1];
    for (int b = 0; b < buckets.length; b++) {
      buckets[b] = sum(at + 2 + b);
    }
    return new Latency(sum(at), sum(at + 1), max(row), buckets);
  }

  /** The longest latency of row {@code row} recorded in the current and the previous two rotations. */
  private synchronized long max(int row) {
    long oldest = System.nanoTime() / ROTATE_NANOS - (MAX_ROTATIONS - 1);
    long max = 0;
    for (int k = -1; k < slots.size(); k++) {
      long[] c = k < 0 ? retired : slots.get(k).counts();
      for (int r = 0; r < MAX_ROTATIONS; r++) {
        int m = maxima + row * maximaStride + 2 * r;
        long rotation = (long) LONGS.getAcquire(c, m);
        long v = (long) LONGS.getAcquire(c, m + 1);
        if (rotation >= oldest && v > max) {
          max = v;
        }
      }
    }
    return max;
  }
}
