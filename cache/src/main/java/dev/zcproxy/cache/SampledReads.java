package dev.zcproxy.cache;

import com.github.benmanes.caffeine.cache.Cache;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Reads from a Caffeine cache that tell its eviction policy of one read in {@link #EVERY}, picked at random, and make
 * the others quietly ({@code Policy.getIfPresentQuietly}: the same value, no read-buffer entry, no maintenance).
 *
 * <p>Why: a hit reads several maps keyed by its URL (index, head cache, RAM tier, freshness memo, URL counts). With
 * one hot key each recorded read reorders a node that is already in the CPU cache; with thousands of distinct keys
 * every recorded read later reorders a node and bumps a frequency counter somewhere else in memory when Caffeine
 * drains its read buffer, and that drain was about a sixth of an event loop's time in the 10,000-key profile
 * ({@code loadtest/results/KEYS-2026-12-02c.md}). Caffeine's read buffers already drop reads when they are full, so
 * its policy is built to work from a sample: recording a uniform sample keeps each key's share of the recorded reads
 * (what W-TinyLFU's frequency sketch and the LRU order compare), only with fewer of them. Expiry is checked by the
 * quiet read too; a cache whose expiry moves on read must not use this.
 *
 * <p>Stateless: the sample comes from the calling thread's {@link ThreadLocalRandom}.
 */
public final class SampledReads {
  /** One read in this many is recorded (a power of two). */
  public static final int EVERY = 8;

  private SampledReads() {}

  /** {@code cache.getIfPresent(key)}, recorded for the cache's policy one time in {@link #EVERY}. */
  public static <K, V> V getIfPresent(Cache<K, V> cache, K key) {
    return recorded() ? cache.getIfPresent(key) : cache.policy().getIfPresentQuietly(key);
  }

  /** Whether this read is one of the sample the policy is told of (true one time in {@link #EVERY}, at random). */
  public static boolean recorded() {
    return (ThreadLocalRandom.current().nextInt() & (EVERY - 1)) == 0;
  }
}
