package dev.zcproxy.proxy.server;

import dev.zcproxy.cache.CacheOutcome;
import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.Headers;
import dev.zcproxy.cache.policy.CachePolicy;
import dev.zcproxy.cache.policy.HttpCache;
import dev.zcproxy.cache.store.DiskStore;
import dev.zcproxy.cache.store.OpenEntry;
import dev.zcproxy.proxy.internal.FrontHits;
import dev.zcproxy.proxy.transfer.TransferMode;
import io.vertx.core.http.HttpConnection;

/**
 * The file side of {@link FrontDecision}: answers a fresh plain GET hit whose body is not in the RAM tier from its
 * cache file before Vert.x makes a request of it, when the file is open already (the store's open-file cache: no
 * {@code open(2)}, no read) and the entry's head is in memory. Same decision, bytes and accounting as the normal
 * path's {@link FileHitPath#serve} (the head it keeps by file, this hit's {@code Age}, the body as a file region
 * sent with {@code sendfile(2)}, a body the RAM tier admits read into it after the hit; counted and logged as a HIT by
 * {@code sendfile}); anything else answers {@code null} and goes the normal way.
 *
 * <p>Called on the client connection's event loop only; holds no state of its own beyond what it is given.
 */
final class FrontFileHits {
  private final HandlerContext ctx;
  private final DiskStore store;
  private final HttpCache cache;
  private final RamTier ram;
  private final FileHitPath files;

  /** @param ram the RAM tier, or {@code null} */
  FrontFileHits(HandlerContext ctx, DiskStore store, HttpCache cache, RamTier ram, FileHitPath files) {
    this.ctx = ctx;
    this.store = store;
    this.cache = cache;
    this.ram = ram;
    this.files = files;
  }

  /**
   * The file answer to a plain GET for which the lookup chose {@code requested} as a fresh HIT, or {@code null}
   * (nothing opened, nothing written) when the normal path must answer it.
   *
   * @param headers the request's fields
   * @param sitePolicy the site's rules for the stored fields
   * @param startNanos when the request was taken up (for its duration)
   */
  FrontHits.FileHit answer(HttpConnection conn, String uri, String primaryKey, Headers headers, EntryMeta requested,
      CachePolicy sitePolicy, long startNanos) {
    OpenEntry open = store.openNow(requested);
    if (open == null) {
      return null; // open(2) is the I/O pool's: the normal path
    }
    boolean handed = false;
    try {
      // deliverStored -> writeStored -> FileHitPath.serve, for a request answered in full (HitPath.requestEligible)
      EntryMeta entry = cache.served(requested, open.meta());
      long length = entry.bodyLength();
      if (length <= 0 || !HitPath.eligible(true, true, headers, entry, CacheOutcome.HIT)
          || ctx.planner().forFrontFileHit(length).mode() != TransferMode.SENDFILE) {
        return null;
      }
      boolean toRam = ram != null && ram.admits(length);
      if (toRam && ram.get(open.generation()) != null) {
        return null; // the body is in RAM meanwhile: the RAM write (by the normal path) is cheaper
      }
      HitHead head = files.head(entry, open.generation(), sitePolicy);
      long age = cache.age(entry);
      int status = entry.status();
      long offset = entry.bodyOffset();
      FrontHits.FileHit hit = new FrontHits.FileHit(head.head(), age, open.channel(), offset, length, (complete, copied) -> {
        if (complete && toRam) {
          ram.load(open, offset, length); // the next hit comes from RAM; closes open
        } else {
          open.close();
        }
        finish(conn, uri, primaryKey, status, length, copied, complete, startNanos);
      }, open::close);
      handed = true;
      return hit;
    } finally {
      if (!handed) {
        open.close();
      }
    }
  }

  /**
   * Counts and logs the hit as {@link Exchange#finish} does for a fast-path hit from the file.
   *
   * @param copied the body's first bytes that left with the head from a buffer (the rest went as the file region)
   */
  private void finish(HttpConnection conn, String uri, String primaryKey, int status, long length, long copied,
      boolean complete, long startNanos) {
    long nanos = System.nanoTime() - startNanos;
    long bytes = complete ? length : 0; // a cut body reports no count, as FileHitPath
    // head buffer and region were handed to the connection either way: counted by how, as written
    ctx.metrics().frontFileHit(length - copied, copied, bytes, nanos);
    ctx.metrics().urlResponse(primaryKey, CacheOutcome.HIT, bytes);
    if (!ctx.accessLog().writes()) {
      return;
    }
    String remote = conn.remoteAddress() == null ? "-" : conn.remoteAddress().hostAddress();
    // a small body read whole with its head (no file region) is a copy, as the normal path settles it
    TransferMode mode = copied == length ? TransferMode.COPY : TransferMode.SENDFILE;
    ctx.accessLog().log(remote, "GET", uri, "HTTP/1.1", status, bytes, nanos / 1000, CacheOutcome.HIT, mode, complete,
        -1, -1);
  }
}
