package dev.zcproxy.cache.policy;

import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.Headers;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Freshness lifetime and age of one stored response (RFC 9111 §4.2), in milliseconds.
 *
 * <p>Design notes:
 * <ul>
 *   <li>§4.2.1 lifetime: {@code s-maxage}, else {@code max-age}, else {@code Expires - Date} (a
 *       missing or invalid {@code Date} is replaced by the response time, §4.2.1 / RFC 9110 §6.6.1; an
 *       invalid {@code Expires} means already expired, §5.3), else a heuristic (§4.2.2). An invalid
 *       delta-seconds means lifetime 0 (stale), as §4.2.1 encourages.
 *   <li>§4.2.2 heuristic: only for heuristically cacheable statuses (RFC 9110 §15.1) or
 *       {@code public}, and only without explicit expiry: {@code fraction * (Date - Last-Modified)},
 *       capped by {@link PolicyConfig#heuristicMaxSeconds()}.
 *   <li>§4.2.3 age: {@code apparent_age = max(0, response_time - date_value)},
 *       {@code corrected_age_value = age_value + (response_time - request_time)},
 *       {@code corrected_initial_age = max(apparent_age, corrected_age_value)},
 *       {@code current_age = corrected_initial_age + (now - response_time)}; a clock that went back
 *       adds no negative resident time.
 *   <li>§5.1 {@code Age}: the first member of the first line; a value that is not {@code 1*DIGIT} is
 *       ignored (treated as absent); larger than 2^31 saturates.
 *   <li>A response is fresh when {@code current_age < lifetime}; seconds reported outward are floored.
 * </ul>
 */
final class Freshness {
  /** Statuses that are heuristically cacheable (RFC 9110 §15.1). */
  static final Set<Integer> HEURISTIC = Set.of(200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501);

  final long lifetimeMs;
  final long correctedInitialAgeMs;
  final long responseTime;

  /** The response's {@code Date} (or its receipt time), epoch millis. */
  final long date;

  /** The lifetime the response's headers give, before any soft purge cut it short. */
  final long headerLifetimeMs;

  // What the lookups ask of the response's directives ({@link ResponseControl}), read once when the entry is first
  // asked for: every lookup reads the no-cache flag, and with thousands of entries the directive map behind it was cold
  // in the CPU cache where this object (read for the age anyway) is not; nor is the map (a ResponseControl, its
  // CacheControl and LinkedHashMap, ~250 B a stored head) kept alive by it any longer.
  /** {@link ResponseControl#noCacheUnqualified()}. */
  final boolean noCache;
  /** {@link ResponseControl#explicitRevalidate()}. */
  final boolean explicitRevalidate;
  /** {@link ResponseControl#hasSMaxage()}. */
  final boolean hasSMaxage;
  /** The response's {@code stale-while-revalidate} seconds ({@link CacheControl#seconds}: negative when absent or invalid). */
  final long staleWhileRevalidate;
  /** The response's {@code stale-if-error} seconds ({@link CacheControl#seconds}: negative when absent or invalid). */
  final long staleIfError;

  private Freshness(ResponseControl control, long lifetimeMs, long correctedInitialAgeMs, long responseTime, long date) {
    this.headerLifetimeMs = lifetimeMs;
    this.date = date;
    this.lifetimeMs = lifetimeMs;
    this.correctedInitialAgeMs = correctedInitialAgeMs;
    this.responseTime = responseTime;
    this.noCache = control.noCacheUnqualified();
    this.explicitRevalidate = control.explicitRevalidate();
    this.hasSMaxage = control.hasSMaxage();
    this.staleWhileRevalidate = control.cc.seconds("stale-while-revalidate");
    this.staleIfError = control.cc.seconds("stale-if-error");
  }

  /** {@code f} with its lifetime cut to {@code lifetimeMs} (a soft purge). */
  private Freshness(Freshness f, long lifetimeMs) {
    this.headerLifetimeMs = f.headerLifetimeMs;
    this.date = f.date;
    this.lifetimeMs = lifetimeMs;
    this.correctedInitialAgeMs = f.correctedInitialAgeMs;
    this.responseTime = f.responseTime;
    this.noCache = f.noCache;
    this.explicitRevalidate = f.explicitRevalidate;
    this.hasSMaxage = f.hasSMaxage;
    this.staleWhileRevalidate = f.staleWhileRevalidate;
    this.staleIfError = f.staleIfError;
  }

  /** Serving stale on the client's say-so is forbidden ({@link ResponseControl#sharedRevalidate()}). */
  boolean sharedRevalidate() {
    return explicitRevalidate || hasSMaxage;
  }

  /**
   * The freshness of a stored entry. A soft-purged entry ({@link EntryMeta#invalidatedAt}) is stale
   * from its purge on: its lifetime ends at the age it had then, so staleness (and with it
   * {@code stale-if-error} / {@code stale-while-revalidate} windows) counts from the purge.
   */
  static Freshness of(EntryMeta e, PolicyConfig config) {
    Freshness f = of(e.status(), e.headers(), e.requestTime(), e.responseTime(), config);
    if (e.invalidatedAt() == 0) {
      return f;
    }
    long ageThen = f.currentAgeMs(e.invalidatedAt());
    if (ageThen >= f.lifetimeMs) {
      return f;
    }
    return new Freshness(f, Math.max(0, ageThen));
  }

  static Freshness of(int status, Headers h, long requestTime, long responseTime, PolicyConfig config) {
    ResponseControl rc = ResponseControl.of(h, config);
    long date = dateValue(h, responseTime);
    long lifetime = lifetimeMs(status, h, rc, date, config);
    long apparentAge = Math.max(0, responseTime - date);
    long ageValue = ageValueSeconds(h);
    long responseDelay = Math.max(0, responseTime - requestTime);
    long correctedAgeValue = (ageValue < 0 ? 0 : ageValue * 1000) + responseDelay;
    long correctedInitialAge = Math.max(apparentAge, correctedAgeValue);
    return new Freshness(rc, lifetime, correctedInitialAge, responseTime, date);
  }

  /** {@code current_age} at {@code now} (§4.2.3). */
  long currentAgeMs(long now) {
    return correctedInitialAgeMs + Math.max(0, now - responseTime);
  }

  static long seconds(long millis) {
    return Math.floorDiv(millis, 1000);
  }

  boolean isFresh(long now) {
    return currentAgeMs(now) < lifetimeMs;
  }

  /** How long past its lifetime the response is at {@code now} (negative while fresh). */
  long stalenessMs(long now) {
    return currentAgeMs(now) - lifetimeMs;
  }

  /** Whether the response carries explicit expiry (§4.2.1) that this cache honours. */
  static boolean hasExplicitExpiry(Headers h, ResponseControl rc) {
    return rc.cc.has("s-maxage") || rc.cc.has("max-age") || (rc.expiresApplies && h.contains("Expires"));
  }

  private static long lifetimeMs(int status, Headers h, ResponseControl rc, long date, PolicyConfig config) {
    long s = rc.cc.seconds("s-maxage");
    if (s == CacheControl.ABSENT) {
      s = rc.cc.seconds("max-age");
    }
    if (s != CacheControl.ABSENT) {
      return s == CacheControl.INVALID ? 0 : s * 1000;
    }
    if (rc.expiresApplies && h.contains("Expires")) {
      long expires = HttpDates.parse(h.get("Expires"));
      if (expires == HttpDates.INVALID) {
        return 0;
      }
      return Math.max(0, expires - date);
    }
    if (!HEURISTIC.contains(status) && !rc.isPublic()) {
      return 0;
    }
    long lastModified = HttpDates.parse(h.get("Last-Modified"));
    if (lastModified == HttpDates.INVALID || lastModified >= date) {
      return 0;
    }
    double heuristic = (date - lastModified) * config.heuristicFraction();
    return (long) Math.min(heuristic, config.heuristicMaxSeconds() * 1000.0);
  }

  /** The {@code Date} value, or {@code responseTime} when missing or invalid. */
  static long dateValue(Headers h, long responseTime) {
    long d = HttpDates.parse(h.get("Date"));
    return d == HttpDates.INVALID ? responseTime : d;
  }

  /** The {@code Age} value in seconds, or -1 when absent or invalid (§5.1). */
  static long ageValueSeconds(Headers h) {
    List<String> lines = h.getAll("Age");
    if (lines.isEmpty()) {
      return -1;
    }
    List<String> members = new ArrayList<>(2);
    Headers.splitList(lines.get(0), members);
    if (members.isEmpty()) {
      return -1;
    }
    long v = CacheControl.deltaSeconds(members.get(0));
    return v < 0 ? -1 : v;
  }
}
