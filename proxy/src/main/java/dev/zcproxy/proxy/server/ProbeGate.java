package dev.zcproxy.proxy.server;

import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Whether a file hit on a full {@link RamTier} may probe it (and so, if its policy keeps the probe, have the body read
 * in): every one while reads pay, fewer while they buy no RAM hits.
 *
 * <p>Under keys hit uniformly, more than the tier holds, every body read in displaces one hit as often (W-TinyLFU admits
 * a few newcomers at random among equals), so the reads and the probes are work for nothing (4 KiB keys: 19,164 of
 * 21,450 bodies read in were evicted again, loadtest/results/KEYS-2026-12-03b.md). Each {@value #EPOCH} lookups (RAM
 * hits and file hits of bodies the tier admits) the gate compares the share of RAM hits with the share it last took
 * for a change: when the epoch read bodies into the full tier and the share did not rise by {@value #MARGIN_PERCENT}
 * points, it lets only 1 in 2^{@value #MAX_SHIFT} file hits probe; a rise of as much doubles that share (step by step:
 * closing the gate itself raises the share a little, as fewer probes hold the bodies' places), and a fall of as much
 * (the traffic changed) lets every file hit probe again. An epoch without such reads keeps it.
 *
 * <p>Thread-safe: the counts are atomic (one add per lookup); an epoch's end changes the figures under this object's
 * lock, once an epoch; the share is a volatile read.
 */
final class ProbeGate {
  /** Lookups per epoch (a power of two). */
  static final int EPOCH = 8192;
  /** The rise (and fall) in RAM hit share, in percentage points, taken for a change. */
  static final int MARGIN_PERCENT = 2;
  /** The least share of file hits that may probe: 1 in 2^MAX_SHIFT. */
  static final int MAX_SHIFT = 6;

  private static final long RAM_HIT = (1L << 32) + 1;

  /** This epoch's lookups (low 32 bits) and RAM hits among them (high 32 bits). */
  private final AtomicLong counts = new AtomicLong();
  /** Bodies read into the full tier this epoch. */
  private final AtomicInteger reads = new AtomicInteger();
  /** The share of RAM hits (1/10,000ths) last taken for a rise or a fall, -1 before the first epoch (under the lock). */
  private int reference = -1;
  /** File hits probe 1 in 2^shift (0: all). */
  private volatile int shift;

  /** A lookup answered from RAM. */
  void ramHit() {
    count(RAM_HIT);
  }

  /** A lookup answered from the file, of a body the tier admits. */
  void fileHit() {
    count(1);
  }

  /** A body read into the full tier (a probe its policy kept). */
  void readIntoFullTier() {
    reads.incrementAndGet();
  }

  /** Whether this file hit may probe the full tier: all of them, or 1 in 2^shift at random. */
  boolean mayProbe() {
    int s = shift;
    return s == 0 || (ThreadLocalRandom.current().nextInt() & ((1 << s) - 1)) == 0;
  }

  /** The share of file hits that may probe, as 1 in this. */
  int oneIn() {
    return 1 << shift;
  }

  private void count(long what) {
    long c = counts.addAndGet(what);
    if ((c & (EPOCH - 1)) == 0) {
      endEpoch((int) (c >>> 32));
    }
  }

  private synchronized void endEpoch(int ramHits) {
    counts.addAndGet(-(((long) ramHits << 32) + EPOCH)); // lookups counted meanwhile stay in the next epoch
    int share = (int) (ramHits * 10_000L / EPOCH);
    int read = reads.getAndSet(0);
    int margin = MARGIN_PERCENT * 100;
    int s = shift;
    if (reference < 0 || share <= reference - margin) {
      s = 0; // fewer RAM hits: the traffic changed, let the policy weigh newcomers again
      reference = share;
    } else if (share >= reference + margin) {
      s = Math.max(0, s - 1);
      reference = share;
    } else if (read > 0) {
      s = MAX_SHIFT; // bodies read in bought no RAM hits: at once, as a cell of uniform keys lasts seconds
    }
    shift = s;
  }
}
