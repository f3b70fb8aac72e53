package dev.zcproxy.proxy.admin;

import dev.zcproxy.cache.Bans;
import dev.zcproxy.cache.CacheOutcome;
import dev.zcproxy.cache.store.DiskStore;
import dev.zcproxy.proxy.transfer.TransferMode;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.distribution.CountAtBucket;
import io.micrometer.core.instrument.distribution.HistogramSnapshot;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The live dashboard on the admin listener: the page at {@code GET /} (HTML, JS and CSS from the jar,
 * nothing from the network), {@code GET /events} (server-sent events: the history of the last minutes
 * once, then a snapshot every second) and {@code GET /dashboard/snapshot} (the same snapshot as JSON).
 *
 * <p>Bounded: one periodic timer takes the snapshot (rates from the counter deltas, latency
 * percentiles from the histogram buckets over the last minute) and keeps {@link #HISTORY} of them;
 * at most {@link #MAX_CLIENTS} event streams at once, each dropped when it closes or stops reading.
 * The page is served with a Content-Security-Policy allowing only its own script, and the script
 * writes every value (URLs come from clients) as text, never as HTML.
 */
final class Dashboard {
  /** Most event streams open at once; more are answered 503. */
  static final int MAX_CLIENTS = 16;
  static final long TICK_MILLIS = 1_000;
  /** Points kept and sent to a new client: five minutes. */
  static final int HISTORY = 300;
  /** Latency percentiles and origin health are over this many ticks (a minute). */
  static final int WINDOW = 60;
  static final int TOP = 10;
  static final int INVALIDATIONS_SHOWN = 20;
  private static final CacheOutcome[] LATENCY_OUTCOMES = {
      CacheOutcome.HIT, CacheOutcome.STALE, CacheOutcome.REVALIDATED, CacheOutcome.MISS, CacheOutcome.PASS};
  private static final TransferMode[] MODES = {TransferMode.SENDFILE, TransferMode.SPLICE, TransferMode.COPY};
  private static final String CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self';"
      + " connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

  private final Vertx vertx;
  private final ProxyMetrics metrics;
  private final DiskStore store;
  private final Invalidations invalidations = new Invalidations(50);
  private final Buffer html = resource("index.html");
  private final Buffer js = resource("dashboard.js");
  private final Buffer css = resource("dashboard.css");
  // Guarded by this: the timer and the requests may run on different event loops.
  private final Set<HttpServerResponse> clients = new LinkedHashSet<>();
  private final ArrayDeque<JsonObject> points = new ArrayDeque<>();
  /** Per tick, oldest first: the cumulative histogram counts of each latency outcome, then the origin's. */
  private final ArrayDeque<long[][]> latency = new ArrayDeque<>();
  private long[] last;
  private long lastNanos;
  private JsonObject snapshot = new JsonObject();
  private long timer = -1;

  /** @param store the cache, or null when caching is disabled */
  Dashboard(Vertx vertx, ProxyMetrics metrics, DiskStore store) {
    this.vertx = vertx;
    this.metrics = metrics;
    this.store = store;
  }

  /** Where the admin handlers note each invalidation. */
  Invalidations invalidations() {
    return invalidations;
  }

  /** Adds the dashboard's routes and starts the snapshot timer. */
  void mount(Router router) {
    router.get("/").handler(rc -> page(rc, html, "text/html; charset=utf-8"));
    router.get("/dashboard/dashboard.js").handler(rc -> page(rc, js, "text/javascript; charset=utf-8"));
    router.get("/dashboard/dashboard.css").handler(rc -> page(rc, css, "text/css; charset=utf-8"));
    router.get("/dashboard/snapshot").handler(rc -> rc.response().putHeader("content-type", "application/json")
        .putHeader("cache-control", "no-store").end(currentSnapshot().encode() + "\n"));
    router.get("/events").handler(this::events);
    synchronized (this) {
      if (timer < 0) {
        tick();
        timer = vertx.setPeriodic(TICK_MILLIS, id -> tick());
      }
    }
  }

  private static void page(RoutingContext rc, Buffer body, String type) {
    rc.response().putHeader("content-type", type).putHeader("cache-control", "no-cache")
        .putHeader("content-security-policy", CSP).putHeader("x-frame-options", "DENY")
        .putHeader("x-content-type-options", "nosniff").putHeader("referrer-policy", "no-referrer").end(body);
  }

  private void events(RoutingContext rc) {
    HttpServerResponse resp = rc.response();
    JsonArray history;
    JsonObject now;
    synchronized (this) {
      if (clients.size() >= MAX_CLIENTS) {
        resp.setStatusCode(503).putHeader("content-type", "application/json").putHeader("retry-after", "10")
            .end(new JsonObject().put("error", "too many dashboard event streams (at most " + MAX_CLIENTS + ")").encode() + "\n");
        return;
      }
      clients.add(resp);
      history = new JsonArray(new ArrayList<>(points));
      now = snapshot;
    }
    resp.closeHandler(v -> drop(resp));
    resp.exceptionHandler(t -> drop(resp));
    resp.setChunked(true).putHeader("content-type", "text/event-stream").putHeader("cache-control", "no-cache")
        .putHeader("x-accel-buffering", "no");
    resp.write("retry: 2000\n\n" + event("history", history.encode()) + event("snapshot", top(now).encode()));
  }

  private static String event(String name, String data) {
    return "event: " + name + "\ndata: " + data + "\n\n";
  }

  private synchronized void drop(HttpServerResponse resp) {
    clients.remove(resp);
  }

  /** Takes a snapshot, keeps its point and sends it to every event stream. On the timer. */
  void tick() {
    JsonObject snap = takeSnapshot();
    List<HttpServerResponse> slow = new ArrayList<>();
    synchronized (this) {
      snapshot = snap;
      if (clients.isEmpty()) {
        return;
      }
      String data = event("snapshot", top(snap).encode());
      for (HttpServerResponse r : clients) {
        if (r.writeQueueFull()) {
          slow.add(r); // a client that stopped reading: drop it rather than buffer without bound
          continue;
        }
        try {
          r.write(data).onFailure(t -> drop(r));
        } catch (IllegalStateException closed) {
          slow.add(r);
        }
      }
      slow.forEach(clients::remove);
    }
    slow.forEach(r -> r.reset());
  }

  /** The last snapshot with the top URLs (computed only when someone looks) and the invalidations as of now. */
  private JsonObject top(JsonObject snap) {
    JsonObject t = snap.copy();
    t.put("invalidations", invalidationsJson()).put("bans", bans());
    t.put("top_hits", rows(metrics.topUrls().topByHits(TOP), true));
    t.put("top_bytes", rows(metrics.topUrls().topByBytes(TOP), false));
    return t;
  }

  private JsonObject currentSnapshot() {
    JsonObject s;
    synchronized (this) {
      s = snapshot;
    }
    return top(s);
  }

  private static JsonArray rows(List<TopUrls.Row> rows, boolean byHits) {
    JsonArray a = new JsonArray();
    for (TopUrls.Row r : rows) {
      if ((byHits ? r.hits() : r.bytes()) > 0) {
        a.add(new JsonObject().put("url", r.url()).put("requests", r.requests()).put("hits", r.hits()).put("bytes", r.bytes()));
      }
    }
    return a;
  }

  /** Reads every counter, adds a point to the history and returns the snapshot. */
  synchronized JsonObject takeSnapshot() {
    long nanos = System.nanoTime();
    long wall = System.currentTimeMillis();
    // counters: responses by outcome, bytes by mode, origin requests and errors
    CacheOutcome[] outcomes = CacheOutcome.values();
    long[] now = new long[outcomes.length + MODES.length + 2];
    for (CacheOutcome o : outcomes) {
      now[o.ordinal()] = metrics.responses(o);
    }
    for (int i = 0; i < MODES.length; i++) {
      now[outcomes.length + i] = metrics.bytes(MODES[i]);
    }
    now[now.length - 2] = metrics.originRequests();
    now[now.length - 1] = counter("zcproxy.origin.errors");
    double seconds = last == null ? 0 : Math.max(1e-3, (nanos - lastNanos) / 1e9);
    JsonObject point = new JsonObject().put("t", wall);
    long requests = 0;
    long hits = 0;
    for (CacheOutcome o : outcomes) {
      long d = last == null ? 0 : now[o.ordinal()] - last[o.ordinal()];
      requests += d;
      if (o == CacheOutcome.HIT || o == CacheOutcome.STALE || o == CacheOutcome.REVALIDATED) {
        hits += d;
      }
    }
    point.put("rps", seconds == 0 ? 0 : requests / seconds).put("requests", requests).put("hits", hits);
    JsonObject bps = new JsonObject();
    for (int i = 0; i < MODES.length; i++) {
      int k = outcomes.length + i;
      bps.put(label(MODES[i]), seconds == 0 ? 0 : (now[k] - last[k]) / seconds);
    }
    point.put("bps", bps);
    point.put("origin_errors", last == null ? 0 : now[now.length - 1] - last[now.length - 1]);
    last = now;
    lastNanos = nanos;
    points.addLast(point);
    if (points.size() > HISTORY) {
      points.removeFirst();
    }

    // latency: histogram counts now, and WINDOW ticks ago
    long[][] buckets = new long[LATENCY_OUTCOMES.length + 1][];
    double[][] bounds = new double[LATENCY_OUTCOMES.length + 1][];
    for (int i = 0; i <= LATENCY_OUTCOMES.length; i++) {
      HistogramSnapshot hs = i < LATENCY_OUTCOMES.length ? metrics.requestDuration(LATENCY_OUTCOMES[i])
          : metrics.originDuration();
      CountAtBucket[] cab = hs == null ? new CountAtBucket[0] : hs.histogramCounts();
      buckets[i] = new long[cab.length + 1];
      bounds[i] = new double[cab.length];
      for (int b = 0; b < cab.length; b++) {
        buckets[i][b] = (long) cab[b].count();
        bounds[i][b] = cab[b].bucket(java.util.concurrent.TimeUnit.MILLISECONDS);
      }
      buckets[i][cab.length] = hs == null ? 0 : hs.count();
    }
    latency.addLast(buckets);
    if (latency.size() > WINDOW + 1) {
      latency.removeFirst();
    }
    long[][] then = latency.peekFirst() == buckets ? null : latency.peekFirst();
    JsonObject lat = new JsonObject();
    for (int i = 0; i < LATENCY_OUTCOMES.length; i++) {
      lat.put(LATENCY_OUTCOMES[i].name(), percentiles(bounds[i], buckets[i], then == null ? null : then[i]));
    }

    JsonObject totals = new JsonObject();
    for (CacheOutcome o : outcomes) {
      totals.put(o.name(), now[o.ordinal()]);
    }
    JsonObject bytes = new JsonObject();
    JsonObject modeResponses = new JsonObject();
    for (int i = 0; i < MODES.length; i++) {
      bytes.put(label(MODES[i]), now[outcomes.length + i]);
      modeResponses.put(label(MODES[i]), metrics.responses(MODES[i]));
    }
    long windowRequests = 0;
    long windowHits = 0;
    long windowErrors = 0;
    int n = 0;
    for (java.util.Iterator<JsonObject> it = points.descendingIterator(); it.hasNext() && n < WINDOW; n++) {
      JsonObject p = it.next();
      windowRequests += p.getLong("requests");
      windowHits += p.getLong("hits");
      windowErrors += p.getLong("origin_errors");
    }
    JsonObject origin = new JsonObject().put("requests", now[now.length - 2]).put("errors", now[now.length - 1])
        .put("errors_last_minute", windowErrors)
        .put("latency_ms", percentiles(bounds[LATENCY_OUTCOMES.length], buckets[LATENCY_OUTCOMES.length],
            then == null ? null : then[LATENCY_OUTCOMES.length]));
    return new JsonObject()
        .put("time", wall)
        .put("point", point)
        .put("responses", totals)
        .put("requests_last_minute", windowRequests)
        .put("hit_ratio_last_minute", windowRequests == 0 ? null : (double) windowHits / windowRequests)
        .put("bytes", bytes)
        .put("mode_responses", modeResponses)
        .put("latency_ms", lat)
        .put("origin", origin)
        .put("cache", cache());
  }

  private JsonObject cache() {
    JsonObject c = new JsonObject().put("enabled", store != null);
    if (store != null) {
      c.put("entries", store.entryCount()).put("bytes", store.weightedBytes()).put("max_bytes", store.maxBytes())
          .put("index_heap", store.indexHeapBytes()).put("max_index_heap", store.maxIndexHeapBytes())
          .put("evictions", new JsonObject().put("size", store.evictedForSize()).put("expired", store.evictedExpired())
              .put("explicit", store.removedExplicitly()).put("space", store.evictedForSpace()));
    }
    return c.put("stored", counter("zcproxy.cache.stored")).put("fills_in_flight", gauge("zcproxy.fills.in.flight"));
  }

  private JsonArray invalidationsJson() {
    JsonArray all = invalidations.toJson();
    JsonArray a = new JsonArray();
    for (int i = 0; i < Math.min(INVALIDATIONS_SHOWN, all.size()); i++) {
      a.add(all.getValue(i));
    }
    return a;
  }

  private JsonObject bans() {
    JsonArray list = new JsonArray();
    int count = 0;
    if (store != null) {
      List<Bans.Ban> all = store.bans().list();
      count = all.size();
      for (Bans.Ban b : all.subList(Math.max(0, all.size() - INVALIDATIONS_SHOWN), all.size())) {
        list.add(new JsonObject().put("id", b.id()).put("kind", b.kind().name().toLowerCase(Locale.ROOT))
            .put("expression", b.expression() + (b.kind() == Bans.Kind.HEADER ? ": " + b.value() : ""))
            .put("removed", b.removed()));
      }
    }
    return new JsonObject().put("count", count).put("matched", store == null ? 0 : store.banMatches()).put("list", list);
  }

  /**
   * p50, p90 and p99 (milliseconds, interpolated within the bucket) of the values recorded between two
   * histogram readings ({@code then} null: since start); {@code count} is how many. Counts are
   * cumulative per bucket bound, the last element is the total.
   */
  static JsonObject percentiles(double[] boundsMillis, long[] now, long[] then) {
    int nb = boundsMillis.length;
    long[] cum = new long[nb + 1];
    for (int b = 0; b <= nb; b++) {
      cum[b] = now[b] - (then == null || then.length != now.length ? 0 : then[b]);
    }
    long total = cum[nb];
    JsonObject o = new JsonObject().put("count", total);
    for (double q : new double[] {0.5, 0.9, 0.99}) {
      String key = "p" + Math.round(q * 100);
      if (total == 0 || nb == 0) {
        o.putNull(key);
        continue;
      }
      double rank = q * total;
      double value = boundsMillis[nb - 1]; // above the last bound: at least that
      for (int b = 0; b < nb; b++) {
        if (cum[b] >= rank) {
          double lo = b == 0 ? 0 : boundsMillis[b - 1];
          long below = b == 0 ? 0 : cum[b - 1];
          long in = cum[b] - below;
          value = in == 0 ? boundsMillis[b] : lo + (boundsMillis[b] - lo) * (rank - below) / in;
          break;
        }
      }
      o.put(key, Math.round(value * 1000) / 1000.0);
    }
    return o;
  }

  private long counter(String name) {
    double total = 0;
    for (FunctionCounter c : metrics.registry().find(name).functionCounters()) {
      total += c.count();
    }
    return (long) total;
  }

  private long gauge(String name) {
    var g = metrics.registry().find(name).gauge();
    return g == null ? 0 : (long) g.value();
  }

  private static String label(TransferMode m) {
    return m.name().toLowerCase(Locale.ROOT);
  }

  private static Buffer resource(String name) {
    try (InputStream in = Dashboard.class.getResourceAsStream("dashboard/" + name)) {
      if (in == null) {
        throw new IllegalStateException("dashboard resource missing from the jar: " + name);
      }
      return Buffer.buffer(in.readAllBytes());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Stops the timer and ends every event stream. */
  void close() {
    List<HttpServerResponse> open;
    synchronized (this) {
      if (timer >= 0) {
        vertx.cancelTimer(timer);
        timer = -1;
      }
      open = new ArrayList<>(clients);
      clients.clear();
    }
    for (HttpServerResponse r : open) {
      if (!r.ended()) {
        r.end();
      }
    }
  }

  /** Event streams open now. */
  synchronized int clients() {
    return clients.size();
  }
}
