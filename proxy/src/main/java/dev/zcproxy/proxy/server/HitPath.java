package dev.zcproxy.proxy.server;

import dev.zcproxy.cache.CacheOutcome;
import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.policy.HttpCache;
import dev.zcproxy.cache.store.DiskStore;
import dev.zcproxy.proxy.internal.HitWriter;
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
  static boolean eligible(Exchange ex, EntryMeta entry, CacheOutcome outcome, HttpCache cache) {
    if (outcome != CacheOutcome.HIT || ex.body != null || ex.req.method() != HttpMethod.GET
        || ex.req.version() != HttpVersion.HTTP_1_1 || ex.req.isSSL() || entry.status() == 204 || entry.status() == 304
        || entry.status() < 200) {
      return false;
    }
    if (!cache.answersInFull(ex.head)) {
      return false;
    }
    String connection = ex.head.headers().get("connection");
    return connection == null || connection.equalsIgnoreCase("keep-alive");
  }

  /**
   * Answers {@code ex} from the RAM tier by the fast path.
   *
   * @param requested the entry the lookup chose
   * @param indexed the index's current meta of it and its file generation
   * @param kept its body in RAM (the same generation)
   * @return whether it did; {@code false} means nothing was written and the caller answers the normal way
   */
  boolean serve(Exchange ex, EntryMeta requested, DiskStore.Indexed indexed, RamTier.Kept kept, CacheOutcome outcome) {
    // The index's meta describes the body; headers merged from a 304 may not have reached it yet (as writeStored).
    EntryMeta entry = cache.served(requested, indexed.meta());
    if (ex.clientGone || kept.body().length != entry.bodyLength() || !eligible(ex, entry, outcome, cache)) {
      return false;
    }
    HitHead head = kept.head();
    if (head == null || head.source() != entry || head.profile() != ctx) {
      head = HitHead.encode(entry, cache.fields(entry, ex.target.policy()), ctx); // the site's rules (e.g. its set-cookie mode)
      kept = ram.withHead(indexed.generation(), kept, head);
    }
    long age = cache.age(entry);
    byte[] body = kept.body();
    ex.req.resume();
    Future<Void> sent = HitWriter.write(ex.req, entry.status(), head.head(), age, body, 0, body.length);
    if (sent == null) {
      return false;
    }
    sent.onSuccess(v -> ex.bodyBytes = body.length);
    ex.finish(outcome, TransferMode.RAM, sent);
    return true;
  }
}
