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
 * <p>Latency is a fixed-bucket histogram per outcome (count, sum in nanoseconds, a count per bucket bound) and a
 * maximum over a sliding window of {@link #MAX_ROTATIONS} rotations of {@link #ROTATE_NANOS}, as Micrometer's
 * timers in the Prometheus registry keep it (expiry one step, one minute, in three buffers).
 */
final class ResponseTally {
  private static final VarHandle LONGS = MethodHandles.arrayElementVarHandle(long[].class);
  static final int OUTCOMES = CacheOutcome.values().length;
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
    this.maxima = latency + OUTCOMES * latencyStride;
    this.size = maxima + OUTCOMES * maximaStride;
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
  void frontFileHit(long regionBytes, long bodyBytes, long durationNanos) {
    long[] c = own.get();
    add(c, frontHits, 1);
    add(c, writtenFile, regionBytes);
    response(c, CacheOutcome.HIT, TransferMode.SENDFILE, bodyBytes, durationNanos, System.nanoTime());
  }

  /** @param nowNanos {@link System#nanoTime} at the response's end (the latency maximum's rotation) */
  private void response(long[] c, CacheOutcome outcome, TransferMode mode, long bodyBytes, long durationNanos,
      long nowNanos) {
    int o = outcome.ordinal();
    if (durationNanos >= 0) {
      int at = latency + o * latencyStride;
      add(c, at + 1, durationNanos);
      add(c, at + 2 + bucket(durationNanos), 1);
      add(c, at, 1);
      long rotation = nowNanos / ROTATE_NANOS;
      int m = maxima + o * maximaStride + 2 * (int) Math.floorMod(rotation, (long) MAX_ROTATIONS);
      if (c[m] != rotation) {
        LONGS.setRelease(c, m + 1, durationNanos);
        LONGS.setRelease(c, m, rotation);
      } else if (durationNanos > c[m + 1]) {
        LONGS.setRelease(c, m + 1, durationNanos);
      }
    }
    add(c, modeBytes + mode.ordinal(), bodyBytes);
    int i = byOutcomeAndMode + o * MODES + mode.ordinal();
    LONGS.setVolatile(c, i, c[i] + 1); // last: a waiter that sees nothing pending after it sees this
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
    int at = latency + outcome.ordinal() * latencyStride;
    long[] buckets = new long[boundsNanos.length + 1];
    for (int b = 0; b < buckets.length; b++) {
      buckets[b] = sum(at + 2 + b);
    }
    return new Latency(sum(at), sum(at + 1), max(outcome), buckets);
  }

  /** The longest latency of {@code outcome} recorded in the current and the previous two rotations. */
  private synchronized long max(CacheOutcome outcome) {
    long oldest = System.nanoTime() / ROTATE_NANOS - (MAX_ROTATIONS - 1);
    long max = 0;
    for (int k = -1; k < slots.size(); k++) {
      long[] c = k < 0 ? retired : slots.get(k).counts();
      for (int r = 0; r < MAX_ROTATIONS; r++) {
        int m = maxima + outcome.ordinal() * maximaStride + 2 * r;
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
