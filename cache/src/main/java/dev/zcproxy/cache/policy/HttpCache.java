package dev.zcproxy.cache.policy;

import static java.util.Objects.requireNonNull;

import dev.zcproxy.cache.CacheKey;
import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.Lookup;
import dev.zcproxy.cache.RequestHead;
import dev.zcproxy.cache.ResponseHead;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * The one place the proxy asks what RFC 9111 says: every answer is an immutable value the proxy acts
 * on, and every "now" comes from the injected clock.
 *
 * <p>Design notes, in the order of a request (recv → lookup → fetch → store or pass → deliver):
 * <ol>
 *   <li><b>recv.</b> {@link #looksUp}: GET and HEAD are looked up; anything else is passed.
 *   <li><b>lookup.</b> {@link #lookup} is {@link CachePolicy#select} at the clock's now: a fresh entry,
 *       a stale one with what may be done with it and why ({@link Lookup.Stale#fwd}), or a miss.
 *   <li><b>fetch.</b> {@link #originMethod} and {@link #originFields}: a fetch for the cache goes
 *       without the client's {@code If-None-Match}, {@code If-Modified-Since}, {@code If-Range} and
 *       {@code Range}, so the response is complete and storable, and without its {@code If-Match} and
 *       {@code If-Unmodified-Since}, which {@link #preconditionFailed} evaluates on what is delivered
 *       (nginx's proxy_cache does the same); a revalidation adds the stored
 *       entry's validators (RFC 9111 §4.3.1); a HEAD that misses is fetched as a GET (nginx's
 *       {@code proxy_cache_convert_head}).
 *   <li><b>response.</b> {@link #afterFetch}: a 304 (or a HEAD's matching 200) is merged into the
 *       stale entry (§4.3.4, §4.3.5); a 5xx serves the stale entry when stale-if-error allows
 *       (RFC 5861 §4); otherwise the response is stored (§3) or passed with a {@link Reason}, which
 *       says whether the URI is to be remembered as hit-for-pass. Storage follows the site's rules
 *       (its {@code max-object-size} and {@code set-cookie}), given as the site's {@link CachePolicy}.
 *   <li><b>store.</b> {@link #variantsToDrop}: at most {@link PolicyConfig#maxVariants} variants of a
 *       URI; the oldest others go (§4.1 leaves the number to the cache).
 *   <li><b>pass.</b> {@link #afterPass}: what is stored of a response to a request passed to the
 *       origin (a POST's for its {@code Content-Location}, a forwarded range's 206 as a partial entry).
 *   <li><b>deliver.</b> {@link #deliver}: how a stored entry answers the request, as a {@link Delivery}
 *       (full, 304, 206 with its range, 416, or the head alone) with the fields to send
 *       ({@link ResponseFields}, with the current {@code Age}); {@link #answersInFull} says when it is
 *       always the full response (the pre-encoded hit path). A failed {@code If-Match} /
 *       {@code If-Unmodified-Since} ({@link #preconditionFailed}) is a 412 first; a range of a filling miss is
 *       {@link #fillRange}.
 *   <li><b>invalidate.</b> {@link #invalidations}: the keys an unsafe method's response invalidates (§4.4).
 * </ol>
 */
public final class HttpCache {
  /**
   * The client fields a fetch for the cache does not forward: its conditionals and range (nginx's
   * proxy_cache clears the same); the preconditions among them are evaluated here ({@link #preconditionFailed}).
   */
  static final List<String> CONDITIONALS_AND_RANGE = List.of("if-none-match", "if-modified-since", "if-range", "range",
      "if-match", "if-unmodified-since");
  private static final OriginFields FILL = new OriginFields(CONDITIONALS_AND_RANGE, dev.zcproxy.cache.Headers.empty());

  /** A passed request's response that nothing stores. */
  private static final ResponseAction.Pass PASSED = new ResponseAction.Pass(Reason.OTHER, "passed");

  private final CachePolicy policy;
  private final LongSupplier clock;

  /**
   * @param policy the policy of the proxy (freshness, validation, what is served)
   * @param clock epoch milliseconds
   */
  public HttpCache(CachePolicy policy, LongSupplier clock) {
    this.policy = requireNonNull(policy, "policy");
    this.clock = requireNonNull(clock, "clock");
  }

  /** The policy behind this facade. */
  public CachePolicy policy() {
    return policy;
  }

  /** The clock's now, in epoch milliseconds. */
  public long now() {
    return clock.getAsLong();
  }

  // ---------------------------------------------------------------- recv and lookup

  /** Whether {@code req} is looked up in the cache at all (GET and HEAD); else it is passed. */
  public boolean looksUp(RequestHead req) {
    return policy.isLookupMethod(req.method());
  }

  /** How to answer {@code req} from the stored {@code variants} of its URI, now (RFC 9111 §4). */
  public Lookup lookup(RequestHead req, List<EntryMeta> variants) {
    return policy.select(req, variants, now());
  }

  // ---------------------------------------------------------------- the origin request

  /** The method of the origin request: a HEAD that misses ({@code stale == null}) is fetched as a GET, to be stored. */
  public String originMethod(RequestHead req, EntryMeta stale) {
    return stale == null && req.method().equals("HEAD") ? "GET" : req.method();
  }

  /**
   * How the origin request's fields differ from the client's for a fetch for the cache: without the
   * client's conditionals and range, plus {@code stale}'s validators when it revalidates
   * {@code stale} (RFC 9111 §4.3.1).
   *
   * @param stale the entry revalidated, or {@code null} for a miss
   * @param storedHere {@code false} for a miss sent to another cache that answers the client's
   *     conditionals and range itself (the key's owner in a cluster): then the fields are unchanged
   */
  public OriginFields originFields(EntryMeta stale, boolean storedHere) {
    if (stale != null) {
      return new OriginFields(CONDITIONALS_AND_RANGE, policy.validators(stale));
    }
    return storedHere ? FILL : OriginFields.UNCHANGED;
  }

  // ---------------------------------------------------------------- the origin response

  /**
   * What to do with the origin's response to a fetch for the cache: a miss ({@code stale == null})
   * or a revalidation of {@code stale}.
   *
   * @param req the client's request (a HEAD miss was fetched as a GET: its response is stored as one)
   * @param resp the response head, hop-by-hop fields removed
   * @param primaryKey the key to store it under
   * @param requestTime when the origin request was sent (epoch millis)
   * @param responseTime when its head arrived
   * @param site the storage rules of the request's site (may be this facade's {@link #policy()})
   */
  public ResponseAction afterFetch(RequestHead req, ResponseHead resp, EntryMeta stale, String primaryKey,
      long requestTime, long responseTime, CachePolicy site) {
    requireNonNull(req, "req");
    requireNonNull(resp, "resp");
    if (stale != null) {
      int status = resp.status();
      boolean head = req.method().equals("HEAD");
      if (status == 304) {
        return merge304(stale, resp, requestTime, responseTime);
      }
      if (status == 200 && head) {
        var updated = policy.mergeHead(stale, resp, requestTime, responseTime);
        if (updated.isPresent()) {
          return new ResponseAction.Merge(updated.get());
        }
      }
      if (status >= 500 && policy.staleIfError(req, stale, responseTime)) {
        return new ResponseAction.ServeStale();
      }
      if (head) {
        return new ResponseAction.Pass(Reason.HEAD); // no body to store; the stored GET stays as it is
      }
    }
    return storage(asGet(req), resp, primaryKey, requestTime, responseTime, site);
  }

  /**
   * Whether the response to {@code fetched} (the request as sent to the origin) is stored, and as
   * which entry: {@link ResponseAction.Store} or {@link ResponseAction.Pass}.
   */
  public ResponseAction storage(RequestHead fetched, ResponseHead resp, String primaryKey, long requestTime,
      long responseTime, CachePolicy site) {
    requireNonNull(primaryKey, "primaryKey");
    Storability s = site.storable(fetched, resp);
    if (s instanceof Storability.Store st) {
      return new ResponseAction.Store(
          new EntryMeta(primaryKey, st.variant(), resp.status(), st.headers(), requestTime, responseTime, 0, 0));
    }
    String token = ((Storability.DontStore) s).reason();
    return new ResponseAction.Pass(Reason.of(token), token);
  }

  /** The method of a stale-while-revalidate background request (RFC 5861 §3): always a GET, whatever the client sent. */
  public String backgroundMethod() {
    return "GET";
  }

  /**
   * What to do with the origin's response to a stale-while-revalidate background request for
   * {@code stale} (RFC 5861 §3): a 304 is merged (RFC 9111 §4.3.4); anything else is judged as the
   * response to the GET that was sent, also when a HEAD started the revalidation.
   */
  public ResponseAction afterBackgroundFetch(RequestHead req, ResponseHead resp, EntryMeta stale, String primaryKey,
      long requestTime, long responseTime, CachePolicy site) {
    requireNonNull(stale, "stale");
    if (resp.status() == 304) {
      return merge304(stale, resp, requestTime, responseTime);
    }
    return storage(asGet(req), resp, primaryKey, requestTime, responseTime, site);
  }

  /** {@code stale} updated by a 304 received for it (RFC 9111 §4.3.4). */
  public ResponseAction.Merge merge304(EntryMeta stale, ResponseHead notModified, long requestTime, long responseTime) {
    return new ResponseAction.Merge(policy.merge304(stale, notModified, requestTime, responseTime));
  }

  /** Whether a range miss for {@code req} goes to the origin with its {@code Range} (RFC 9111 §3.3). */
  public boolean forwardsRange(RequestHead req) {
    return policy.forwardsRange(req);
  }

  /**
   * What to keep of the origin's response to a request passed to it ({@code req} as sent, not a fetch
   * for the cache): a POST response that names its own URI with explicit freshness is stored for that
   * URI's GETs (RFC 9110 §9.3.3); a 206 to a GET whose range went to the origin is stored as a partial
   * entry (RFC 9111 §3.3); anything else is only relayed ({@link ResponseAction.Pass}, with the
   * detail {@code passed} unless a storage rule said why: the request was passed before it was sent).
   *
   * @param site the storage rules of the request's site
   */
  public ResponseAction afterPass(RequestHead req, ResponseHead resp, String primaryKey, long requestTime,
      long responseTime, CachePolicy site) {
    requireNonNull(req, "req");
    requireNonNull(resp, "resp");
    if (req.method().equals("POST")) {
      return storage(req, resp, primaryKey, requestTime, responseTime, site);
    }
    if (req.method().equals("GET")) {
      EntryMeta partial = site.partialToStore(primaryKey, req, resp, requestTime, responseTime);
      if (partial != null) {
        return new ResponseAction.Store(partial);
      }
      return resp.status() == 206 ? new ResponseAction.Pass(Reason.PARTIAL) : PASSED;
    }
    return PASSED;
  }

  /**
   * The fresh stored partial (206) entry among {@code variants} that answers {@code req}'s range, or
   * {@code null} (RFC 9111 §3.3); asked only when the lookup missed.
   */
  public EntryMeta partialFor(RequestHead req, List<EntryMeta> variants) {
    return policy.partialFor(req, variants, clock.getAsLong());
  }

  /**
   * Whether a request that waited for a fill reads it: the fill's response, stored as
   * {@code fillVariant}, is the variant this request selects under the site's rules.
   *
   * @param fillHead the fill's response head, or {@code null} when it has none
   */
  public boolean joins(RequestHead req, ResponseHead fillHead, String fillVariant, CachePolicy site) {
    if (fillHead == null) {
      return false;
    }
    return site.storable(asGet(req), fillHead) instanceof Storability.Store s && s.variant().equals(fillVariant);
  }

  /** The request as fetched for the cache: a HEAD is fetched (and stored) as a GET. */
  static RequestHead asGet(RequestHead head) {
    return head.method().equals("HEAD")
        ? new RequestHead("GET", head.scheme(), head.authority(), head.pathAndQuery(), head.headers())
        : head;
  }

  /** Whether {@code stale} may be served because the origin failed now (RFC 5861 §4, RFC 9111 §4.2.4). */
  public boolean staleIfError(RequestHead req, EntryMeta stale) {
    return policy.staleIfError(req, stale, now());
  }

  // ---------------------------------------------------------------- store and invalidate

  /**
   * The stored variants to remove before {@code incoming} is stored, so that the URI keeps at most
   * {@link PolicyConfig#maxVariants} of them: the oldest (by response time) of the others.
   *
   * @param stored the variants stored now for {@code incoming}'s URI (one of them may be its own, replaced)
   */
  public List<CacheKey> variantsToDrop(EntryMeta incoming, List<EntryMeta> stored) {
    int max = policy.config().maxVariants();
    List<EntryMeta> others = new ArrayList<>();
    for (EntryMeta m : stored) {
      if (!m.variant().equals(incoming.variant())) {
        others.add(m);
      }
    }
    if (others.size() < max) {
      return List.of();
    }
    others.sort(Comparator.comparingLong(EntryMeta::responseTime));
    List<CacheKey> drop = new ArrayList<>();
    for (int i = 0; i <= others.size() - max; i++) {
      drop.add(others.get(i).key());
    }
    return List.copyOf(drop);
  }

  /**
   * The primary keys a response to an unsafe method invalidates (RFC 9111 §4.4), each with
   * {@code keySuffix} (the site's mark on its keys) appended.
   */
  public List<String> invalidations(RequestHead req, ResponseHead resp, String keySuffix) {
    List<String> keys = policy.invalidations(req, resp);
    if (keySuffix.isEmpty() || keys.isEmpty()) {
      return keys;
    }
    List<String> out = new ArrayList<>(keys.size());
    for (String k : keys) {
      out.add(k + keySuffix);
    }
    return List.copyOf(out);
  }

  // ---------------------------------------------------------------- deliver

  /**
   * Of the entry the lookup chose ({@code requested}) and the one the store opened ({@code opened}:
   * the index's current meta of the file), the one that describes the response to send. The opened
   * one describes the body; but fields merged from a 304 may not have reached it yet, so a newer
   * {@code requested} for the same body wins.
   */
  public EntryMeta served(EntryMeta requested, EntryMeta opened) {
    if (requested.bodyLength() == opened.bodyLength() && requested.bodyOffset() == opened.bodyOffset()
        && requested.responseTime() > opened.responseTime()) {
      return requested;
    }
    return opened;
  }

  /**
   * How the stored entry answers {@code req}: of {@code requested} (the lookup's choice) and
   * {@code opened} (the file's current meta) the one {@link #served} picks, with the site's fields and
   * the current {@code Age}; a 304 when the client's validators match it (RFC 9110 §13.2.2, RFC 9111
   * §4.3.2), for a GET one byte range as 206 or 416 (RFC 9110 §14), and for a HEAD (or a stored 204 or
   * 304) the head alone.
   *
   * @param site the storage rules of the request's site: which stored fields are sent (its {@code set-cookie})
   */
  public Delivery deliver(RequestHead req, EntryMeta requested, EntryMeta opened, CachePolicy site) {
    requireNonNull(req, "req");
    EntryMeta entry = served(requireNonNull(requested, "requested"), requireNonNull(opened, "opened"));
    ResponseFields fields = fields(entry, site);
    if (preconditionFailed(req, entry)) {
      return new Delivery(Delivery.Kind.PRECONDITION_FAILED, entry, 412, fields, 0, 0, null, false);
    }
    if (policy.notModified(req, entry)) {
      return new Delivery(Delivery.Kind.NOT_MODIFIED, entry, 304, fields, 0, 0, null, false);
    }
    boolean bodiless = req.method().equals("HEAD") || entry.status() == 204 || entry.status() == 304;
    if (req.method().equals("GET")) {
      RangeDecision range = policy.range(req, entry);
      if (range instanceof RangeDecision.Partial p) {
        return new Delivery(Delivery.Kind.PARTIAL, entry, 206, fields, p.first(), p.length(), p.contentRange(), !bodiless);
      }
      if (range instanceof RangeDecision.Unsatisfiable u) {
        return new Delivery(Delivery.Kind.UNSATISFIABLE, entry, 416, fields, 0, 0, "bytes */" + u.completeLength(), false);
      }
    }
    return new Delivery(Delivery.Kind.FULL, entry, entry.status(), fields, 0, entry.bodyLength(), null, !bodiless);
  }

  /**
   * Whether {@code req} has none of the fields that can make a stored complete response answer other
   * than in full (conditionals, {@code Range}, {@code If-Range}): then {@link #deliver} gives
   * {@link Delivery.Kind#FULL} for every such entry, and the proxy may serve it from a head encoded once.
   */
  public boolean answersInFull(RequestHead req) {
    return answersInFull(req.headers());
  }

  /** {@link #answersInFull(RequestHead)} on a request's fields alone (the proxy's front hit path has no {@link RequestHead}). */
  public static boolean answersInFull(dev.zcproxy.cache.Headers h) {
    return !(h.contains("if-none-match") || h.contains("if-modified-since") || h.contains("range") || h.contains("if-range")
        || h.contains("if-match") || h.contains("if-unmodified-since"));
  }

  /** The fields to send with {@code entry} now under {@code site}'s rules (its {@code set-cookie}), with the current {@code Age}. */
  public ResponseFields fields(EntryMeta entry, CachePolicy site) {
    return site.responseFields(entry, now());
  }

  /** The current age of {@code entry} in whole seconds (RFC 9111 §4.2.3), at the clock's now. */
  public long age(EntryMeta entry) {
    return policy.ageSeconds(entry, now());
  }

  /**
   * Whether {@code req}'s {@code If-Match} (or, without it, {@code If-Unmodified-Since}) fails against
   * {@code entry}, delivered from the cache: then the answer is 412 without a body (RFC 9110 §13.1.1,
   * §13.1.4, §13.2.2, asked before {@link #notModified}). Only GET and HEAD are evaluated: other methods
   * are passed with their preconditions, which the origin evaluates.
   */
  public boolean preconditionFailed(RequestHead req, EntryMeta entry) {
    return Preconditions.failed(req, entry.status(), entry.headers());
  }

  /** {@link #preconditionFailed(RequestHead, EntryMeta)} against a response relayed from the origin, not stored. */
  public boolean preconditionFailed(RequestHead req, ResponseHead resp) {
    return Preconditions.failed(req, resp.status(), resp.headers());
  }

  /** Whether a conditional {@code req} is answered 304 from {@code entry} (RFC 9110 §13.2.2, RFC 9111 §4.3.2). */
  public boolean notModified(RequestHead req, EntryMeta entry) {
    return policy.notModified(req, entry);
  }

  /**
   * How to answer {@code req}'s {@code Range}/{@code If-Range} from {@code fill}, a 200 being filled
   * whose body will be {@code expectedLength} bytes: as from the complete entry, the 206 sent from the
   * growing file once the bytes are there. A fill of unknown length ({@code -1}, chunked) is sent whole
   * (RFC 9110 §14.2 lets a server ignore {@code Range}), as is anything but one satisfiable range of a 200
   * (multiple ranges too: no {@code multipart/byteranges}).
   */
  public RangeDecision fillRange(RequestHead req, EntryMeta fill, long expectedLength) {
    if (expectedLength < 0 || fill.status() != 200) {
      return new RangeDecision.Full(); // a 206 being stored was fetched for this very range
    }
    return policy.range(req, fill.withBody(expectedLength, 0));
  }
}
