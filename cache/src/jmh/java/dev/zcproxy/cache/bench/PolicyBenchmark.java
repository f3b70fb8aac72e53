package dev.zcproxy.cache.bench;

import dev.zcproxy.cache.CacheKey;
import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.Headers;
import dev.zcproxy.cache.Lookup;
import dev.zcproxy.cache.RequestHead;
import dev.zcproxy.cache.ResponseHead;
import dev.zcproxy.cache.policy.CachePolicy;
import dev.zcproxy.cache.policy.PolicyConfig;
import dev.zcproxy.cache.policy.Storability;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The per-request policy work, with Cache-Control parsing reached through the public entry points
 * (there is no public parser type): {@link CachePolicy#select} of a fresh entry with typical headers
 * ({@code Date}, {@code Cache-Control: public, max-age=3600}, {@code ETag}, {@code Last-Modified},
 * {@code Content-Type}) alone and as one of three {@code Vary: Accept-Encoding} variants,
 * {@link CachePolicy#storable} of a typical 200 response, and {@link CachePolicy#responseHeaders}.
 *
 * <p>{@code CachePolicy} memoises each stored entry's parsed freshness by identity, as the index hands
 * out the same {@link EntryMeta} on every hit: {@code selectFresh} measures that steady hit path,
 * {@code selectFreshFirstHit} a never-seen entry each time (response Cache-Control, {@code Date} and
 * {@code Age} parsed, plus the memo insert).
 *
 * <p>Run: {@code mvn -B -q -pl cache -Pbench package -DskipTests && java -jar cache/target/benchmarks.jar
 * PolicyBenchmark -f 1 -wi 3 -i 5}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class PolicyBenchmark {
  private static final long T0 = 1_700_000_000_000L;
  private static final DateTimeFormatter HTTP_DATE = DateTimeFormatter.RFC_1123_DATE_TIME.withZone(ZoneOffset.UTC);

  private CachePolicy policy;
  private RequestHead req;
  private ResponseHead resp;
  private EntryMeta entry;
  private List<EntryMeta> single;
  private List<EntryMeta> varied;
  private long now;

  @Setup
  public void setUp() {
    policy = new CachePolicy(PolicyConfig.defaults());
    req = request("gzip, deflate, br");
    String primary = CacheKey.primaryOf(req);
    resp = new ResponseHead(200, Headers.of(
        "Date", HTTP_DATE.format(Instant.ofEpochMilli(T0)),
        "Content-Type", "text/html; charset=utf-8",
        "Content-Length", "48213",
        "Cache-Control", "public, max-age=3600",
        "ETag", "\"5f2b-61a8c0d2e4b80\"",
        "Last-Modified", HTTP_DATE.format(Instant.ofEpochMilli(T0 - 86_400_000L)),
        "Connection", "keep-alive",
        "Server", "origin/1.0"));
    entry = stored(primary, req, resp);
    single = List.of(entry);

    Headers varyHeaders = resp.headers().toBuilder().add("Vary", "Accept-Encoding").build();
    ResponseHead varyResp = new ResponseHead(200, varyHeaders);
    varied = List.of(
        stored(primary, request("identity"), varyResp),
        stored(primary, request("gzip"), varyResp),
        stored(primary, request("gzip, deflate, br"), varyResp)); // the one req matches, last
    now = T0 + 60_000;

    // Fail fast rather than measure a miss or a refusal.
    if (!(policy.select(req, single, now) instanceof Lookup.Fresh)
        || !(policy.select(req, varied, now) instanceof Lookup.Fresh f && f.entry() == varied.get(2))) {
      throw new IllegalStateException("setup: expected fresh hits");
    }
  }

  private static RequestHead request(String acceptEncoding) {
    return new RequestHead("GET", "https", "www.example.com", "/articles/2024/caching-at-the-edge.html?ref=home",
        Headers.of(
            "Host", "www.example.com",
            "User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
            "Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            "Accept-Language", "en-US,en;q=0.5",
            "Accept-Encoding", acceptEncoding,
            "Connection", "keep-alive"));
  }

  private EntryMeta stored(String primary, RequestHead r, ResponseHead h) {
    if (!(policy.storable(r, h) instanceof Storability.Store s)) {
      throw new IllegalStateException("setup: response not storable");
    }
    return new EntryMeta(primary, s.variant(), h.status(), s.headers(), T0 - 20, T0, 48_213, 4096);
  }

  /** A fresh hit, one stored variant, its freshness already memoised (the steady state). */
  @Benchmark
  public Lookup selectFresh() {
    return policy.select(req, single, now);
  }

  /** A fresh hit on an entry the policy has not seen: parses its Cache-Control, Date and Age. */
  @Benchmark
  public Lookup selectFreshFirstHit() {
    EntryMeta e = entry.withBody(entry.bodyLength(), entry.bodyOffset()); // equal, but a new identity
    return policy.select(req, List.of(e), now);
  }

  /** A fresh hit chosen among three {@code Vary: Accept-Encoding} variants (identity, gzip, gzip+deflate+br). */
  @Benchmark
  public Lookup selectVary() {
    return policy.select(req, varied, now);
  }

  /** Whether a typical 200 may be stored: request and response Cache-Control, Vary key, hop-by-hop strip. */
  @Benchmark
  public Storability storable() {
    return policy.storable(req, resp);
  }

  /** The headers sent with a hit: the stored ones plus a current {@code Age}. */
  @Benchmark
  public Headers responseHeaders() {
    return policy.responseHeaders(entry, now);
  }
}
