package dev.zcproxy.proxy.admin;

import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.CacheOutcome;
import org.junit.jupiter.api.Test;

class TopUrlsTest {
  // SEEDED: which responses tell W-TinyLFU of a read is random (TopUrls.SAMPLE), and with a thread's own random about 1
  // run in 100 of the one-hit-wonder tests below lost a frequent URL's counts (its policy let the URL go and it came
  // back at zero: a sampled map's known cost, in the class comment). A seeded sample makes each run the same.
  @Test
  void staysBoundedUnderManyOneHitWondersAndKeepsTheHotUrls() {
    TopUrls top = new TopUrls(100, new java.util.Random(1)::nextInt); // the sample seeded: see SEEDED
    for (int i = 0; i < 20_000; i++) {
      top.record("http://a/once/" + i, CacheOutcome.MISS, 10);
      if (i % 10 == 0) {
        top.record("http://a/hot", CacheOutcome.HIT, 1000);
        top.record("http://a/warm", i % 20 == 0 ? CacheOutcome.STALE : CacheOutcome.MISS, 5);
      }
    }
    assertThat(top.tracked()).isLessThanOrEqualTo(100);
    assertThat(top.hits("http://a/hot")).isEqualTo(2000);
    assertThat(top.topByHits(2)).extracting(TopUrls.Row::url).containsExactly("http://a/hot", "http://a/warm");
    assertThat(top.topByHits(2).get(1).hits()).isEqualTo(1000); // STALE counts as a hit, MISS does not
    assertThat(top.topByHits(2).get(1).requests()).isEqualTo(2000);
    assertThat(top.topByBytes(1).get(0).bytes()).isEqualTo(2_000_000);
  }

  @Test
  void aRunOfHitsOnOneUrlIsCountedExactlyFromEveryThread() throws Exception {
    TopUrls top = new TopUrls(100);
    int runs = TopUrls.REREAD * 3 + 7; // past several re-reads of the map
    Thread[] threads = new Thread[3];
    for (int t = 0; t < threads.length; t++) {
      threads[t] = new Thread(() -> {
        for (int i = 0; i < runs; i++) {
          top.record(new String("http://a/hot"), CacheOutcome.HIT, 10); // an equal URL, not the same String
        }
        top.record("http://a/other", CacheOutcome.MISS, 1);
        top.record("http://a/hot", CacheOutcome.MISS, 1);
      });
      threads[t].start();
    }
    for (Thread t : threads) {
      t.join(10_000);
    }
    assertThat(top.hits("http://a/hot")).isEqualTo(3L * runs);
    TopUrls.Row hot = top.topByHits(1).get(0);
    assertThat(hot.url()).isEqualTo("http://a/hot");
    assertThat(hot.requests()).isEqualTo(3L * runs + 3);
    assertThat(hot.bytes()).isEqualTo(3L * runs * 10 + 3);
    assertThat(top.topByHits(2).get(1).requests()).isEqualTo(3);
  }

  @Test
  void distinctUrlsInTurnAreEachCountedExactlyThoughTheMapSeesASample() throws Exception {
    TopUrls top = new TopUrls(1000);
    int urls = 500;
    int rounds = TopUrls.SAMPLE * 4 + 3; // every URL read quietly most of the time, recorded some
    Thread[] threads = new Thread[2];
    for (int t = 0; t < threads.length; t++) {
      int thread = t;
      threads[t] = new Thread(() -> {
        for (int r = 0; r < rounds; r++) {
          for (int i = 0; i < urls; i++) {
            top.record("http://a/k" + i, (i + r + thread) % 3 == 0 ? CacheOutcome.MISS : CacheOutcome.HIT, i);
          }
        }
      });
      threads[t].start();
    }
    for (Thread t : threads) {
      t.join(30_000);
    }
    assertThat(top.tracked()).isEqualTo(urls);
    for (TopUrls.Row row : top.topByHits(urls)) {
      int i = Integer.parseInt(row.url().substring("http://a/k".length()));
      long misses = 0;
      for (int r = 0; r < rounds; r++) {
        for (int thread = 0; thread < threads.length; thread++) {
          misses += (i + r + thread) % 3 == 0 ? 1 : 0;
        }
      }
      assertThat(row.requests()).as(row.url()).isEqualTo(2L * rounds);
      assertThat(row.hits()).as(row.url()).isEqualTo(2L * rounds - misses);
      assertThat(row.bytes()).as(row.url()).isEqualTo(2L * rounds * i);
    }
  }

  @Test
  void aUrlAskedForOftenAmongOthersOutlastsOneHitWonders() {
    TopUrls top = new TopUrls(100, new java.util.Random(1)::nextInt); // the sample seeded: see SEEDED
    for (int i = 0; i < 50_000; i++) {
      top.record("http://a/once/" + i, CacheOutcome.MISS, 10);
      top.record("http://a/often/" + (i % 20), CacheOutcome.HIT, 1); // never twice in a row: read quietly mostly
    }
    for (int k = 0; k < 20; k++) {
      assertThat(top.hits("http://a/often/" + k)).as("often " + k).isEqualTo(2500);
    }
  }

  @Test
  void tunnelsSynthesisedAnswersAndOverlongUrlsAreNotCounted() {
    TopUrls top = new TopUrls(100);
    top.record("http://a/x", CacheOutcome.PIPE, 10);
    top.record("http://a/y", CacheOutcome.SYNTH, 10);
    String longUrl = "http://a/" + "q".repeat(TopUrls.MAX_URL_CHARS);
    top.record(longUrl, CacheOutcome.HIT, 10);
    assertThat(top.hits("http://a/x")).isEqualTo(-1);
    assertThat(top.hits("http://a/y")).isEqualTo(-1);
    assertThat(top.hits(longUrl)).isEqualTo(-1);
    assertThat(top.tracked()).isZero();
  }
}
