package dev.zcproxy.proxy.server;

import dev.zcproxy.cache.CacheOutcome;
import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.Headers;
import dev.zcproxy.cache.policy.CachePolicy;
import dev.zcproxy.cache.policy.HttpCache;
import dev.zcproxy.cache.store.DiskStore;
import dev.zcproxy.proxy.internal.HitWriter;
import dev.zcproxy.proxy.internal.RamBody;
import dev.zcproxy.proxy.transfer.TransferMode;
import io.vertx.core.Future;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;

/**
 * The fast path of a plain GET hit whose body is in the RAM tier: the entry's head is encoded once and kept
 * beside the body ({@link HitHead}, weighed with it), and each hit writes that head with its own {@code Age}
 * and the body in one buffer straight to the client's channel ({@link HitWriter}), without the Vert.x header
 * map, header validation or HTTP encoder. Counted, logged and marked like any hit ({@link Exchange#finish},
 * transfer mode {@code ram}). Every other request, and any connection {@link HitWriter} will not take, goes
 * the normal way.
 */
final class HitPath {
  private final HandlerContext ctx;
  private final RamTier ram;
  private final HttpCache cache;

  HitPath(HandlerContext ctx, RamTier ram, HttpCache cache) {
    this.ctx = ctx;
    this.ram = ram;
    this.cache = cache;
  }

  /**
   * Whether a hit may leave by the fast path: a fresh HIT (not stale, not revalidated) for a bodiless GET on
   * plain HTTP/1.1 that keeps the connection, that the entry answers in full ({@link HttpCache#answersInFull}:
   * no conditional or range field, which may get 304, 206 or 416), on an entry with a body. The transfer
   * planner's rule for this path.
   */
  static boolean eligible(Exchange ex, EntryMeta entry, CacheOutcome outcome) {
    return ex.body == null && !ex.req.isSSL()
        && eligible(ex.req.method() == HttpMethod.GET, ex.req.version() == HttpVersion.HTTP_1_1, ex.head.headers(), entry, outcome);
  }

  /** {@link #eligible(Exchange, EntryMeta, CacheOutcome)} on a bodiless plain-HTTP request's facts (also the front path's). */
  static boolean eligible(boolean get, boolean http11, Headers h, EntryMeta entry, CacheOutcome outcome) {
    return outcome == CacheOutcome.HIT && entry.status() != 204 && entry.status() != 304 && entry.status() >= 200
        && requestEligible(get, http11, h);
  }

  /** The request's part of the rule: a GET on HTTP/1.1 that keeps the connection, answered in full by any entry. */
  static boolean requestEligible(boolean get, boolean http11, Headers h) {
    if (!get || !http11 || !HttpCache.answersInFull(h)) {
      return false;
    }
    String connection = h.get("connection");
    return connection == null || connection.equalsIgnoreCase("keep-alive");
  }

  /**
   * Answers {@code ex} from the RAM tier by the fast path.
   *
   * @param requested the entry the lookup chose
   * @param indexed the index's current meta of it and its file generation
   * @param kept its body in RAM (the same generation), which the caller holds a reference to while this runs
   * @return whether it did; {@code false} means nothing was written and the caller answers the normal way
   */
  boolean serve(Exchange ex, EntryMeta requested, DiskStore.Indexed indexed, RamTier.Kept kept, CacheOutcome outcome) {
    EntryMeta entry = served(requested, indexed);
    if (ex.clientGone || kept.body().length() != entry.bodyLength() || !eligible(ex, entry, outcome)) {
      return false;
    }
    Ready ready = ready(entry, indexed, kept, ex.target.policy());
    RamBody body = ready.body();
    int length = body.length();
    ex.req.resume();
    Future<Void> sent = HitWriter.write(ex.req, entry.status(), ready.head(), ready.age(), body, 0, length); // copies now
    if (sent == null) {
      return false;
    }
    sent.onSuccess(v -> ex.bodyBytes = length);
    ex.finish(outcome, TransferMode.RAM, sent);
    return true;
  }

  /** The meta a hit on {@code requested} is answered with ({@link HttpCache#served}, against the index's meta). */
  EntryMeta served(EntryMeta requested, DiskStore.Indexed indexed) {
    // The index's meta describes the body; headers merged from a 304 may not have reached it yet (as writeStored).
    return cache.served(requested, indexed.meta());
  }

  /**
   * The pre-encoded head (encoded now and kept beside the body if it was not yet) and age of a fast-path hit
   * on {@code entry}, whose body {@code kept} holds in full.
   *
   * @param sitePolicy the site's rules (e.g. its set-cookie mode)
   */
  Ready ready(EntryMeta entry, DiskStore.Indexed indexed, RamTier.Kept kept, CachePolicy sitePolicy) {
    return new Ready(head(entry, indexed, kept, sitePolicy), cache.age(entry), kept.body());
  }

  /**
   * {@link #ready}'s head alone (its age is {@link HttpCache#age}, its body {@code kept}'s: kept again with the head,
   * the body stays the same array).
   */
  dev.zcproxy.cache.EncodedHead head(EntryMeta entry, DiskStore.Indexed indexed, RamTier.Kept kept, CachePolicy sitePolicy) {
    HitHead head = kept.head();
    if (head == null || head.source() != entry || head.profile() != ctx) {
      head = encodeAndKeep(entry, indexed, kept, sitePolicy);
    } else if (!indexed.sameAs(kept.indexed())) {
      // the same head, but the index holds another entry object for it now (e.g. re-read by the startup scan):
      // paired again, the front's lookup answers from the RAM tier again instead of the head cache
      ram.withHead(indexed, kept, head);
    }
    return head.head();
  }

  /**
   * Encodes {@code entry}'s fast-path head, keeps it beside the body {@code kept} (unless that body was dropped or
   * replaced meanwhile) and counts it: {@link #head}'s and {@link #prepare}'s one way to make a head.
   */
  private HitHead encodeAndKeep(EntryMeta entry, DiskStore.Indexed indexed, RamTier.Kept kept, CachePolicy sitePolicy) {
    HitHead head = HitHead.encode(entry, cache.fields(entry, sitePolicy), ctx);
    ram.withHead(indexed, kept, head);
    ctx.metrics().ramHeadEncoded();
    return head;
  }

  /**
   * Encodes the head a fast-path hit on a just-stored entry writes and keeps it beside its body, when the fill kept
   * that body in RAM: the first hit then finds it ready, and the head is made (and promoted by the collector) while
   * the cache fills, not while its hits are being served (with 10,000 new keys, encoding on each key's first hit grew
   * the old generation by ~7 MB during the first keys run and cost it a full collection). Does nothing when the entry
   * is no longer indexed, its head not in memory, or its body not kept.
   *
   * @param stored the entry as the fill published it
   * @param sitePolicy the site's rules ({@link #ready}'s)
   */
  void prepare(EntryMeta stored, CachePolicy sitePolicy) {
    DiskStore store = ctx.store();
    DiskStore.Indexed indexed = store == null ? null : store.indexed(stored);
    RamTier.Kept kept = indexed == null ? null : ram.peek(indexed.generation());
    if (kept == null || kept.head() != null || kept.body().length() != indexed.meta().bodyLength()) {
      return;
    }
    EntryMeta entry = indexed.meta(); // the instance a lookup answers with (served picks it), so ready reuses the head
    encodeAndKeep(entry, indexed, kept, sitePolicy);
  }

  /** What a fast-path hit writes: {@code head} with {@code age}, then all of {@code body}. */
  record Ready(dev.zcproxy.cache.EncodedHead head, long age, RamBody body) {}
}
