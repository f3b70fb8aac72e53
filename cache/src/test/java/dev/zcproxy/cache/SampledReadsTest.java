package dev.zcproxy.cache;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class SampledReadsTest {
  @Test
  void readsTheSameValuesAsGetIfPresent() {
    Cache<String, Integer> c = Caffeine.newBuilder().maximumSize(100).executor(Runnable::run).build();
    for (int i = 0; i < 50; i++) {
      c.put("k" + i, i);
    }
    for (int round = 0; round < 20; round++) { // past both kinds of read
      for (int i = 0; i < 60; i++) {
        assertThat(SampledReads.getIfPresent(c, "k" + i)).isEqualTo(c.getIfPresent("k" + i));
      }
    }
  }

  @Test
  void anExpiredEntryIsNotReadQuietlyEither() {
    AtomicLong nanos = new AtomicLong();
    Cache<String, String> c = Caffeine.newBuilder().expireAfterWrite(Duration.ofSeconds(10)).ticker(nanos::get)
        .executor(Runnable::run).build();
    c.put("a", "x");
    assertThat(SampledReads.getIfPresent(c, "a")).isEqualTo("x");
    nanos.set(Duration.ofSeconds(11).toNanos());
    for (int i = 0; i < 4 * SampledReads.EVERY; i++) {
      assertThat(SampledReads.getIfPresent(c, "a")).isNull();
    }
  }

  @Test
  void thePolicySeesASampleAndStillKeepsTheHotKeyAgainstOneHitWonders() {
    Cache<String, String> c = Caffeine.newBuilder().maximumSize(100).recordStats().executor(Runnable::run).build();
    c.put("hot", "h");
    int hotReads = 0;
    for (int i = 0; i < 40_000; i++) {
      c.put("once/" + i, "o"); // each one written once and never read: W-TinyLFU admits by frequency
      if (i % 5 == 0) {
        assertThat(SampledReads.getIfPresent(c, "hot")).isEqualTo("h");
        hotReads++;
      }
    }
    c.cleanUp();
    assertThat(c.policy().getIfPresentQuietly("hot")).isEqualTo("h");
    // only the sampled reads reached the cache's statistics and policy: about one in EVERY of them (8,000 reads,
    // 1,000 expected; the bounds are many standard deviations wide)
    long recorded = c.stats().requestCount();
    assertThat(recorded).isBetween((long) hotReads / SampledReads.EVERY / 2, (long) hotReads / SampledReads.EVERY * 2);
  }
}
