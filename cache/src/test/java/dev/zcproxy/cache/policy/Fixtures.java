package dev.zcproxy.cache.policy;

import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.Headers;
import dev.zcproxy.cache.RequestHead;
import dev.zcproxy.cache.ResponseHead;

/** Builders shared by the policy tests: fixed times, heads and entries. */
final class Fixtures {
  /** 2023-11-14T22:13:20Z, a whole second. */
  static final long T0 = 1_700_000_000_000L;
  static final String URI = "http://example.com/a";
  static final CachePolicy POLICY = new CachePolicy(PolicyConfig.defaults());

  private Fixtures() {}

  static long at(long seconds) {
    return T0 + seconds * 1000;
  }

  /** IMF-fixdate of {@code T0 + seconds}. */
  static String date(long seconds) {
    return HttpDates.format(at(seconds));
  }

  static RequestHead get(String... headers) {
    return request("GET", headers);
  }

  static RequestHead request(String method, String... headers) {
    return new RequestHead(method, "http", "example.com", "/a", Headers.of(headers));
  }

  static ResponseHead response(int status, String... headers) {
    return new ResponseHead(status, Headers.of(headers));
  }

  /** A stored 200 fetched at T0 (request and response time equal), variant "". */
  static EntryMeta entry(String... headers) {
    return entry(200, "", T0, T0, headers);
  }

  static EntryMeta entry(int status, String variant, long requestTime, long responseTime, String... headers) {
    return new EntryMeta(URI, variant, status, Headers.of(headers), requestTime, responseTime, 1000, 0);
  }

  /** Splits "Name: value|Name: value" into name/value pairs ("" gives none). */
  static String[] fields(String spec) {
    if (spec == null || spec.isBlank()) {
      return new String[0];
    }
    String[] lines = spec.split("\\|");
    String[] out = new String[lines.length * 2];
    for (int i = 0; i < lines.length; i++) {
      int colon = lines[i].indexOf(':');
      out[2 * i] = lines[i].substring(0, colon).trim();
      out[2 * i + 1] = lines[i].substring(colon + 1).trim();
    }
    return out;
  }
}
