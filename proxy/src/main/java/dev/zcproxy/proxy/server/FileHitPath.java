package dev.zcproxy.proxy.server;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.zcproxy.cache.CacheOutcome;
import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.policy.HttpCache;
import dev.zcproxy.cache.store.OpenEntry;
import dev.zcproxy.proxy.internal.FileHitWriter;
import dev.zcproxy.proxy.transfer.TransferMode;
import io.vertx.core.Future;

/**
 * The fast path of a plain GET hit whose body is read from its cache file (larger than
 * {@code cache.ram-max-object-size}, not kept in RAM, or its first hit): the entry's head encoded once
 * ({@link HitHead}, kept here by file) with this hit's {@code Age}, and the body as a file region, queued together
 * on the client's channel and flushed once ({@link FileHitWriter}: writev, then sendfile), without the Vert.x
 * header map, header validation or HTTP encoder. Eligible as {@link HitPath#eligible}, and only where the planner
 * would send the body with sendfile; everything else goes the normal way. Counted, logged and marked like any
 * sendfile hit ({@link Exchange#finish}).
 */
final class FileHitPath {
  /** Heap a kept head costs beyond its bytes: the map node, key and records. */
  private static final int OVERHEAD = 160;

  private final HandlerContext ctx;
  private final RamTier ram;
  private final HttpCache cache;
  /** Encoded heads by file generation; a head is used only for the very entry instance it was encoded from. */
  private final Cache<Long, HitHead> heads;

  /**
   * @param ram the RAM tier (or {@code null}): a body it admits is read into it after a hit sent from the file,
   *     as on the normal path
   * @param headBytes the heap the kept heads may take
   */
  FileHitPath(HandlerContext ctx, RamTier ram, HttpCache cache, long headBytes) {
    this.ctx = ctx;
    this.ram = ram;
    this.cache = cache;
    this.heads = Caffeine.newBuilder()
        .maximumWeight(Math.max(1, headBytes))
        .weigher((Long gen, HitHead h) -> h.head().retainedBytes() + OVERHEAD)
        .executor(Runnable::run)
        .build();
  }

  /**
   * Answers {@code ex} from {@code open}'s file by the fast path, and then owns {@code open} (closes it, or hands
   * it to the RAM tier, once the body was written or failed).
   *
   * @param entry the entry to answer with ({@code HttpCache.served}: describes {@code open}'s body)
   * @return whether it did; {@code false} means nothing was written and {@code open} is still the caller's
   */
  boolean serve(Exchange ex, EntryMeta entry, OpenEntry open, CacheOutcome outcome) {
    long length = entry.bodyLength();
    if (ex.clientGone || length <= 0 || !HitPath.eligible(ex, entry, outcome)
        || ctx.planner().forHit(ex.req, length, false).mode() != TransferMode.SENDFILE) {
      return false;
    }
    boolean toRam = ram != null && ram.admits(length);
    if (toRam && ram.get(open.generation()) != null) {
      return false; // the body is in RAM meanwhile: the RAM write is cheaper
    }
    HitHead head = head(entry, open.generation(), ex.target.policy());
    long age = cache.age(entry);
    ex.req.resume();
    FileHitWriter.Sent written = FileHitWriter.write(ex.req, entry.status(), head.head(), age, open.channel(),
        entry.bodyOffset(), length);
    if (written == null) {
      return false;
    }
    Future<Void> sent = written.done();
    sent.onComplete(ar -> {
      if (ar.succeeded()) {
        ex.bodyBytes = length; // a cut body reports no count: only a whole body is counted
      }
      if (ar.succeeded() && toRam) {
        ram.load(open, entry.bodyOffset(), length); // the next hit comes from RAM; closes open
      } else {
        open.close();
      }
    });
    // a body read whole with its head (no file region) left as a copy, chosen (not a fallback); as written, as
    // FrontFileHits and the metrics' byte counts report it
    ex.finish(outcome, written.copied() == length ? TransferMode.COPY : TransferMode.SENDFILE, sent);
    return true;
  }

  /**
   * The head a fast-path hit on {@code entry} (the file of {@code generation}) sends: the one kept for that file
   * when it was encoded from this very entry, else encoded now with {@code sitePolicy}'s rules and kept.
   */
  HitHead head(EntryMeta entry, long generation, dev.zcproxy.cache.policy.CachePolicy sitePolicy) {
    HitHead head = heads.getIfPresent(generation);
    if (head == null || head.source() != entry || head.profile() != ctx) {
      head = HitHead.encode(entry, cache.fields(entry, sitePolicy), ctx); // the site's rules (e.g. its set-cookie mode)
      heads.put(generation, head);
    }
    return head;
  }
}
