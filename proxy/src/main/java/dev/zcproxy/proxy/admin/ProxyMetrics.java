package dev.zcproxy.proxy.admin;

import dev.zcproxy.cache.CacheOutcome;
import dev.zcproxy.proxy.transfer.TransferMode;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * Counters of responses by {@link CacheOutcome} and {@link TransferMode}, request latency, origin
 * traffic and the cache, in one Micrometer registry that also holds Vert.x's own HTTP server, client
 * and pool metrics; the admin listener renders it as Prometheus text ({@code /metrics}) and JSON
 * ({@code /stats}).
 *
 * <p>Bytes are counted here rather than by Vert.x because sendfile and splice bypass Vert.x's byte
 * counters. Every meter is registered up front, one per enum value, so counting a response allocates
 * nothing: the per-response counters and the request latency histogram are kept per thread
 * ({@link ResponseTally}: plain stores on the event loop, no meter looked up per request) and summed when the
 * registry is scraped; the rarer counters are {@link LongAdder}s.
 */
public final class ProxyMetrics {
  /** Bucket bounds of the latency histograms: 100µs to 30s, roughly ×2.5 apart. */
  private static final Duration[] LATENCY_BUCKETS = {
      Duration.ofNanos(100_000), Duration.ofNanos(250_000), Duration.ofNanos(500_000), Duration.ofMillis(1),
      Duration.ofNanos(2_500_000), Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25),
      Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500),
      Duration.ofSeconds(1), Duration.ofNanos(2_500_000_000L), Duration.ofSeconds(5), Duration.ofSeconds(10),
      Duration.ofSeconds(30)};

  private final PrometheusMeterRegistry registry;
  private final ResponseTally tally = new ResponseTally(nanos(LATENCY_BUCKETS));
  private final java.util.Queue<Waiter>[] responseWaiters = newQueues(CacheOutcome.values().length);
  private final Map<TransferMode, LongAdder> fillBytes = new EnumMap<>(TransferMode.class);
  /** Responses planned with a zero-copy mode (row: sendfile, splice) that went as a copy mode (column). */
  private final LongAdder[][] fallbacks = new LongAdder[TransferMode.values().length][TransferMode.values().length];
  private final LongAdder fillSpliceFallbacks = new LongAdder();
  private final LongAdder originRequests = new LongAdder();
  private final LongAdder originErrors = new LongAdder();
  /** Whether {@link #registerMeters()} ran; guarded by this. */
  private boolean metersRegistered;
  private final LongAdder stored = new LongAdder();
  private final LongAdder storeFailures = new LongAdder();
  private final LongAdder badRequests = new LongAdder();
  private final LongAdder collapsed = new LongAdder();
  private final LongAdder purges = new LongAdder();
  private final LongAdder purgedEntries = new LongAdder();
  private final LongAdder softPurges = new LongAdder();
  private final LongAdder bans = new LongAdder();
  private final LongAdder tagPurges = new LongAdder();
  private final LongAdder reloadsOk = new LongAdder();
  private final LongAdder reloadsRefused = new LongAdder();
  private volatile LongSupplier banMatches = () -> 0;
  private final java.util.Queue<Waiter> collapsedWaiters = new java.util.concurrent.ConcurrentLinkedQueue<>();
  private final java.util.Queue<Waiter> storedWaiters = new java.util.concurrent.ConcurrentLinkedQueue<>();
  private volatile LongSupplier cacheEntries = () -> 0;
  private volatile LongSupplier cacheBytes = () -> 0;
  private volatile LongSupplier fillsInFlight = () -> 0;
  private volatile LongSupplier evictedForSize = () -> 0;
  private volatile LongSupplier evictedExpired = () -> 0;
  private volatile LongSupplier removedExplicitly = () -> 0;
  /** How many URLs {@link #topUrls()} tracks. */
  static final int TOP_URLS_TRACKED = 10_000;
  private final TopUrls topUrls = new TopUrls(TOP_URLS_TRACKED);
  private final LongAdder ramLoads = new LongAdder();
  private final LongAdder ramHeads = new LongAdder();
  private final LongAdder ramEvictions = new LongAdder();
  private final LongAdder ramTurnedAway = new LongAdder();
  private final LongAdder sendBufferRaises = new LongAdder();
  private volatile LongSupplier ramObjects = () -> 0;
  private volatile LongSupplier ramProbeOneIn = () -> 1;
  private final java.util.Queue<Waiter> ramLoadWaiters = new java.util.concurrent.ConcurrentLinkedQueue<>();

  /** Metrics in a registry of their own. */
  public ProxyMetrics() {
    this(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
  }

  /** Metrics registered in {@code registry}, which Vert.x may share ({@link #registry()}). */
  public ProxyMetrics(PrometheusMeterRegistry registry) {
    this(registry, true);
  }

  private ProxyMetrics(PrometheusMeterRegistry registry, boolean registerNow) {
    this.registry = registry;
    for (TransferMode m : TransferMode.values()) {
      fillBytes.put(m, new LongAdder());
    }
    for (TransferMode planned : new TransferMode[] {TransferMode.SENDFILE, TransferMode.SPLICE}) {
      for (TransferMode went : new TransferMode[] {TransferMode.COPY, TransferMode.COPY_TLS, TransferMode.COPY_H2}) {
        fallbacks[planned.ordinal()][went.ordinal()] = new LongAdder();
      }
    }
    if (registerNow) {
      registerMeters();
    }
  }

  /**
   * Metrics in a registry of their own whose meters (all but the origin timer) are registered by
   * {@link #registerMeters()}: counting works from the start, so a start can open its listener before it pays
   * for registering some 70 meters (cold code: about 100 ms of CPU of a start) and register them before
   * anything can scrape the registry.
   */
  public static ProxyMetrics metersLater() {
    return new ProxyMetrics(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT), false);
  }

  /**
   * Registers the meters in the registry (what was counted before is in them: they read the counters); once,
   * later calls do nothing. The constructors call it; after {@link #metersLater()} the owner does, before the
   * registry is scraped.
   */
  public synchronized void registerMeters() {
    if (metersRegistered) {
      return;
    }
    metersRegistered = true;
    for (CacheOutcome o : CacheOutcome.values()) {
      for (TransferMode m : TransferMode.values()) {
        FunctionCounter.builder("zcproxy.responses", tally, t -> t.responses(o, m))
            .description("Responses to clients by cache outcome and body transfer mode.")
            .tags("outcome", o.name(), "mode", label(m)).register(registry);
      }
    }
    // the latency histogram: the same families and samples Micrometer's timer rendered, read from the tally
    registry.getPrometheusRegistry().register(new RequestDurations(tally, "zcproxy_request_duration_seconds",
        "Time from request head to the last response byte handed to the socket, by cache outcome."));
    // the origin's: a Micrometer timer before (two LongAdders, a DoubleAdder, a window maximum and bucket counters
    // per pass, 1.3% of a 1 KiB pass's event-loop samples); the same samples, from the tally's origin row
    registry.getPrometheusRegistry().register(RequestDurations.origin(tally, "zcproxy_origin_duration_seconds",
        "Time from sending a request to the origin to its response head."));
    for (TransferMode m : TransferMode.values()) {
      FunctionCounter.builder("zcproxy.response.bytes", tally, t -> t.bytes(m))
          .description("Body bytes sent to clients by transfer mode.").tags("mode", label(m)).register(registry);
    }
    counter("zcproxy.fill.bytes", "Body bytes written into the cache, by how they moved.", fillBytes.get(TransferMode.SPLICE),
        "mode", label(TransferMode.SPLICE));
    counter("zcproxy.fill.bytes", "Body bytes written into the cache, by how they moved.", fillBytes.get(TransferMode.COPY),
        "mode", label(TransferMode.COPY));
    for (TransferMode planned : new TransferMode[] {TransferMode.SENDFILE, TransferMode.SPLICE}) {
      for (TransferMode went : new TransferMode[] {TransferMode.COPY, TransferMode.COPY_TLS, TransferMode.COPY_H2}) {
        LongAdder a = fallbacks[planned.ordinal()][went.ordinal()];
        counter("zcproxy.transfer.fallbacks", "Responses planned as sendfile or splice whose body went as a copy"
            + " (counted under the copy mode in zcproxy.responses).", a, "planned", label(planned), "mode", label(went));
      }
    }
    counter("zcproxy.fill.fallbacks", "Fills planned as splice that copied instead (the file descriptor was not"
        + " reachable).", fillSpliceFallbacks, "planned", label(TransferMode.SPLICE), "mode", label(TransferMode.COPY));
    FunctionCounter.builder("zcproxy.transfer.written.bytes", tally, ResponseTally::writtenAsFileRegions)
        .description("Response body bytes handed to client connections, by how: file regions (sendfile) or buffers"
            + " (copied); spliced bytes pass neither.").tags("as", "file-region").register(registry);
    FunctionCounter.builder("zcproxy.transfer.written.bytes", tally, ResponseTally::writtenAsBuffers)
        .description("Response body bytes handed to client connections, by how: file regions (sendfile) or buffers"
            + " (copied); spliced bytes pass neither.").tags("as", "buffer").register(registry);
    counter("zcproxy.origin.requests", "Requests sent to the origin.", originRequests);
    counter("zcproxy.origin.errors", "Origin requests that failed (unreachable, timeout, reset).", originErrors);
    counter("zcproxy.cache.stored", "Responses stored in the cache.", stored);
    counter("zcproxy.cache.store.failures", "Responses that could not be stored (disk errors, truncation).", storeFailures);
    counter("zcproxy.collapsed", "Requests that joined an origin fetch already under way.", collapsed);
    counter("zcproxy.bad.requests", "Malformed client requests answered 400/431.", badRequests);
    counter("zcproxy.purges", "Purge requests served by the admin listener.", purges);
    counter("zcproxy.purged.entries", "Cache entries (variants) dropped by purges.", purgedEntries);
    counter("zcproxy.soft.purges", "Soft purges (entries marked stale) served by the admin listener.", softPurges);
    counter("zcproxy.bans", "Bans added by the admin listener.", bans);
    counter("zcproxy.tag.purges", "Purges and soft purges by surrogate key / cache tag.", tagPurges);
    counter("zcproxy.reloads", "Config reloads (SIGHUP, POST /reload) by result.", reloadsOk, "result", "ok");
    counter("zcproxy.reloads", "Config reloads (SIGHUP, POST /reload) by result.", reloadsRefused, "result", "refused");
    FunctionCounter.builder("zcproxy.ban.matches", this, m -> m.banMatches.getAsLong())
        .description("Cache entries removed because a ban matched them (at lookup or by the ban sweep).").register(registry);
    Gauge.builder("zcproxy.cache.entries", this, m -> m.cacheEntries.getAsLong())
        .description("Entries in the cache index.").register(registry);
    Gauge.builder("zcproxy.cache.bytes", this, m -> m.cacheBytes.getAsLong())
        .description("Bytes on disk of the indexed entries.").register(registry);
    FunctionCounter.builder("zcproxy.cache.evictions", this, m -> m.evictedForSize.getAsLong()).tags("cause", "size")
        .description("Entries that left the cache: size (it was full), expired (stale past keep), explicit (purge,"
            + " ban, invalidation, free space).").register(registry);
    FunctionCounter.builder("zcproxy.cache.evictions", this, m -> m.evictedExpired.getAsLong()).tags("cause", "expired")
        .description("Entries that left the cache: size (it was full), expired (stale past keep), explicit (purge,"
            + " ban, invalidation, free space).").register(registry);
    FunctionCounter.builder("zcproxy.cache.evictions", this, m -> m.removedExplicitly.getAsLong()).tags("cause", "explicit")
        .description("Entries that left the cache: size (it was full), expired (stale past keep), explicit (purge,"
            + " ban, invalidation, free space).").register(registry);
    counter("zcproxy.ram.loads", "Bodies read from their cache file into the RAM tier.", ramLoads);
    counter("zcproxy.ram.heads", "Response heads encoded beside a body in the RAM tier (at its fill, or at a hit when"
        + " the fill did not or the entry changed).", ramHeads);
    counter("zcproxy.ram.evictions", "Bodies the RAM tier dropped because it was full (a body just read in and"
        + " turned away by its admission policy included); climbing with zcproxy_ram_loads_total in a hit-only run: the"
        + " tier is turning over.", ramEvictions);
    counter("zcproxy.ram.turned.away", "Bodies a full RAM tier did not read in because its admission policy turned away"
        + " the place asked for them at a file hit (each a read saved; the body is read at a later hit once the policy"
        + " keeps its place).", ramTurnedAway);
    Gauge.builder("zcproxy.ram.objects", this, m -> m.ramObjects.getAsLong())
        .description("Bodies kept in the RAM tier now.").register(registry);
    Gauge.builder("zcproxy.ram.probe.one.in", this, m -> m.ramProbeOneIn.getAsLong())
        .description("Of the file hits on a full RAM tier, 1 in this may put a placeholder (1: all; up to 64 while the"
            + " bodies it read in bought no RAM hits: keys hit alike, more than it holds).").register(registry);
    counter("zcproxy.transfer.send.buffer.raises", "Client connections whose send buffer was raised while a large hit's"
        + " body was sent (transfer.large-send-buffer).", sendBufferRaises);
    Gauge.builder("zcproxy.fills.in.flight", this, m -> m.fillsInFlight.getAsLong())
        .description("Origin fetches being written into the cache now.").register(registry);
  }

  private void counter(String name, String help, LongAdder value, String... tags) {
    FunctionCounter.builder(name, value, LongAdder::sum).description(help).tags(tags).register(registry);
  }

  private static String label(TransferMode m) {
    return m.label();
  }

  private static long[] nanos(Duration[] ds) {
    long[] n = new long[ds.length];
    for (int i = 0; i < ds.length; i++) {
      n[i] = ds[i].toNanos();
    }
    return n;
  }

  @SuppressWarnings("unchecked")
  private static java.util.Queue<Waiter>[] newQueues(int n) {
    java.util.Queue<Waiter>[] qs = new java.util.Queue[n];
    for (int i = 0; i < n; i++) {
      qs[i] = new java.util.concurrent.ConcurrentLinkedQueue<>();
    }
    return qs;
  }

  /** The registry every meter is in; give it to Vert.x so its HTTP metrics are scraped with these. */
  public PrometheusMeterRegistry registry() {
    return registry;
  }

  public void response(CacheOutcome outcome, TransferMode mode, long bodyBytes) {
    count(outcome, mode, bodyBytes, -1);
  }

  /** Counts a response as {@link #response(CacheOutcome, TransferMode, long)} and records how long it took. */
  public void response(CacheOutcome outcome, TransferMode mode, long bodyBytes, long durationNanos) {
    count(outcome, mode, bodyBytes, Math.max(0, durationNanos));
  }

  private void count(CacheOutcome outcome, TransferMode mode, long bodyBytes, long durationNanos) {
    tally.response(outcome, mode, bodyBytes, durationNanos);
    java.util.Queue<Waiter> w = responseWaiters[outcome.ordinal()];
    if (!w.isEmpty()) {
      release(w, tally.responses(outcome));
    }
  }

  /**
   * The latency histogram of {@code outcome}'s responses (count, total, window maximum, cumulative counts per
   * bucket bound), as Micrometer's timer gave it.
   */
  public io.micrometer.core.instrument.distribution.HistogramSnapshot requestDuration(CacheOutcome outcome) {
    return RequestDurations.snapshot(tally, outcome);
  }

  /**
   * Completes once {@code n} responses with {@code outcome} have been counted: a response is counted
   * when its last byte was handed to the socket, which a client may see before that.
   */
  public java.util.concurrent.CompletableFuture<Void> whenResponses(CacheOutcome outcome, long n) {
    java.util.concurrent.CompletableFuture<Void> f = new java.util.concurrent.CompletableFuture<>();
    responseWaiters[outcome.ordinal()].add(new Waiter(n, f)); // then read: a response counted meanwhile sees it
    release(responseWaiters[outcome.ordinal()], tally.responses(outcome));
    return f;
  }

  /** Completes once a response of any outcome has been counted ({@link #whenResponses}). */
  public java.util.concurrent.CompletableFuture<Void> whenResponded() {
    CacheOutcome[] outcomes = CacheOutcome.values();
    java.util.concurrent.CompletableFuture<?>[] each = new java.util.concurrent.CompletableFuture<?>[outcomes.length];
    for (int i = 0; i < outcomes.length; i++) {
      each[i] = whenResponses(outcomes[i], 1);
    }
    return java.util.concurrent.CompletableFuture.anyOf(each).thenApply(x -> null);
  }

  /**
   * A response planned as {@code planned} (sendfile or splice) whose body went as {@code went}: it is
   * counted under {@code went} by {@link #response}, and here.
   */
  public void transferFallback(TransferMode planned, TransferMode went) {
    LongAdder a = fallbacks[planned.ordinal()][went.ordinal()];
    if (a != null) {
      a.increment();
    }
  }

  /** Responses planned as {@code planned} that went another way, since start. */
  public long transferFallbacks(TransferMode planned) {
    long n = 0;
    for (LongAdder a : fallbacks[planned.ordinal()]) {
      n += a == null ? 0 : a.sum();
    }
    return n;
  }

  /** A fill planned as {@code planned} (splice) that copied instead. */
  public void fillFallback(TransferMode planned) {
    if (planned == TransferMode.SPLICE) {
      fillSpliceFallbacks.increment();
    }
  }

  /** Counts a hit answered in front of Vert.x (transfer.front-hits), also counted as a response. */
  public void frontHit() {
    tally.frontHit();
  }

  private final java.util.concurrent.atomic.LongAdder frontPasses = new java.util.concurrent.atomic.LongAdder();

  /** A pass sent to the origin in front of Vert.x (its response is counted as any other, when it ended). */
  public void frontPass() {
    frontPasses.increment();
  }

  /** Passes answered in front of Vert.x so far. */
  public long frontPasses() {
    return frontPasses.sum();
  }

  /**
   * A hit answered in front of Vert.x from RAM, all its counting at once: {@link #frontHit()}, {@link #written}
   * of {@code handed} buffer bytes and {@link #response(CacheOutcome, TransferMode, long, long)} as a HIT by
   * {@code ram} of {@code bodyBytes} that took {@code durationNanos}.
   */
  public void frontHit(long handed, long bodyBytes, long durationNanos) {
    frontHit(handed, bodyBytes, durationNanos, System.nanoTime());
  }

  /**
   * {@link #frontHit(long, long, long)} ended at {@code nowNanos} ({@link System#nanoTime}, just read by the caller):
   * the latency's maximum is kept for that time without reading the clock again.
   */
  public void frontHit(long handed, long bodyBytes, long durationNanos, long nowNanos) {
    tally.frontHit(handed, bodyBytes, Math.max(0, durationNanos), nowNanos);
    java.util.Queue<Waiter> w = responseWaiters[CacheOutcome.HIT.ordinal()];
    if (!w.isEmpty()) {
      release(w, tally.responses(CacheOutcome.HIT));
    }
  }

  /**
   * A hit answered in front of Vert.x from its cache file, all its counting at once: {@link #frontHit()},
   * {@link #written} of {@code regionBytes} file-region bytes and {@code bufferBytes} buffer bytes (the body's first
   * bytes written with the head) and {@link #response(CacheOutcome, TransferMode, long, long)} as a HIT by
   * {@code sendfile} of {@code bodyBytes} that took {@code durationNanos}.
   */
  public void frontFileHit(long regionBytes, long bufferBytes, long bodyBytes, long durationNanos) {
    tally.frontFileHit(regionBytes, bufferBytes, bodyBytes, Math.max(0, durationNanos));
    java.util.Queue<Waiter> w = responseWaiters[CacheOutcome.HIT.ordinal()];
    if (!w.isEmpty()) {
      release(w, tally.responses(CacheOutcome.HIT));
    }
  }

  /** Body bytes handed to client connections as buffers (copied, or from RAM) since start; spliced and sendfile bytes excluded. */
  public long writtenAsBuffers() {
    return tally.writtenAsBuffers();
  }

  /** Hits answered in front of Vert.x since start. */
  public long frontHits() {
    return tally.frontHits();
  }

  /** Body bytes a response handed its client connection as file regions and as buffers. */
  public void written(long fileRegionBytes, long bufferBytes) {
    tally.written(fileRegionBytes, bufferBytes);
  }

  /** Body bytes written into the cache from the origin, by how they moved (splice or copy). */
  public void filled(TransferMode mode, long bytes) {
    fillBytes.get(mode).add(bytes);
  }

  public long filledBytes(TransferMode mode) {
    return fillBytes.get(mode).sum();
  }

  public void originRequest() {
    originRequests.increment();
  }

  /** The origin answered with a response head {@code nanos} after the request was sent. */
  public void originResponse(long nanos) {
    tally.origin(Math.max(0, nanos));
  }

  /** The origin's time to a response head (count, total, window maximum, cumulative counts per bucket bound). */
  public io.micrometer.core.instrument.distribution.HistogramSnapshot originDuration() {
    return RequestDurations.originSnapshot(tally);
  }

  public void originError() {
    originErrors.increment();
  }

  public void stored() {
    stored.increment();
    release(storedWaiters, stored.sum());
  }

  /** A request joined a fetch already under way for its URI instead of fetching again. */
  public void collapsed() {
    collapsed.increment();
    release(collapsedWaiters, collapsed.sum());
  }

  /** Completes once {@code n} responses in total have been stored (commits are asynchronous). */
  public java.util.concurrent.CompletableFuture<Void> whenStored(long n) {
    return when(storedWaiters, stored, n);
  }

  /** A hit entry's body was read into the RAM tier: its next hits are written from memory. */
  public void ramLoaded() {
    ramLoads.increment();
    release(ramLoadWaiters, ramLoads.sum());
  }

  /** A full RAM tier's policy turned away the place asked for a body, which was therefore not read. */
  public void ramProbeTurnedAway() {
    ramTurnedAway.increment();
  }

  /** Bodies a full RAM tier did not read in because its policy turned them away, since start. */
  public long ramTurnedAway() {
    return ramTurnedAway.sum();
  }

  /** Bodies read from their cache file into the RAM tier, since start. */
  public long ramLoads() {
    return ramLoads.sum();
  }

  /** A body left the RAM tier because the tier was full. */
  public void ramEvicted() {
    ramEvictions.increment();
  }

  /** Bodies the RAM tier dropped because it was full, since start. */
  public long ramEvictions() {
    return ramEvictions.sum();
  }

  /** A response head was encoded and kept beside a body in the RAM tier. */
  public void ramHeadEncoded() {
    ramHeads.increment();
  }

  /** Response heads encoded for bodies in the RAM tier so far. */
  public long ramHeads() {
    return ramHeads.sum();
  }

  /** Where the number of bodies in the RAM tier comes from. */
  public void ramGauge(LongSupplier objects) {
    this.ramObjects = objects;
  }

  /** Where {@code zcproxy_ram_probe_one_in} comes from: the RAM tier's probe gate. */
  public void ramProbeGauge(LongSupplier oneIn) {
    this.ramProbeOneIn = oneIn;
  }

  /** Bodies kept in the RAM tier now. */
  public long ramObjects() {
    return ramObjects.getAsLong();
  }

  /** Completes once {@code n} bodies in total have been read into the RAM tier. */
  public java.util.concurrent.CompletableFuture<Void> whenRamLoaded(long n) {
    return when(ramLoadWaiters, ramLoads, n);
  }

  /** Completes once {@code n} requests in total have joined a fetch under way. */
  public java.util.concurrent.CompletableFuture<Void> whenCollapsed(long n) {
    return when(collapsedWaiters, collapsed, n);
  }

  private static java.util.concurrent.CompletableFuture<Void> when(java.util.Queue<Waiter> waiters, LongAdder counter, long n) {
    java.util.concurrent.CompletableFuture<Void> f = new java.util.concurrent.CompletableFuture<>();
    waiters.add(new Waiter(n, f));
    release(waiters, counter.sum());
    return f;
  }

  private static void release(java.util.Queue<Waiter> waiters, long n) {
    if (!waiters.isEmpty()) {
      waiters.removeIf(w -> {
        if (w.count() <= n) {
          w.future().complete(null);
          return true;
        }
        return false;
      });
    }
  }

  private record Waiter(long count, java.util.concurrent.CompletableFuture<Void> future) {}

  public void storeFailure() {
    storeFailures.increment();
  }

  /** A purge dropped {@code entries} stored variants. */
  public void purged(int entries) {
    purges.increment();
    purgedEntries.add(entries);
  }

  /** A soft purge marked {@code entries} stored variants stale. */
  public void softPurged(int entries) {
    softPurges.increment();
  }

  /** A ban was added. */
  public void banAdded() {
    bans.increment();
  }

  /** A purge or soft purge by tag. */
  public void tagPurged() {
    tagPurges.increment();
  }

  /** Where the number of entries removed by bans is read from. */
  public void banGauge(LongSupplier matches) {
    this.banMatches = matches;
  }

  /** A config reload that was applied ({@code ok}) or refused. */
  public void reloaded(boolean ok) {
    (ok ? reloadsOk : reloadsRefused).increment();
  }

  /** Config reloads applied ({@code ok}) or refused, since start. */
  public long reloads(boolean ok) {
    return (ok ? reloadsOk : reloadsRefused).sum();
  }

  public void badRequest() {
    badRequests.increment();
  }

  public void cacheGauges(LongSupplier entries, LongSupplier bytes) {
    this.cacheEntries = entries;
    this.cacheBytes = bytes;
  }

  /** Where the eviction counters by cause are read from. */
  public void evictionCounters(LongSupplier size, LongSupplier expired, LongSupplier explicit) {
    this.evictedForSize = size;
    this.evictedExpired = expired;
    this.removedExplicitly = explicit;
  }

  /** Counts a response for {@code url} (its primary cache key) in {@link #topUrls()}. O(1). */
  public void urlResponse(String url, CacheOutcome outcome, long bodyBytes) {
    topUrls.record(url, outcome, bodyBytes);
  }

  /** Hits and bytes of the most requested URLs. */
  public TopUrls topUrls() {
    return topUrls;
  }

  /** A client connection's send buffer was raised for a large hit's body ({@code transfer.large-send-buffer}). */
  public void sendBufferRaised() {
    sendBufferRaises.increment();
  }

  /** Send buffers raised for large hits' bodies so far. */
  public long sendBufferRaises() {
    return sendBufferRaises.sum();
  }

  /** Where the number of fills under way is read from. */
  public void fillGauge(LongSupplier inFlight) {
    this.fillsInFlight = inFlight;
  }

  public long responses(CacheOutcome outcome) {
    return tally.responses(outcome);
  }

  public long responses(TransferMode mode) {
    return tally.responses(mode);
  }

  public long bytes(TransferMode mode) {
    return tally.bytes(mode);
  }

  public long originRequests() {
    return originRequests.sum();
  }

  /**
   * The counters as a JSON object (for {@code /stats}), read from the registry: {@code responses} by
   * outcome, {@code transfer} by mode (responses, bytes, and fallbacks: responses planned as that mode
   * that went as a copy), {@code fill}, {@code written} (body bytes by file region or buffer), {@code origin}, {@code cache}, {@code bad_requests}
   * and {@code latency_ms} (count, mean and max per outcome).
   */
  public String toJson() {
    JsonObject byOutcome = new JsonObject();
    JsonObject latency = new JsonObject();
    for (CacheOutcome o : CacheOutcome.values()) {
      byOutcome.put(o.name(), sum("zcproxy.responses", "outcome", o.name()));
      latency.put(o.name(), snapshotJson(requestDuration(o)));
    }
    JsonObject transfer = new JsonObject();
    for (TransferMode m : TransferMode.values()) {
      transfer.put(label(m), new JsonObject()
          .put("responses", sum("zcproxy.responses", "mode", label(m)))
          .put("bytes", sum("zcproxy.response.bytes", "mode", label(m)))
          .put("fallbacks", sum("zcproxy.transfer.fallbacks", "planned", label(m))));
    }
    return new JsonObject()
        .put("responses", byOutcome)
        .put("transfer", transfer)
        .put("fill", new JsonObject()
            .put("splice_bytes", sum("zcproxy.fill.bytes", "mode", label(TransferMode.SPLICE)))
            .put("copy_bytes", sum("zcproxy.fill.bytes", "mode", label(TransferMode.COPY)))
            .put("splice_fallbacks", sum("zcproxy.fill.fallbacks"))
            .put("in_flight", gauge("zcproxy.fills.in.flight")))
        .put("written", new JsonObject()
            .put("file_region_bytes", sum("zcproxy.transfer.written.bytes", "as", "file-region"))
            .put("buffer_bytes", sum("zcproxy.transfer.written.bytes", "as", "buffer")))
        .put("origin", new JsonObject()
            .put("requests", sum("zcproxy.origin.requests"))
            .put("errors", sum("zcproxy.origin.errors"))
            .put("latency_ms", snapshotJson(originDuration())))
        .put("cache", new JsonObject()
            .put("entries", gauge("zcproxy.cache.entries"))
            .put("bytes", gauge("zcproxy.cache.bytes"))
            .put("stored", sum("zcproxy.cache.stored"))
            .put("collapsed", sum("zcproxy.collapsed"))
            .put("store_failures", sum("zcproxy.cache.store.failures"))
            .put("purges", sum("zcproxy.purges"))
            .put("purged_entries", sum("zcproxy.purged.entries"))
            .put("evictions", new JsonObject()
                .put("size", sum("zcproxy.cache.evictions", "cause", "size"))
                .put("expired", sum("zcproxy.cache.evictions", "cause", "expired"))
                .put("explicit", sum("zcproxy.cache.evictions", "cause", "explicit"))))
        .put("bad_requests", sum("zcproxy.bad.requests"))
        .put("latency_ms", latency)
        .encode();
  }

  private long sum(String name, String... tags) {
    double total = 0;
    for (FunctionCounter c : registry.find(name).tags(tags).functionCounters()) {
      total += c.count();
    }
    return (long) total;
  }

  private long gauge(String name) {
    Gauge g = registry.find(name).gauge();
    return g == null ? 0 : (long) g.value();
  }

  private static JsonObject snapshotJson(io.micrometer.core.instrument.distribution.HistogramSnapshot s) {
    return new JsonObject().put("count", s.count()).put("mean", s.mean(TimeUnit.MILLISECONDS))
        .put("max", s.max(TimeUnit.MILLISECONDS));
  }

  /** Every meter in the registry, Vert.x's included, in the Prometheus text exposition format (for {@code /metrics}). */
  public String toPrometheus() {
    return registry.scrape();
  }
}
