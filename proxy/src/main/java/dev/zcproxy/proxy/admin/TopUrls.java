package dev.zcproxy.proxy.admin;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.zcproxy.cache.CacheOutcome;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;

/**
 * Requests, cache hits and body bytes per URL (primary cache key) for the most requested URLs only:
 * a Caffeine map bounded to {@code capacity} URLs whose W-TinyLFU admission keeps the frequent ones
 * and lets one-hit wonders go, so counting costs O(1) per response and memory stays bounded whatever
 * the number of distinct URLs (URLs longer than {@link #MAX_URL_CHARS} are not counted). A URL's counts
 * start again from zero if it was evicted and comes back: now and then (about 1 run in 100 of TopUrlsTest's
 * one-hit-wonder tests with a 100-URL map) a frequent URL too, as the policy hears of only a sample of its reads.
 *
 * <p>A tracked URL is counted on every response, but the map's eviction policy is told of only a sample of them:
 * once a URL was counted {@link #SAMPLE} times, a response for it (other than the thread's last URL) looks it up without
 * recording an access ({@code getIfPresentQuietly}: no read buffer, frequency sketch or access-order update), and with a
 * recorded read 1 in {@link #SAMPLE} times at random, as a run of one URL is every {@link #REREAD}th time. W-TinyLFU's
 * counters stop at 15 and are halved every ten reads per URL tracked, so a URL's first reads are what sets it apart from
 * one-hit wonders and those are all recorded; past them a uniform sample keeps the order (one recorded read per
 * response made this map cost more per distinct URL than the rest of a hit's lookup:
 * loadtest/results/PERKEY-2026-12-03f.md). A URL not tracked yet is inserted at once.
 *
 * <p>Thread-safe: the map is Caffeine's and the counts are {@link LongAdder}s; each thread's last URL is its own.
 */
public final class TopUrls {
  /** The counts of one URL. */
  static final class Counts {
    final LongAdder requests = new LongAdder();
    final LongAdder hits = new LongAdder();
    final LongAdder bytes = new LongAdder();
  }

  /** One URL's counts at the time of {@link #top}. */
  public record Row(String url, long requests, long hits, long bytes) {}

  /** Longer URLs are not counted, so the map's memory stays bounded by capacity × this. */
  static final int MAX_URL_CHARS = 1024;
  private static final Function<String, Counts> NEW = k -> new Counts();
  private final Cache<String, Counts> counts;
  /** Reads of {@link #counts} that do not tell its eviction policy. */
  private final com.github.benmanes.caffeine.cache.Policy<String, Counts> quiet;
  /** A tracked URL's response is a recorded read of the map 1 in this many times (a power of two). */
  static final int SAMPLE = 16;
  /** How many times in a row a thread counts a URL on the counts it looked up, before it looks them up again. */
  static final int REREAD = 64;
  /** Netty's thread-local: an indexed read on an event loop (a {@code FastThreadLocalThread}), a map elsewhere. */
  private final io.netty.util.concurrent.FastThreadLocal<Last> last = new io.netty.util.concurrent.FastThreadLocal<>() {
    @Override
    protected Last initialValue() {
      return new Last();
    }
  };

  /** Draws which tracked URL's response is a recorded read: the thread's own random, or a seeded one in tests. */
  private final java.util.function.IntSupplier draw;

  /** @param capacity how many URLs are tracked at most */
  public TopUrls(int capacity) {
    this(capacity, () -> java.util.concurrent.ThreadLocalRandom.current().nextInt());
  }

  /**
   * @param draw random ints deciding which responses are recorded reads (a seeded source makes a single-threaded
   *     test's evictions repeatable: which URLs W-TinyLFU lets go depends on which reads it was told of)
   */
  TopUrls(int capacity, java.util.function.IntSupplier draw) {
    // maintenance on the calling thread: no task per write handed to the common pool
    this.counts = Caffeine.newBuilder().maximumSize(capacity).executor(Runnable::run).build();
    this.quiet = counts.policy();
    this.draw = draw;
  }

  /** Counts one response for {@code url}: HIT, STALE and REVALIDATED are hits; PIPE and SYNTH are not counted. */
  public void record(String url, CacheOutcome outcome, long bodyBytes) {
    if (url == null || url.length() > MAX_URL_CHARS || outcome == CacheOutcome.PIPE || outcome == CacheOutcome.SYNTH) {
      return;
    }
    Counts c = countsOf(url);
    c.requests.increment();
    if (outcome == CacheOutcome.HIT || outcome == CacheOutcome.STALE || outcome == CacheOutcome.REVALIDATED) {
      c.hits.increment();
    }
    if (bodyBytes > 0) {
      c.bytes.add(bodyBytes);
    }
  }

  /**
   * The counts of {@code url}: those this thread used last while it repeats the URL (the usual run of hits on one
   * object), read from the map again every {@link #REREAD}th time so that the map still sees how often the URL is
   * asked for and an evicted URL is tracked again. Another URL's counts are read quietly, and with a recorded read 1
   * in {@link #SAMPLE} times (see the class comment).
   */
  private Counts countsOf(String url) {
    Last last = this.last.get();
    boolean same = last.counts != null && (last.url == url || last.url.equals(url));
    if (same && --last.left > 0) {
      return last.counts;
    }
    Counts c = same ? null : quiet.getIfPresentQuietly(url);
    if (c == null || c.requests.sum() < SAMPLE
        || (draw.getAsInt() & (SAMPLE - 1)) == 0) {
      c = counts.get(url, NEW); // a recorded read, or the URL's insertion
    }
    last.url = url;
    last.counts = c;
    last.left = REREAD;
    return c;
  }

  /** The URL a thread counted last and its counts. */
  private static final class Last {
    String url;
    Counts counts;
    int left;
  }

  /** The hits counted for {@code url}, or -1 when it is not tracked (never requested, or evicted). */
  public long hits(String url) {
    Counts c = counts.getIfPresent(url);
    return c == null ? -1 : c.hits.sum();
  }

  /** How many URLs are tracked now (after pending evictions). */
  long tracked() {
    counts.cleanUp();
    return counts.estimatedSize();
  }

  /** The {@code n} URLs with the most hits. O(tracked URLs · log n). */
  public List<Row> topByHits(int n) {
    return top(n, Comparator.comparingLong(Row::hits));
  }

  /** The {@code n} URLs that sent the most body bytes. */
  public List<Row> topByBytes(int n) {
    return top(n, Comparator.comparingLong(Row::bytes));
  }

  private List<Row> top(int n, Comparator<Row> by) {
    PriorityQueue<Row> heap = new PriorityQueue<>(by); // smallest first: the one to drop
    counts.asMap().forEach((url, c) -> {
      Row r = new Row(url, c.requests.sum(), c.hits.sum(), c.bytes.sum());
      if (heap.size() < n) {
        heap.add(r);
      } else if (by.compare(r, heap.peek()) > 0) {
        heap.poll();
        heap.add(r);
      }
    });
    List<Row> out = new ArrayList<>(heap);
    out.sort(by.reversed().thenComparing(Row::url));
    return out;
  }
}
