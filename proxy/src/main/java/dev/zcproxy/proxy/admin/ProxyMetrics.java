package dev.zcproxy.proxy.admin;

import dev.zcproxy.cache.CacheOutcome;
import dev.zcproxy.proxy.transfer.TransferMode;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * Counters of responses by {@link CacheOutcome}, bytes and responses by {@link TransferMode}, and
 * origin traffic, read by the admin listener.
 *
 * <p>Counted here rather than by Vert.x because sendfile and splice bypass Vert.x's byte counters.
 */
public final class ProxyMetrics {
  private final Map<CacheOutcome, LongAdder> responses = new EnumMap<>(CacheOutcome.class);
  private final Map<CacheOutcome, java.util.Queue<Waiter>> responseWaiters = new EnumMap<>(CacheOutcome.class);
  private final Map<TransferMode, LongAdder> modeResponses = new EnumMap<>(TransferMode.class);
  private final Map<TransferMode, LongAdder> modeBytes = new EnumMap<>(TransferMode.class);
  private final Map<TransferMode, LongAdder> fillBytes = new EnumMap<>(TransferMode.class);
  private final LongAdder originRequests = new LongAdder();
  private final LongAdder originErrors = new LongAdder();
  private final LongAdder stored = new LongAdder();
  private final LongAdder storeFailures = new LongAdder();
  private final LongAdder badRequests = new LongAdder();
  private final LongAdder collapsed = new LongAdder();
  private final java.util.Queue<Waiter> collapsedWaiters = new java.util.concurrent.ConcurrentLinkedQueue<>();
  private final java.util.Queue<Waiter> storedWaiters = new java.util.concurrent.ConcurrentLinkedQueue<>();
  private volatile LongSupplier cacheEntries = () -> 0;
  private volatile LongSupplier cacheBytes = () -> 0;

  public ProxyMetrics() {
    for (CacheOutcome o : CacheOutcome.values()) {
      responses.put(o, new LongAdder());
      responseWaiters.put(o, new java.util.concurrent.ConcurrentLinkedQueue<>());
    }
    for (TransferMode m : TransferMode.values()) {
      modeResponses.put(m, new LongAdder());
      modeBytes.put(m, new LongAdder());
      fillBytes.put(m, new LongAdder());
    }
  }

  public void response(CacheOutcome outcome, TransferMode mode, long bodyBytes) {
    LongAdder counter = responses.get(outcome);
    counter.increment();
    modeResponses.get(mode).increment();
    modeBytes.get(mode).add(bodyBytes);
    java.util.Queue<Waiter> w = responseWaiters.get(outcome);
    if (!w.isEmpty()) {
      release(w, counter.sum());
    }
  }

  /**
   * Completes once {@code n} responses with {@code outcome} have been counted: a response is counted
   * when its last byte was handed to the socket, which a client may see before that.
   */
  public java.util.concurrent.CompletableFuture<Void> whenResponses(CacheOutcome outcome, long n) {
    return when(responseWaiters.get(outcome), responses.get(outcome), n);
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

  public void badRequest() {
    badRequests.increment();
  }

  public void cacheGauges(LongSupplier entries, LongSupplier bytes) {
    this.cacheEntries = entries;
    this.cacheBytes = bytes;
  }

  public long responses(CacheOutcome outcome) {
    return responses.get(outcome).sum();
  }

  public long responses(TransferMode mode) {
    return modeResponses.get(mode).sum();
  }

  public long bytes(TransferMode mode) {
    return modeBytes.get(mode).sum();
  }

  public long originRequests() {
    return originRequests.sum();
  }

  /** The counters as a JSON object (for {@code /stats}). */
  public String toJson() {
    StringBuilder sb = new StringBuilder("{\"responses\":{");
    appendMap(sb, responses);
    sb.append("},\"transfer\":{");
    boolean first = true;
    for (TransferMode m : TransferMode.values()) {
      if (!first) {
        sb.append(',');
      }
      first = false;
      sb.append('"').append(m.name().toLowerCase()).append("\":{\"responses\":").append(modeResponses.get(m).sum())
          .append(",\"bytes\":").append(modeBytes.get(m).sum()).append('}');
    }
    sb.append("},\"fill\":{\"splice_bytes\":").append(fillBytes.get(TransferMode.SPLICE).sum())
        .append(",\"copy_bytes\":").append(fillBytes.get(TransferMode.COPY).sum());
    sb.append("},\"origin\":{\"requests\":").append(originRequests.sum()).append(",\"errors\":").append(originErrors.sum())
        .append("},\"cache\":{\"entries\":").append(cacheEntries.getAsLong()).append(",\"bytes\":").append(cacheBytes.getAsLong())
        .append(",\"stored\":").append(stored.sum()).append(",\"collapsed\":").append(collapsed.sum()).append(",\"store_failures\":").append(storeFailures.sum())
        .append("},\"bad_requests\":").append(badRequests.sum()).append('}');
    return sb.toString();
  }

  /** The counters in the Prometheus text exposition format (for {@code /metrics}). */
  public String toPrometheus() {
    StringBuilder sb = new StringBuilder();
    sb.append("# HELP zcproxy_responses_total Responses to clients by cache outcome.\n# TYPE zcproxy_responses_total counter\n");
    for (CacheOutcome o : CacheOutcome.values()) {
      sb.append("zcproxy_responses_total{outcome=\"").append(o.name()).append("\"} ").append(responses.get(o).sum()).append('\n');
    }
    sb.append("# HELP zcproxy_transfer_responses_total Responses by body transfer mode.\n# TYPE zcproxy_transfer_responses_total counter\n");
    for (TransferMode m : TransferMode.values()) {
      sb.append("zcproxy_transfer_responses_total{mode=\"").append(m.name().toLowerCase()).append("\"} ").append(modeResponses.get(m).sum()).append('\n');
    }
    sb.append("# HELP zcproxy_transfer_bytes_total Body bytes sent to clients by transfer mode.\n# TYPE zcproxy_transfer_bytes_total counter\n");
    for (TransferMode m : TransferMode.values()) {
      sb.append("zcproxy_transfer_bytes_total{mode=\"").append(m.name().toLowerCase()).append("\"} ").append(modeBytes.get(m).sum()).append('\n');
    }
    sb.append("# HELP zcproxy_fill_bytes_total Body bytes written into the cache, by how they moved.\n# TYPE zcproxy_fill_bytes_total counter\n");
    sb.append("zcproxy_fill_bytes_total{mode=\"splice\"} ").append(fillBytes.get(TransferMode.SPLICE).sum()).append('\n');
    sb.append("zcproxy_fill_bytes_total{mode=\"copy\"} ").append(fillBytes.get(TransferMode.COPY).sum()).append('\n');
    counter(sb, "zcproxy_origin_requests_total", "Requests sent to the origin.", originRequests.sum());
    counter(sb, "zcproxy_origin_errors_total", "Origin requests that failed (unreachable, timeout, reset).", originErrors.sum());
    counter(sb, "zcproxy_cache_stored_total", "Responses stored in the cache.", stored.sum());
    counter(sb, "zcproxy_cache_store_failures_total", "Responses that could not be stored (disk errors, truncation).", storeFailures.sum());
    counter(sb, "zcproxy_collapsed_total", "Requests that joined an origin fetch already under way.", collapsed.sum());
    counter(sb, "zcproxy_bad_requests_total", "Malformed client requests answered 400/431.", badRequests.sum());
    sb.append("# HELP zcproxy_cache_entries Entries in the cache index.\n# TYPE zcproxy_cache_entries gauge\nzcproxy_cache_entries ")
        .append(cacheEntries.getAsLong()).append('\n');
    sb.append("# HELP zcproxy_cache_bytes Bytes on disk of the indexed entries.\n# TYPE zcproxy_cache_bytes gauge\nzcproxy_cache_bytes ")
        .append(cacheBytes.getAsLong()).append('\n');
    return sb.toString();
  }

  private static void counter(StringBuilder sb, String name, String help, long value) {
    sb.append("# HELP ").append(name).append(' ').append(help).append("\n# TYPE ").append(name).append(" counter\n")
        .append(name).append(' ').append(value).append('\n');
  }

  private static void appendMap(StringBuilder sb, Map<CacheOutcome, LongAdder> map) {
    boolean first = true;
    for (Map.Entry<CacheOutcome, LongAdder> e : map.entrySet()) {
      if (!first) {
        sb.append(',');
      }
      first = false;
      sb.append('"').append(e.getKey().name()).append("\":").append(e.getValue().sum());
    }
  }
}
