package dev.zcproxy.proxy.demo;

import io.vertx.core.json.JsonObject;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Request counters of the demo origin: a total, one counter per path and one per path-and-query,
 * safe to update from every event loop.
 *
 * <p>The maps are bounded so that a load test with millions of distinct URLs cannot exhaust the
 * heap: past the bound, new keys are counted under {@code "(other)"}.
 */
final class DemoStats {
  static final String OTHER = "(other)";
  private static final int MAX_PATHS = 10_000;
  private static final int MAX_URIS = 200_000;

  private final LongAdder total = new LongAdder();
  private final ConcurrentHashMap<String, LongAdder> paths = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, LongAdder> uris = new ConcurrentHashMap<>();

  void count(String path, String uri) {
    total.increment();
    counter(paths, path, MAX_PATHS).increment();
    counter(uris, uri, MAX_URIS).increment();
  }

  private static LongAdder counter(ConcurrentHashMap<String, LongAdder> map, String key, int max) {
    LongAdder c = map.get(key);
    if (c != null) {
      return c;
    }
    return map.computeIfAbsent(map.size() < max ? key : OTHER, k -> new LongAdder());
  }

  long total() {
    return total.sum();
  }

  void reset() {
    total.reset();
    paths.clear();
    uris.clear();
  }

  /**
   * Returns {@code {"total":N,"paths":{...}}}, plus {@code "uris"} when {@code withUris}, plus a
   * {@code "match"} summary of the URIs containing {@code match} when it is not null.
   */
  JsonObject toJson(boolean withUris, String match) {
    JsonObject json = new JsonObject().put("total", total.sum()).put("paths", sorted(paths));
    if (withUris) {
      json.put("uris", sorted(uris));
    }
    if (match != null) {
      long requests = 0;
      long keys = 0;
      long max = 0;
      for (Map.Entry<String, LongAdder> e : uris.entrySet()) {
        if (e.getKey().contains(match)) {
          long n = e.getValue().sum();
          requests += n;
          keys++;
          max = Math.max(max, n);
        }
      }
      json.put(
          "match",
          new JsonObject()
              .put("substring", match)
              .put("requests", requests)
              .put("keys", keys)
              .put("maxPerKey", max));
    }
    return json;
  }

  private static JsonObject sorted(Map<String, LongAdder> map) {
    JsonObject json = new JsonObject();
    new TreeMap<>(map).forEach((k, v) -> json.put(k, v.sum()));
    return json;
  }
}
