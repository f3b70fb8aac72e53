package dev.zcproxy.cache.policy;

import static java.util.Objects.requireNonNull;

import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.Headers;
import dev.zcproxy.cache.Lookup;
import dev.zcproxy.cache.RequestHead;
import dev.zcproxy.cache.ResponseHead;
import java.util.List;

/**
 * The RFC 9111 caching policy of a shared cache: pure functions of request and response heads and a
 * time, deciding what may be stored, what may be served, and how stored headers change.
 *
 * <p>Every method is pure: no I/O, no clock of its own (times are epoch milliseconds passed in).
 *
 * <p>Design notes on {@link #select} (RFC 9111 §4, §5.2.1; RFC 5861; RFC 8246):
 * <ol>
 *   <li>Variants are matched by secondary key ({@link VarySelector}); {@code Vary: *} never matches;
 *       of several matches the most recent ({@code Date}, then response time) wins (§4.1). Only when
 *       none matches exactly, a variant in the request's most preferred {@code Content-Language} is
 *       used ({@link VarySelector#matchesByLanguage}).
 *   <li>Request {@code no-cache} (or {@code Pragma: no-cache} without {@code Cache-Control}, §5.4)
 *       and response {@code no-cache} without field names (§5.2.2.4) require validation. Request
 *       {@code no-cache} is honoured even for {@code immutable} responses: RFC 8246 only asks clients
 *       not to send it, and a client that does wants a validated response.
 *   <li>Fresh when {@code current_age < lifetime}; a request {@code max-age=N} also needs
 *       {@code age <= N} (whole seconds; {@code max-age=0} always validates, as reloads mean it) and
 *       {@code min-fresh=N} needs {@code lifetime - age >= N} (§5.2.1.1, §5.2.1.3). A request whose
 *       {@code max-age}/{@code min-fresh} is not met is validated, whatever the stale windows.
 *   <li>Stale: the client's {@code max-stale} (§5.2.1.2) serves it unless {@code must-revalidate},
 *       {@code proxy-revalidate} or {@code s-maxage} (which implies proxy-revalidate, §5.2.2.10)
 *       forbid it; otherwise the response's {@code stale-while-revalidate} window serves it while
 *       revalidating, unless {@code must-revalidate}/{@code proxy-revalidate}. An origin that sends
 *       {@code s-maxage} together with {@code stale-while-revalidate} or {@code stale-if-error}
 *       grants those windows explicitly, so {@code s-maxage} alone does not cancel them.
 *   <li>Request {@code no-store} (§5.2.1.5) forbids storing the response to it; the RFC leaves reuse
 *       open, and this cache does not use a stored response for it either ({@code Miss("request")}):
 *       a client that asks for nothing to be kept gets the origin's current answer, as Apache httpd
 *       does.
 *   <li>{@code only-if-cached} (§5.2.1.7): whatever would need the origin becomes
 *       {@code Miss(detail, true)}.
 * </ol>
 */
public final class CachePolicy {
  /**
   * This cache's device token for {@code Surrogate-Control} targeting: the proxy announces it to the
   * origin as {@code Surrogate-Capability: zcproxy="Surrogate/1.0"}, and directives suffixed
   * {@code ;zcproxy} apply to it alone.
   */
  public static final String SURROGATE_DEVICE = "zcproxy";

  private final PolicyConfig config;
  /**
   * What a stored entry's headers say about its freshness never changes (a 304 makes a new
   * EntryMeta), so it is parsed once per entry, not on every hit. Keys compare by identity (weak
   * keys): an entry that leaves the index leaves this memo with it.
   */
  private final com.github.benmanes.caffeine.cache.Cache<EntryMeta, Freshness> freshnessMemo =
      com.github.benmanes.caffeine.cache.Caffeine.newBuilder().weakKeys().maximumSize(1 << 16)
          .executor(Runnable::run) // maintenance on the caller: no task handed to the common pool per few reads
          .build();
  /**
   * A stored entry's freshness as this policy parsed it, kept in its headers ({@link Headers#derived}): one field read
   * per hit whatever the number of cached entries (a 256-slot identity front missed 8% of the event loops' samples
   * with 10,000 keys, then paid a recorded Caffeine read), bounded by the stored heads themselves. Immutable.
   *
   * @param vary whether the entry's headers have a {@code Vary} field (asked for every candidate of every lookup)
   */
  private record Memo(CachePolicy owner, EntryMeta entry, Freshness freshness, boolean vary) {}

  public CachePolicy(PolicyConfig config) {
    this.config = requireNonNull(config, "config");
  }

  /** How many entries the weak-keyed memo holds (tests). */
  long memoizedElsewhere() {
    freshnessMemo.cleanUp();
    return freshnessMemo.estimatedSize();
  }

  private Freshness freshness(EntryMeta e) {
    Headers h = e.headers();
    if (h.derived() instanceof Memo m && m.entry() == e && m.owner() == this) {
      return m.freshness();
    }
    if (h.derived() == null && !h.isEmpty()) {
      // the usual entry, asked for the first time: its own header list keeps its freshness; the weak-keyed memo (a
      // Caffeine write and a weak reference per entry, ~130 B of heap beside the slot) is for shared lists only
      Freshness f = Freshness.of(e, config);
      h.derived(new Memo(this, e, f, h.contains("Vary")));
      return f;
    }
    // headers shared by another meta (withBody, withHeaders of equal fields) or another site's policy: the slot
    // holds the last one asked for, the weak-keyed memo the rest
    Freshness f = freshnessMemo.get(e, x -> Freshness.of(x, config));
    if (!h.isEmpty()) { // the empty list is one shared instance: it keeps no entry (nor this policy) alive
      h.derived(new Memo(this, e, f, h.contains("Vary")));
    }
    return f;
  }

  /**
   * Whether {@code e} is no candidate for {@code rh} by its {@code Vary} ({@code Vary: *}, or another secondary key):
   * an entry without {@code Vary} (known from its memo when there is one) matches a request whose key is empty.
   */
  private boolean varyMismatch(EntryMeta e, Headers rh) {
    Headers h = e.headers();
    if (h.derived() instanceof Memo m && m.entry() == e && m.owner() == this && !m.vary()) {
      return !e.variant().isEmpty(); // VarySelector.key is "" without Vary, and isStar false
    }
    return VarySelector.isStar(h) || !VarySelector.key(h, rh).equals(e.variant());
  }

  /**
   * What {@link #select} reads from a request's own fields, kept with them ({@link Headers#derived}): a client's
   * repeated head (the front hit path keeps its fields) is not parsed again. Immutable.
   *
   * @param cc the request's {@code Cache-Control}
   * @param noCache {@code no-cache} in it, or (without it) {@code Pragma: no-cache}
   */
  private record RequestDirectives(CacheControl cc, boolean noCache) {}

  private static RequestDirectives directives(Headers rh) {
    if (rh.derived() instanceof RequestDirectives d) {
      return d;
    }
    CacheControl cc = CacheControl.of(rh, "Cache-Control");
    RequestDirectives d = new RequestDirectives(cc, cc.has("no-cache") || (!rh.contains("Cache-Control") && pragmaNoCache(rh)));
    if (!rh.isEmpty()) { // the empty list is one shared instance
      rh.derived(d);
    }
    return d;
  }

  public PolicyConfig config() {
    return config;
  }

  /** Whether requests with this method are looked up in the cache at all (GET and HEAD). */
  public boolean isLookupMethod(String method) {
    return "GET".equals(method) || "HEAD".equals(method);
  }

  /**
   * Chooses how to answer {@code req} from the stored variants of its URI at {@code nowMillis}
   * (RFC 9111 §4: Vary selection §4.1, freshness §4.2, request directives §5.2.1, RFC 5861).
   */
  public Lookup select(RequestHead req, List<EntryMeta> variants, long nowMillis) {
    requireNonNull(req, "req");
    requireNonNull(variants, "variants");
    Headers rh = req.headers();
    RequestDirectives directives = directives(rh);
    CacheControl reqCc = directives.cc();
    boolean onlyIfCached = reqCc.has("only-if-cached");
    if (variants.isEmpty()) {
      return new Lookup.Miss("uri-miss", onlyIfCached);
    }
    if (reqCc.has("no-store")) {
      return new Lookup.Miss("request", onlyIfCached);
    }
    EntryMeta chosen = null;
    long chosenDate = Long.MIN_VALUE;
    boolean complete = false; // whether a complete (non-206) response is stored at all
    for (int i = 0; i < variants.size(); i++) { // no iterator per lookup
      EntryMeta e = variants.get(i);
      complete |= e.status() != 206;
      if (e.status() == 206 || varyMismatch(e, rh)) {
        continue;
      }
      if (chosen == null) {
        chosen = e; // the usual single match needs no Date parse
        continue;
      }
      if (chosenDate == Long.MIN_VALUE) {
        chosenDate = freshness(chosen).date;
      }
      long date = freshness(e).date;
      if (date > chosenDate || (date == chosenDate && e.responseTime() > chosen.responseTime())) {
        chosen = e;
        chosenDate = date;
      }
    }
    if (chosen == null) {
      chosen = byLanguage(variants, rh);
    }
    if (chosen == null) {
      // RFC 9211 §2.2: only partial responses stored is no usable response (miss), not a variant mismatch
      return new Lookup.Miss(complete ? "vary-miss" : "miss", onlyIfCached);
    }
    Freshness f = freshness(chosen);
    long ageMs = f.currentAgeMs(nowMillis);
    long age = Freshness.seconds(ageMs);
    boolean noCacheRequest = directives.noCache();
    if (noCacheRequest || f.noCache) {
      if (noCacheRequest && !onlyIfCached) {
        return new Lookup.Stale(chosen, age, Lookup.Action.REVALIDATE, "request");
      }
      return revalidate(chosen, age, onlyIfCached, noCacheRequest ? "request" : "stale");
    }
    if (!f.isFresh(nowMillis)) {
      return staleOutcome(chosen, f, reqCc, ageMs, age, onlyIfCached);
    }
    long maxAge = reqCc.seconds("max-age");
    if (maxAge != CacheControl.ABSENT && (maxAge <= 0 || age > maxAge)) {
      return revalidate(chosen, age, onlyIfCached, "request");
    }
    long minFresh = reqCc.seconds("min-fresh");
    if (minFresh > 0 && f.lifetimeMs - ageMs < minFresh * 1000) {
      return revalidate(chosen, age, onlyIfCached, "request");
    }
    return new Lookup.Fresh(chosen, age);
  }

  /** Without an exact Vary match: the most recent variant in the request's preferred language, if any. */
  private EntryMeta byLanguage(List<EntryMeta> variants, Headers rh) {
    if (!rh.contains("Accept-Language")) {
      return null;
    }
    EntryMeta chosen = null;
    for (EntryMeta e : variants) {
      if (e.status() == 206 || VarySelector.isStar(e.headers()) || !VarySelector.matchesByLanguage(e.headers(), e.variant(), rh)) {
        continue;
      }
      if (chosen == null || freshness(e).date > freshness(chosen).date
          || (freshness(e).date == freshness(chosen).date && e.responseTime() > chosen.responseTime())) {
        chosen = e;
      }
    }
    return chosen;
  }

  private Lookup staleOutcome(EntryMeta e, Freshness f, CacheControl reqCc, long ageMs, long age, boolean onlyIfCached) {
    long stalenessMs = ageMs - f.lifetimeMs;
    long maxAge = reqCc.seconds("max-age");
    if (maxAge != CacheControl.ABSENT && (maxAge <= 0 || age > maxAge)) {
      return revalidate(e, age, onlyIfCached, "stale"); // stale anyway: not the request's doing (RFC 9211 fwd=stale)
    }
    if (reqCc.has("max-stale") && !f.sharedRevalidate()) {
      String arg = reqCc.arg("max-stale");
      long maxStale = arg == null ? CacheControl.MAX_DELTA : CacheControl.deltaSeconds(arg);
      if (maxStale >= 0 && (arg == null || stalenessMs <= maxStale * 1000)) {
        return new Lookup.Stale(e, age, Lookup.Action.SERVE_STALE);
      }
    }
    long swr = f.staleWhileRevalidate;
    if (swr > 0 && !f.explicitRevalidate && stalenessMs <= swr * 1000) {
      return new Lookup.Stale(e, age, Lookup.Action.SERVE_STALE_AND_REVALIDATE);
    }
    return revalidate(e, age, onlyIfCached, "stale");
  }

  /** @param detail the {@code fwd} reason: {@code request} when the request refused a usable entry, else {@code stale} */
  private static Lookup revalidate(EntryMeta e, long age, boolean onlyIfCached, String detail) {
    if (onlyIfCached) {
      return new Lookup.Miss(detail, true);
    }
    return new Lookup.Stale(e, age, Lookup.Action.REVALIDATE, detail);
  }

  private static boolean pragmaNoCache(Headers h) {
    if (!h.contains("Pragma")) {
      return false; // the usual request: no member list made
    }
    for (String m : h.members("Pragma")) {
      if (m.equalsIgnoreCase("no-cache")) {
        return true;
      }
    }
    return false;
  }

  /** Whether the response to {@code req} may be stored (RFC 9111 §3), and under which variant. */
  public Storability storable(RequestHead req, ResponseHead resp) {
    requireNonNull(req, "req");
    requireNonNull(resp, "resp");
    return StorageRules.decide(req, resp, config);
  }

  /** The header fields to add to a request that revalidates {@code stored} (RFC 9111 §4.3.1). */
  public Headers validators(EntryMeta stored) {
    return Validation.validators(requireNonNull(stored, "stored"));
  }

  /**
   * Whether a 304 identifies {@code stored} (RFC 9111 §4.3.4): no differing strong {@code ETag} or
   * {@code Last-Modified}. When false, {@link #merge304} leaves the entry unchanged and the proxy
   * should fetch the full response.
   */
  public boolean validates(EntryMeta stored, ResponseHead notModified) {
    return Validation.validates(requireNonNull(stored, "stored"), requireNonNull(notModified, "notModified"));
  }

  /** The stored entry updated by a 304 received for it (RFC 9111 §3.2, §4.3.4). */
  public EntryMeta merge304(EntryMeta stored, ResponseHead notModified, long requestTime, long responseTime) {
    requireNonNull(stored, "stored");
    requireNonNull(notModified, "notModified");
    return Validation.merge304(stored, notModified, requestTime, responseTime, config);
  }

  /**
   * The stored GET response {@code stored} updated by a 200 received for a HEAD request (RFC 9111
   * §4.3.5, §3.2), or empty when the HEAD response does not match it (other validators or length) or
   * is not a 200: then the stored response is left as it is.
   */
  public java.util.Optional<EntryMeta> mergeHead(EntryMeta stored, ResponseHead head, long requestTime, long responseTime) {
    requireNonNull(stored, "stored");
    requireNonNull(head, "head");
    return Validation.mergeHead(stored, head, requestTime, responseTime, config);
  }

  /**
   * The header fields to send with {@code entry} at {@code nowMillis}: the stored ones plus a current
   * {@code Age} (§5.1). Unless {@link SetCookie#STORE}, never a stored {@code Set-Cookie} (an entry
   * stored before {@code cache.set-cookie} was changed, found again by the restart scan).
   */
  public Headers responseHeaders(EntryMeta entry, long nowMillis) {
    requireNonNull(entry, "entry");
    Headers h = entry.headers();
    if (config.setCookie() != SetCookie.STORE) {
      for (String f : SetCookie.FIELDS) {
        if (h.contains(f)) {
          h = h.without(f);
        }
      }
    }
    return h.with("Age", Long.toString(ageSeconds(entry, nowMillis)));
  }

  /**
   * Hands {@link #responseHeaders} to {@code out} field by field, without building a copy (the hit path):
   * the same fields in the same order.
   */
  public void forEachResponseHeader(EntryMeta entry, long nowMillis, java.util.function.BiConsumer<String, String> out) {
    responseFields(entry, nowMillis).forEach(out);
  }

  /** The fields to send with {@code entry} at {@code nowMillis} under this policy's cookie rule, as a value. */
  public ResponseFields responseFields(EntryMeta entry, long nowMillis) {
    requireNonNull(entry, "entry");
    return new ResponseFields(entry, config.setCookie() == SetCookie.STORE, ageSeconds(entry, nowMillis));
  }

  /** The current age of {@code entry} at {@code nowMillis} in whole seconds (RFC 9111 §4.2.3). */
  public long ageSeconds(EntryMeta entry, long nowMillis) {
    return Freshness.seconds(freshness(entry).currentAgeMs(nowMillis));
  }

  /** The freshness lifetime of {@code entry} in whole seconds (RFC 9111 §4.2.1, §4.2.2); 0 when stale from the start. */
  public long lifetimeSeconds(EntryMeta entry) {
    return Freshness.seconds(freshness(entry).lifetimeMs);
  }

  /** Whether a conditional {@code req} is answered 304 from {@code entry} (RFC 9110 §13.2.2, RFC 9111 §4.3.2). */
  public boolean notModified(RequestHead req, EntryMeta entry) {
    return Validation.notModified(requireNonNull(req, "req"), requireNonNull(entry, "entry"));
  }

  /**
   * How to answer {@code req}'s {@code Range}/{@code If-Range} from the stored {@code entry}: a complete
   * one, or a partial one ({@link #partialFor} chose it) whose sub-range is sent, else (the same
   * {@code Range} as the stored one's request) the stored 206 as it is.
   */
  public RangeDecision range(RequestHead req, EntryMeta entry) {
    requireNonNull(req, "req");
    requireNonNull(entry, "entry");
    if (entry.status() == 206) {
      RangeDecision.Partial p = PartialContent.within(req, entry);
      return p != null ? p : new RangeDecision.Full();
    }
    return Ranges.decide(req, entry);
  }

  /** Whether a range miss for {@code req} goes to the origin with its {@code Range} ({@link PartialContent}). */
  public boolean forwardsRange(RequestHead req) {
    return PartialContent.forwardsRange(requireNonNull(req, "req"));
  }

  /**
   * The fresh stored partial (206) entry among {@code variants} whose range holds {@code req}'s, or
   * {@code null} (RFC 9111 §3.3, {@link PartialContent}). Only for a request {@link #select} missed.
   */
  public EntryMeta partialFor(RequestHead req, List<EntryMeta> variants, long nowMillis) {
    requireNonNull(req, "req");
    requireNonNull(variants, "variants");
    return PartialContent.answering(req, variants, e -> freshness(e).isFresh(nowMillis));
  }

  /**
   * The partial entry to store under {@code primaryKey} for the 206 {@code resp} to the range request
   * {@code req}, or {@code null} when it is not stored (RFC 9111 §3.3, {@link PartialContent}).
   */
  public EntryMeta partialToStore(String primaryKey, RequestHead req, ResponseHead resp, long requestTime,
      long responseTime) {
    requireNonNull(primaryKey, "primaryKey");
    requireNonNull(req, "req");
    requireNonNull(resp, "resp");
    if (resp.status() != 206) {
      return null;
    }
    Storability asComplete = storable(req, new ResponseHead(200, resp.headers()));
    return PartialContent.toStore(primaryKey, req, resp, asComplete, requestTime, responseTime);
  }

  /** Whether {@code entry} may be served stale because the origin failed (RFC 5861 §4, RFC 9111 §4.2.4). */
  public boolean staleIfError(RequestHead req, EntryMeta entry, long nowMillis) {
    requireNonNull(req, "req");
    requireNonNull(entry, "entry");
    Freshness f = freshness(entry);
    if (f.explicitRevalidate || f.noCache) {
      return false;
    }
    long staleness = f.stalenessMs(nowMillis);
    long resp = f.staleIfError;
    if (resp >= 0 && staleness <= resp * 1000) {
      return true;
    }
    long asked = CacheControl.of(req.headers(), "Cache-Control").seconds("stale-if-error");
    return asked >= 0 && !f.hasSMaxage && staleness <= asked * 1000;
  }

  /**
   * The primary keys that a response to an invalidating method invalidates (RFC 9111 §4.4): POST, PUT,
   * DELETE or PATCH, or any method not known to be safe with {@link InvalidateMethods#ANY_UNSAFE}.
   */
  public List<String> invalidations(RequestHead req, ResponseHead resp) {
    return Invalidation.keys(requireNonNull(req, "req"), requireNonNull(resp, "resp"), config.invalidateMethods());
  }

  /**
   * Epoch millis after which {@code entry} is useless and may leave the index: freshness, plus the
   * longest stale window, or the keep time when the entry can still be used stale. That is when it has
   * validators (a 304 revalidates it), or when it had a freshness lifetime and nothing forbids serving
   * it stale, so that a client's {@code max-stale} or {@code stale-if-error} (RFC 9111 §5.2.1.2,
   * RFC 5861 §4) finds it; an entry stale from the start without validators is not kept. A soft
   * purge does not change it.
   */
  public long retainUntil(EntryMeta entry) {
    requireNonNull(entry, "entry");
    Freshness f = freshness(entry);
    // A soft purge does not shorten retention: the entry stays to be revalidated or served on error.
    long fresh = Math.max(0, f.headerLifetimeMs - f.correctedInitialAgeMs);
    long grace = 0;
    if (!f.explicitRevalidate) { // ResponseControl.secondsOrZero: 0 when absent or invalid
      grace = Math.max(Math.max(0, f.staleWhileRevalidate), Math.max(0, f.staleIfError));
    }
    boolean clientMayTakeStale = f.headerLifetimeMs > 0 && !f.sharedRevalidate() && !f.noCache;
    if (clientMayTakeStale || entry.headers().contains("ETag") || entry.headers().contains("Last-Modified")) {
      grace = Math.max(grace, config.keepSeconds());
    }
    return saturatedAdd(saturatedAdd(entry.responseTime(), fresh), saturatedMul1000(grace));
  }

  private static long saturatedMul1000(long seconds) {
    return seconds > Long.MAX_VALUE / 1000 ? Long.MAX_VALUE : seconds * 1000;
  }

  private static long saturatedAdd(long a, long b) {
    long r = a + b;
    if (((a ^ r) & (b ^ r)) < 0) {
      return a < 0 ? Long.MIN_VALUE : Long.MAX_VALUE;
    }
    return r;
  }
}
