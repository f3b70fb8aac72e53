package dev.zcproxy.proxy.server;

import dev.zcproxy.cache.CacheKey;
import dev.zcproxy.cache.CacheOutcome;
import dev.zcproxy.cache.EncodedHead;
import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.Headers;
import dev.zcproxy.cache.RequestHead;
import dev.zcproxy.cache.policy.HttpCache;
import dev.zcproxy.cache.Lookup;
import dev.zcproxy.cache.store.DiskStore;
import dev.zcproxy.proxy.internal.FrontHits;
import dev.zcproxy.proxy.internal.RamBody;
import dev.zcproxy.proxy.transfer.TransferMode;
import io.vertx.core.http.HttpConnection;
import java.util.List;
import java.util.Set;

/**
 * The proxy's side of {@link FrontHits}: answers a plain GET hit whose body is in the RAM tier before Vert.x
 * makes a request of it, with the decision the normal path makes ({@link ProxyHandler#handle} up to
 * {@link HitPath#serve}: request checks, site, cache key, lookup, fresh HIT, RAM body, {@link HitPath#eligible})
 * and the same bytes ({@link HitPath#ready}), counted and logged as {@link Exchange#finish} does for a hit
 * from {@code ram}. A fresh hit whose body is not in RAM goes to {@link FrontFileHits} (its open file, sendfile).
 * Anything else, or anything it cannot decide at once (a lookup or an open that would read the disk), answers
 * {@code null}: the request goes to Vert.x and is handled from the start.
 */
final class FrontDecision implements FrontHits.Answerer {
  private final HandlerContext ctx;
  private final SiteRouter router;
  private final DiskStore store;
  private final HttpCache cache;
  private final RamTier ram;
  private final HitPath hitPath;
  private final Set<HttpConnection> doomed;
  private final ThreadLocal<KeyMemo> lastKey = ThreadLocal.withInitial(KeyMemo::new);
  private final ThreadLocal<RamProbe> probe;
  /** Hits whose body is not in RAM, from their open file; {@code null}: those go to Vert.x. */
  private final FrontFileHits files;
  /** Passes of hit-for-pass keys; {@code null}: those go to Vert.x. */
  private final FrontPasses passes;

  FrontDecision(HandlerContext ctx, SiteRouter router, DiskStore store, HttpCache cache, RamTier ram, HitPath hitPath,
      Set<HttpConnection> doomed) {
    this(ctx, router, store, cache, ram, hitPath, doomed, null, null);
  }

  /**
   * @param files answers fresh hits whose body is not in RAM from their open file, or {@code null}
   * @param passes answers passes of hit-for-pass keys from the origin, or {@code null}
   */
  FrontDecision(HandlerContext ctx, SiteRouter router, DiskStore store, HttpCache cache, RamTier ram, HitPath hitPath,
      Set<HttpConnection> doomed, FrontFileHits files, FrontPasses passes) {
    this.files = files;
    this.passes = passes;
    this.probe = ThreadLocal.withInitial(() -> new RamProbe(ram));
    this.ctx = ctx;
    this.router = router;
    this.store = store;
    this.cache = cache;
    this.ram = ram;
    this.hitPath = hitPath;
    this.doomed = doomed;
  }

  @Override
  public FrontHits.Reply answer(FrontHits.Request req) {
    long startNanos = System.nanoTime();
    // recv (ProxyHandler.handle): a closing connection is the normal path's
    if (doomed.contains(req.connection())) {
      return null;
    }
    // the same bytes as the connection's last head answered here: what follows from the head alone is as it was
    Decided d = req.repeatNote() instanceof Decided last && last.owner == this ? last : decide(req);
    if (d == null) {
      return null;
    }
    req.remember(d);
    String uri = d.uri();
    Headers headers = d.headers();
    RequestHead head = d.head();
    SiteRouter.Target target = d.target();
    String primaryKey = d.primaryKey();
    // lookup: only what the index answers at once (a read from disk is the normal path's); a body kept in RAM with
    // its head answers the head too (one recorded read of the RAM tier, none of the head cache)
    RamProbe probe = this.probe.get();
    probe.clear();
    List<EntryMeta> found = store.lookupNow(primaryKey, probe);
    if (found == null) {
      return null;
    }
    Lookup lookup;
    try {
      lookup = cache.lookup(head, found);
    } catch (RuntimeException e) {
      return null; // the normal path logs it and passes the request
    }
    if (!(lookup instanceof Lookup.Fresh fresh)) {
      // lookupAndServe's miss: nothing stored (no partial either), not only-if-cached, marked hit-for-pass
      return passes != null && found.isEmpty() && lookup instanceof Lookup.Miss miss && !miss.onlyIfCached()
          ? passes.answer(req.connection(), uri, head, target, primaryKey, miss.detail(), startNanos, d.pass()) : null;
    }
    // deliverStored's RAM branch, then HitPath.serve's rule and head
    EntryMeta requested = fresh.entry();
    if (!ram.admits(requested.bodyLength())) {
      return fromFile(req, uri, primaryKey, headers, requested, target, startNanos);
    }
    DiskStore.Indexed indexed = store.indexed(requested);
    RamTier.Kept kept = indexed == null ? null : probe.kept(indexed.generation());
    if (kept == null || kept.body().length() != indexed.meta().bodyLength()) {
      return indexed == null ? null : fromFile(req, uri, primaryKey, headers, requested, target, startNanos);
    }
    EntryMeta entry = hitPath.served(requested, indexed);
    if (kept.body().length() != entry.bodyLength() || !HitPath.eligible(true, true, headers, entry, CacheOutcome.HIT)) {
      return null;
    }
    // HitPath.ready without its record: the same head, age and body
    EncodedHead encoded = hitPath.head(entry, indexed, kept, target.policy());
    RamBody body = kept.body();
    if (!body.tryRetain()) {
      return null; // dropped since the lookup (freed): the normal path answers from the file
    }
    int length = body.length();
    int status = entry.status();
    HttpConnection conn = req.connection();
    // the lookup's age when the entry it chose is the one served (the usual case): one clock read fewer per hit
    long age = entry == requested ? fresh.ageSeconds() : cache.age(entry);
    return new FrontHits.Hit(encoded, age, body, 0, length, // the hit's reference, given back once it was copied
        complete -> finish(conn, uri, primaryKey, status, length, complete ? length : 0, complete, startNanos));
  }

  /**
   * What a head's request-side checks decided ({@link #decide}): a head that may be a hit, its fields, site and key.
   * Immutable; derived from the head's bytes and this decision's (immutable) router and policy alone, so the same
   * bytes on the same connection decide the same. Nothing of the index or the clock is in it.
   */
  private record Decided(FrontDecision owner, String uri, Headers headers, RequestHead head, SiteRouter.Target target,
      String primaryKey, FrontPasses.Memo pass) {}

  /** recv and the request's part of the hit rule ({@link ProxyHandler#handle}), or {@code null}: not a front hit. */
  private Decided decide(FrontHits.Request req) {
    // tunnels and expectations are the normal path's
    if (req.header("upgrade") != null || req.header("expect") != null || req.header("http2-settings") != null) {
      return null;
    }
    Headers headers = req.fields();
    // the request's part of the fast path's rule first: nothing is looked up for a request that cannot take it
    if (!HitPath.requestEligible(true, true, headers)) {
      return null;
    }
    String uri = req.uri();
    if (!(RequestCheck.check(req.version(), uri, headers) instanceof RequestCheck.Ok ok) || ok.hasBody()) {
      return null;
    }
    SiteRouter.Target target = router.resolve(ok.authority(), ok.target());
    if (target == null || store == null || !target.cacheEnabled()) {
      return null;
    }
    RequestHead head = new RequestHead("GET", "http", ok.authority() == null ? ctx.originAuthority() : ok.authority(),
        ok.target(), headers);
    if (!cache.looksUp(head)) {
      return null;
    }
    String primaryKey = primaryKey(head.authority(), ok.target(), target.keySuffix()); // as Exchange keys it
    return new Decided(this, uri, headers, head, target, primaryKey, passes == null ? null : new FrontPasses.Memo());
  }

  /** deliverStored's file branch ({@link FrontFileHits}), or {@code null} when it is off or cannot answer at once. */
  private FrontHits.FileHit fromFile(FrontHits.Request req, String uri, String primaryKey, Headers headers,
      EntryMeta requested, SiteRouter.Target target, long startNanos) {
    return files == null ? null
        : files.answer(req.connection(), uri, primaryKey, headers, requested, target.policy(), startNanos);
  }

  /**
   * {@code CacheKey.primaryOf} of an {@code http} request plus the site's suffix, as {@link Exchange} keys it: the
   * same String as the thread's last answer while the client repeats its request (no concatenation, and its hash,
   * which the index memo and the URL table use, already computed).
   */
  private String primaryKey(String authority, String target, String keySuffix) {
    KeyMemo m = lastKey.get();
    if (target.equals(m.target) && authority.equals(m.authority) && keySuffix.equals(m.suffix)) {
      return m.key;
    }
    String key = CacheKey.primaryOf("http", authority, target) + keySuffix;
    m.authority = authority;
    m.target = target;
    m.suffix = keySuffix;
    m.key = key;
    return key;
  }

  /**
   * The RAM tier's answer for the generation the index holds for a key, read once per hit: as the head's source for
   * {@link DiskStore#lookupNow(String, java.util.function.LongFunction)}, then as the body. One per thread, used
   * by one hit at a time on it.
   */
  private static final class RamProbe implements java.util.function.LongFunction<DiskStore.Indexed> {
    private final RamTier ram;
    private long generation;
    private RamTier.Kept kept;

    RamProbe(RamTier ram) {
      this.ram = ram;
    }

    void clear() {
      kept = null;
      generation = -1;
    }

    @Override
    public DiskStore.Indexed apply(long gen) {
      generation = gen;
      kept = ram.kept(gen);
      return kept == null ? null : kept.indexed();
    }

    /** The kept body of {@code gen}: the one read during the lookup when it was that generation's, else read now. */
    RamTier.Kept kept(long gen) {
      return gen == generation ? kept : ram.kept(gen);
    }
  }

  /** The last primary key made on a thread. */
  private static final class KeyMemo {
    String authority;
    String target;
    String suffix;
    String key;
  }

  /** Counts and logs the hit as {@link Exchange#finish} does for a fast-path hit from RAM. */
  private void finish(HttpConnection conn, String uri, String primaryKey, int status, long handed, long bytes,
      boolean complete, long startNanos) {
    long now = System.nanoTime();
    long nanos = now - startNanos;
    // one buffer with the head, written past the per-connection counter; counted as a HIT by ram
    ctx.metrics().frontHit(handed, bytes, nanos, now);
    ctx.metrics().urlResponse(primaryKey, CacheOutcome.HIT, bytes);
    if (!ctx.accessLog().writes()) {
      return;
    }
    String remote = conn.remoteAddress() == null ? "-" : conn.remoteAddress().hostAddress();
    ctx.accessLog().log(remote, "GET", uri, "HTTP/1.1", status, bytes, nanos / 1000, CacheOutcome.HIT, TransferMode.RAM,
        complete, -1, -1);
  }
}
