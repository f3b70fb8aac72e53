package dev.zcproxy.proxy.server;

import static java.util.Objects.requireNonNull;

import dev.zcproxy.cache.CacheOutcome;
import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.Headers;
import dev.zcproxy.cache.Lookup;
import dev.zcproxy.cache.RequestHead;
import dev.zcproxy.cache.ResponseHead;
import dev.zcproxy.cache.policy.CachePolicy;
import dev.zcproxy.cache.policy.CacheStatus;
import dev.zcproxy.cache.policy.Delivery;
import dev.zcproxy.cache.policy.HopByHop;
import dev.zcproxy.cache.policy.HttpCache;
import dev.zcproxy.cache.policy.OriginFields;
import dev.zcproxy.cache.policy.RangeDecision;
import dev.zcproxy.cache.policy.Reason;
import dev.zcproxy.cache.policy.ResponseAction;
import dev.zcproxy.cache.policy.Via;
import dev.zcproxy.cache.store.DiskStore;
import dev.zcproxy.cache.store.EntryWriter;
import dev.zcproxy.cache.store.OpenEntry;
import dev.zcproxy.proxy.admin.ProxyMetrics;
import dev.zcproxy.proxy.config.ProxyConfig;
import dev.zcproxy.proxy.internal.HalfClose;
import dev.zcproxy.proxy.internal.InterimResponses;
import dev.zcproxy.proxy.internal.OriginCodec;
import dev.zcproxy.proxy.internal.RamBody;
import dev.zcproxy.proxy.internal.Splicer;
import dev.zcproxy.proxy.internal.TunnelResult;
import dev.zcproxy.proxy.origin.OriginClient;
import dev.zcproxy.proxy.transfer.BodyTransfer;
import dev.zcproxy.proxy.transfer.TransferMode;
import dev.zcproxy.proxy.transfer.TransferPlan;
import dev.zcproxy.proxy.transfer.TransferPlanner;
import dev.zcproxy.proxy.transfer.Tunnels;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.TooLongFrameException;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one client request through recv → lookup → act (hit / stale / miss / pass) → deliver, asking
 * {@link HttpCache} for every RFC 9111 decision and acting on the answer with the store, the origin
 * client and the body transfer; it decides nothing about caching itself.
 *
 * <h2>Design notes</h2>
 * <ul>
 *   <li><b>recv.</b> GET and HEAD are looked up; every other method is forwarded with its body streamed
 *       (PASS) and, on a non-error response, invalidates the URIs the policy names (RFC 9111 §4.4).
 *   <li><b>lookup.</b> {@link HttpCache#lookup} chooses among the stored variants of the URI
 *       (RFC 9111 §4.1 Vary, §4.2 freshness, §5.2.1 request directives, RFC 5861); a miss for a URI
 *       the {@link Coalescer} marks hit-for-pass is passed.
 *   <li><b>hit.</b> {@link HttpCache#deliver} says how the entry answers (a {@link Delivery}): the stored
 *       head with a current {@code Age} (§5.1), then the body with sendfile from the entry's file; a 304
 *       for matching validators (§4.3.2), a single {@code Range} as 206 or 416 (RFC 9110 §14), the head
 *       alone for HEAD. This handler writes what it says.
 *   <li><b>stale.</b> The entry is revalidated with its validators (§4.3.1); a 304 updates the stored
 *       headers (§4.3.4) and the entry is served (REVALIDATED); a 5xx or an unreachable origin serves
 *       it stale when stale-if-error allows (RFC 5861 §4); stale-while-revalidate serves it at once and
 *       revalidates once in the background.
 *   <li><b>miss.</b> The request goes to the origin with the fields {@link HttpCache#originFields}
 *       gives (without its conditional and range fields, so the response is complete and storable),
 *       joining a fill under way for the URI through the {@link Coalescer}; {@link HttpCache#afterFetch}
 *       says whether the response is stored, merged or passed, and why. A stored body streams to the
 *       client and into an {@link EntryWriter}, which publishes it only when the length matches (§3.3: an incomplete
 *       response is never stored as complete). An origin that dies mid-body closes the client
 *       connection, so a short body never looks complete.
 *   <li><b>deliver.</b> Every response carries this proxy's {@code Cache-Status} member (RFC 9211) and
 *       {@code Via}; hop-by-hop fields are never forwarded either way (RFC 9110 §7.6.1).
 * </ul>
 *
 * <p>This class keeps the flow; the pieces it acts through live beside it: {@code Coalescer} (the
 * registries where requests for the same thing meet), {@code Exchange} (one request's state),
 * {@code Relay} (an origin body that is not stored, copied or spliced to the client),
 * {@code Fill} (one coalesced fetch into a cache file, read by every waiting client through its
 * {@code Fill.Reader}s). They get what they use of this handler through a {@code HandlerContext}.
 */
public final class ProxyHandler implements Handler<HttpServerRequest> {
  private static final Logger LOG = LoggerFactory.getLogger(ProxyHandler.class);
  /** How long a rejected request's remaining bytes are read and dropped before its connection closes. */
  private static final long LINGER_MILLIS = 2000;
  /**
   * Heap for the pre-encoded heads of hits sent from their files (about 450 B each: some 18,000 entries, as many as
   * the store keeps files open).
   */
  private static final long FILE_HIT_HEAD_BYTES = 8L << 20;

  /** Every RFC 9111 decision: the handler asks, and acts on the answer. */
  private final HttpCache cache;
  private final DiskStore store;
  /** Host → site → route → origin pool, cache settings and key. */
  private final SiteRouter router;
  private final BodyTransfer transfer;
  /** Decides how each body moves; the only way to {@code proxy.internal}'s transfers. */
  private final TransferPlanner planner;
  private final ProxyMetrics metrics;
  private final AccessLog accessLog;
  private final LongSupplier clock;
  private final boolean surrogateCapability;
  private final Tunnels tunnels;
  private final boolean websocket;
  private final String originAuthority;
  private final RequestBodies bodies;
  private final List<dev.zcproxy.proxy.config.Cidr> trustedProxies;
  private final List<String> stripRequestHeaders;
  /** Connections answered with a framing error: whatever was pipelined behind it is never handled. */
  private final Set<HttpConnection> doomed;
  /** Fills, revalidations and hit-for-pass marks under way, where requests for the same thing meet. */
  private final Coalescer coalescer;
  private final boolean coalesce;
  /** Bodies of small hot entries kept in the heap, or {@code null} without a cache. */
  private final RamTier ram;
  /** The plain GET hit from RAM with a pre-encoded head, or {@code null} without a RAM tier. */
  private final HitPath hitPath;
  /** Plain GET hits from RAM answered before Vert.x sees them ({@code transfer.front-hits}), or {@code null}. */
  private final FrontDecision front;
  /** Plain GET hits sent from the cache file: pre-encoded head and a file region ({@code null} without a cache). */
  private final FileHitPath fileHits;
  /** Passes of hit-for-pass keys answered before Vert.x sees them (with {@link #front}), or {@code null}. */
  private final FrontPasses passes;
  /** Handed to every exchange, relay and fill this handler makes. */
  private final HandlerContext ctx;
  /** In a cluster: where misses for keys other nodes own go ({@code null} for a single node). */
  private volatile dev.zcproxy.proxy.cluster.OwnerRoute owners;

  /**
   * @param store the cache, or {@code null} when caching is disabled (everything is PASS)
   * @param clock epoch milliseconds, for HTTP dates and ages
   */
  public ProxyHandler(Vertx vertx, ProxyConfig config, CachePolicy policy, DiskStore store, OriginClient origin,
      BodyTransfer transfer, ProxyMetrics metrics, LongSupplier clock, java.util.concurrent.Executor io) {
    this(vertx, config, policy, store, SiteRouter.single(vertx, config, requireNonNull(origin, "origin"), policy), transfer,
        metrics, clock, io, null);
  }

  /**
   * @param router where each request goes ({@link SiteRouter}: sites, routes and their origin pools)
   * @param store the cache, or {@code null} when caching is disabled (everything is PASS)
   * @param clock epoch milliseconds, for HTTP dates and ages
   */
  public ProxyHandler(Vertx vertx, ProxyConfig config, CachePolicy policy, DiskStore store, SiteRouter router,
      BodyTransfer transfer, ProxyMetrics metrics, LongSupplier clock, java.util.concurrent.Executor io) {
    this(vertx, config, policy, store, router, transfer, metrics, clock, io, null);
  }

  /**
   * A handler for a reloaded configuration: it takes over {@code previous}'s registries (fills under way
   * and the requests coalesced on them, revalidations, hit-for-pass marks, request-body memory), so
   * requests started by either handler still meet, and {@code previous} keeps serving what it started.
   *
   * @param previous the handler this one replaces, or {@code null} for fresh registries
   */
  public ProxyHandler(Vertx vertx, ProxyConfig config, CachePolicy policy, DiskStore store, SiteRouter router,
      BodyTransfer transfer, ProxyMetrics metrics, LongSupplier clock, java.util.concurrent.Executor io,
      ProxyHandler previous) {
    java.util.concurrent.Executor ioExecutor = requireNonNull(io, "io");
    this.doomed = previous == null ? ConcurrentHashMap.newKeySet() : previous.doomed;
    this.coalescer = new Coalescer(config.cache().hitForPass().toMillis(), requireNonNull(clock, "clock"),
        previous == null ? null : previous.coalescer);
    this.coalesce = config.cache().coalesce();
    requireNonNull(vertx, "vertx");
    this.cache = new HttpCache(requireNonNull(policy, "policy"), requireNonNull(clock, "clock"));
    this.store = store;
    this.router = requireNonNull(router, "router");
    this.transfer = requireNonNull(transfer, "transfer");
    this.planner = new TransferPlanner(config.transfer(), transfer.platform());
    this.metrics = requireNonNull(metrics, "metrics");
    this.clock = requireNonNull(clock, "clock");
    metrics.fillGauge(coalescer.fills()::size);
    this.accessLog = new AccessLog(!config.logging().accessLog().equals("off"), config.logging().accessLogJson(), clock);
    this.surrogateCapability = config.cache().enabled() && config.cache().surrogateControl();
    this.websocket = config.transfer().websocket();
    this.tunnels = new Tunnels(vertx,
        new Splicer(config.listen().idleTimeout(), java.time.Duration.ZERO), planner,
        new Tunnels.Route() {
          @Override
          public dev.zcproxy.proxy.origin.OriginPool pool(String authority, String path) {
            SiteRouter.Target t = router.resolve(authority, path);
            return t == null ? null : t.pool();
          }

          @Override
          public boolean sites() {
            return router.configured();
          }
        }, java.util.Set.copyOf(config.transfer().connectPorts()),
        (kind, mode, up, down) -> {
          TransferMode m = mode == TunnelResult.Mode.SPLICE ? TransferMode.SPLICE : TransferMode.COPY;
          metrics.response(CacheOutcome.PIPE, m, Math.max(0, up) + Math.max(0, down));
        }, previous == null ? null : previous.tunnels);
    ProxyConfig.OriginUrl url = config.origin().url();
    boolean defaultPort = url.port() == (url.tls() ? 443 : 80);
    this.originAuthority = defaultPort ? url.host() : url.host() + ":" + url.port();
    this.bodies = new RequestBodies(vertx, config.listen(), previous == null ? null : previous.bodies);
    this.trustedProxies = config.listen().trustedProxies().stream().map(dev.zcproxy.proxy.config.Cidr::parse).toList();
    this.stripRequestHeaders = config.origin().stripRequestHeaders();
    this.ram = previous != null ? previous.ram
        : store == null || config.cache().ram().sizeBytes() == 0 ? null : new RamTier(config.cache().ram(), ioExecutor, metrics::ramLoaded,
            metrics::ramEvicted, metrics::ramProbeTurnedAway);
    if (ram != null && previous == null) {
      store.onFileGone(ram::drop);
      store.onPublished((m, gen) -> ram.admitFilled(store, m, gen)); // small bodies in RAM from their fill while there is room
      metrics.ramGauge(ram::size);
      metrics.ramProbeGauge(ram::probeOneIn);
    }
    this.ctx = new HandlerContext(vertx, policy, store, metrics, accessLog, ioExecutor, originAuthority,
        config.logging().xCacheHeader(), planner, transfer,
        config.origin().idleTimeout().toMillis(), coalescer.fills(),
        previous == null ? ConcurrentHashMap.newKeySet() : previous.ctx.fillFiles(), new HandlerContext.Flow() {
          @Override
          public void pass(Exchange ex, String fwd, String detail) {
            ProxyHandler.this.pass(ex, fwd, detail);
          }

          @Override
          public void joinOrFetch(Exchange ex, Fill fill) {
            ProxyHandler.this.joinOrFetch(ex, fill);
          }
        }, config.cache().stripTagHeaders() ? config.cache().tagHeaders() : List.of(), cache, ram, new PrimaryKeys());
    this.hitPath = ram == null ? null : new HitPath(ctx, ram, cache);
    this.fileHits = store == null ? null : new FileHitPath(ctx, ram, cache, FILE_HIT_HEAD_BYTES);
    this.passes = hitPath == null || !config.transfer().frontHits() ? null
        : new FrontPasses(ctx, coalescer, new FrontPasses.Normal() {
          @Override
          public MultiMap originFields(String client, int localPort, RequestHead head) {
            return originRequestHeaders(client, localPort, head, OriginFields.UNCHANGED);
          }

          @Override
          public CacheStatus passStatus(String fwd, int status, String detail) {
            return ProxyHandler.this.passStatus(fwd, status, detail);
          }
        }, config.transfer().splice() ? config.transfer().spliceMinBytes() : Long.MAX_VALUE);
    this.front = hitPath == null || !config.transfer().frontHits() ? null
        : new FrontDecision(ctx, router, store, cache, ram, hitPath, doomed,
            fileHits == null ? null : new FrontFileHits(ctx, store, cache, ram, fileHits), passes);
  }

  /** What answers plain GET hits in front of Vert.x ({@code transfer.front-hits}), or {@code null} when off. */
  public dev.zcproxy.proxy.internal.FrontHits.Answerer frontHits() {
    return front;
  }

  /** Joins the cluster's key ownership: from now on misses for keys other nodes own are fetched from them. */
  public void ownerRoute(dev.zcproxy.proxy.cluster.OwnerRoute route) {
    this.owners = route;
  }

  // ---------------------------------------------------------------- recv

  @Override
  public void handle(HttpServerRequest req) {
    req.pause();
    if (req.version() == io.vertx.core.http.HttpVersion.HTTP_2) {
      // RFC 9113 §8.2.2: no connection-specific fields on HTTP/2 (clients treat them as a malformed response)
      req.response().headersEndHandler(v -> HeaderMaps.stripConnectionSpecific(req.response().headers()));
      // RFC 9113 §8.3.1: :authority stands for Host; every later step (checks, key, origin Host) reads Host
      if (req.headers().get(HttpHeaders.HOST) == null && req.authority() != null) {
        req.headers().set(HttpHeaders.HOST, req.authority().toString());
      }
    }
    if (doomed.contains(req.connection())) {
      return; // pipelined behind a request whose framing was rejected: the connection is closing
    }
    // An Upgrade to h2c is never a tunnel (Tunnels.isUpgrade): it is served as HTTP/1.1, and the Upgrade
    // and HTTP2-Settings fields are hop-by-hop, not forwarded.
    boolean tunnel = tunnels.isTunnel(req) && (req.method() == HttpMethod.CONNECT || websocket);
    if (tunnel && req.method() == HttpMethod.CONNECT) {
      HalfClose.leaveHttp(req);
      tunnels.handle(req);
      return;
    }
    Headers requestHeaders = HeaderMaps.toHeaders(req.headers()); // once: the check and the exchange share it
    RequestCheck.Verdict verdict = RequestCheck.check(Exchange.versionName(req.version()), req.uri(), requestHeaders);
    if (verdict instanceof RequestCheck.Reject r) {
      reject(req, r.status(), r.reason());
      return;
    }
    RequestCheck.Ok ok = (RequestCheck.Ok) verdict;
    String expect = req.getHeader(HttpHeaders.EXPECT);
    if (expect != null && !expect.equalsIgnoreCase("100-continue")) {
      reject(req, 417, "unsupported expectation");
      return;
    }
    if (tunnel) {
      // pipe: an Upgrade becomes a raw tunnel, spliced both ways where the transport allows.
      HalfClose.leaveHttp(req);
      tunnels.handle(req);
      return;
    }
    SiteRouter.Target target = router.resolve(ok.authority(), ok.target());
    Exchange ex = new Exchange(ctx, req, ok.authority(), ok.target(), requestHeaders, target);
    if (target == null) {
      misdirected(ex, ok.hasBody());
      return;
    }
    if (target.maxBodyBytes() > 0 && ok.bodyLength() > target.maxBodyBytes()) {
      ex.reject(413, "body-too-large");
      return;
    }
    if (!ok.hasBody()) {
      if (req.headers().contains(HttpHeaders.CONTENT_LENGTH) && req.method() != HttpMethod.GET && req.method() != HttpMethod.HEAD) {
        ex.body = bodies.empty(); // a declared empty body is forwarded as Content-Length: 0 (some origins want 411 otherwise)
      }
      recv(ex);
      return;
    }
    // The whole body is read before anything else happens: no origin connection waits on a client.
    Runnable continue100 = () -> {
      if (expect != null && req.version() == io.vertx.core.http.HttpVersion.HTTP_1_1) {
        ex.resp.writeContinue();
      }
    };
    bodies.read(req, ok.bodyLength(), continue100).onComplete(ar -> {
      if (ar.failed()) {
        int status = ar.cause() instanceof RequestBodies.BodyException b ? b.status : 400;
        if (status > 0 && !ex.clientGone) {
          reject(req, status, ar.cause().getMessage());
        } else {
          req.connection().close();
        }
        return;
      }
      ex.body = ar.result();
      if (target.maxBodyBytes() > 0 && ex.body.length() > target.maxBodyBytes()) {
        ex.body.release();
        ex.reject(413, "body-too-large");
        return;
      }
      String bad = dev.zcproxy.proxy.internal.StrictRequestDecoder.bodyRejected(req);
      if (bad != null) {
        ex.body.release();
        reject(req, 400, bad);
        return;
      }
      RequestBodies.Body body = ex.body;
      ex.resp.endHandler(v -> body.release());
      ex.resp.closeHandler(v -> {
        ex.clientGone = true;
        body.release();
      });
      recv(ex);
    });
  }

  /** recv for a request whose head is valid and whose body, if any, has been read. */
  private void recv(Exchange ex) {
    if (store == null || !ex.target.cacheEnabled()) {
      pass(ex, "bypass", "cache-disabled");
      return;
    }
    if (!cache.looksUp(ex.head)) {
      pass(ex, "method", null);
      return;
    }
    lookupAndServe(ex);
  }

  /** lookup → hit / stale / miss, for a GET or HEAD (also re-run when a joined fill had already ended). */
  private void lookupAndServe(Exchange ex) {
    // Complete at once when the stored heads are cached; else they are read from disk off the event loop.
    List<EntryMeta> now = store.lookupNow(ex.primaryKey); // no future made when the index answers at once
    if (now != null) {
      lookupAndServe(ex, now);
      return;
    }
    CompletableFuture<List<EntryMeta>> found = store.lookup(ex.primaryKey);
    List<EntryMeta> variants = found.isDone() && !found.isCompletedExceptionally() ? found.join() : null;
    if (variants == null) {
      Future.fromCompletionStage(found, ex.context).onComplete(ar -> lookupAndServe(ex, ar.succeeded() ? ar.result() : List.of()));
      return;
    }
    lookupAndServe(ex, variants);
  }

  private void lookupAndServe(Exchange ex, List<EntryMeta> variants) {
    Lookup lookup;
    try {
      lookup = cache.lookup(ex.head, variants);
    } catch (RuntimeException e) {
      LOG.warn("lookup failed for {}; passing the request", ex.primaryKey, e);
      pass(ex, "bypass", "lookup-error");
      return;
    }
    if (lookup instanceof Lookup.Fresh fresh) {
      deliverStored(ex, fresh.entry(), CacheOutcome.HIT, CacheStatus.hit());
    } else if (lookup instanceof Lookup.Stale stale) {
      switch (stale.action()) {
        case SERVE_STALE -> deliverStored(ex, stale.entry(), CacheOutcome.STALE, CacheStatus.hit().detail("stale"));
        case SERVE_STALE_AND_REVALIDATE -> {
          deliverStored(ex, stale.entry(), CacheOutcome.STALE, CacheStatus.hit().detail("stale-while-revalidate"));
          revalidateInBackground(ex.head, stale.entry(), ex.target);
        }
        case REVALIDATE -> revalidate(ex, stale.fwd(), stale.entry());
      }
    } else {
      // a miss, or a kind of answer this handler does not act on yet: fetched as a miss
      Lookup.Miss miss = lookup instanceof Lookup.Miss m ? m : new Lookup.Miss("miss", false);
      // RFC 9111 §3.3: a stored partial response may answer a range inside it
      EntryMeta partial = cache.partialFor(ex.head, variants);
      if (partial != null) {
        deliverStored(ex, partial, CacheOutcome.HIT, CacheStatus.hit().detail("partial"));
      } else if (miss.onlyIfCached()) {
        ex.synth(504, CacheStatus.fwd("miss").detail("only-if-cached"), "not in cache (only-if-cached)\n");
      } else if (coalescer.hitForPass(ex.primaryKey)) {
        pass(ex, miss.detail(), "hit-for-pass");
      } else if (cache.forwardsRange(ex.head)) {
        pass(ex, miss.detail(), "range"); // its 206 is stored as a partial entry (see pass)
      } else {
        missFetch(ex, miss.detail());
      }
    }
  }

  /**
   * A stale entry that must be validated: joins the revalidation of the same variant under way, or
   * starts one (coalesced like misses); only bodiless GETs coalesce.
   */
  private void revalidate(Exchange ex, String fwd, EntryMeta stale) {
    dev.zcproxy.proxy.cluster.OwnerRoute route = owners;
    if (route != null && !route.localCopy() && route.ownerFor(ex.primaryKey, ex.req.headers()) != null) {
      // A copy kept from when this node owned the key (its owner is back): dropped rather than
      // revalidated through the owner each time it goes stale; the owner answers as for any miss.
      store.remove(stale.key());
      missFetch(ex, fwd);
      return;
    }
    if (!coalesce || ex.req.method() != HttpMethod.GET || ex.body != null) {
      fetch(ex, fwd, stale, null);
      return;
    }
    Coalescer.Joined<Revalidation> joined = coalescer.revalidation(stale);
    Revalidation r = joined.value();
    if (joined.leads()) {
      ex.revalidation = r;
      fetch(ex, fwd, stale, null);
      return;
    }
    if (!r.await(ex)) {
      fetch(ex, fwd, stale, null);
      return;
    }
    metrics.collapsed();
  }

  /** Ends the revalidation {@code ex} leads, if any, telling its waiters to go on alone. */
  private void releaseRevalidation(Exchange ex) {
    Revalidation r = ex.revalidation;
    if (r != null) {
      ex.revalidation = null;
      coalescer.ended(r);
      r.release(e -> fetch(e, "stale", r.stale, null));
    }
  }

  /**
   * A miss: joins the fetch already under way for this URI (coalescing), or starts one that later
   * requests can join. Only bodiless GETs and HEADs coalesce; the rest fetch on their own.
   */
  private void missFetch(Exchange ex, String fwd) {
    boolean getOrHead = ex.req.method() == HttpMethod.GET || ex.req.method() == HttpMethod.HEAD;
    dev.zcproxy.proxy.cluster.OwnerRoute route = owners;
    if (!coalesce || !getOrHead || ex.body != null
        || (route != null && !route.localCopy() && route.ownerFor(ex.primaryKey, ex.req.headers()) != null)) {
      fetch(ex, fwd, null, null); // a key owned elsewhere, not kept here: its owner coalesces
      return;
    }
    Coalescer.Joined<Fill> joined = coalescer.fill(ex.primaryKey, k -> new Fill(ctx, ex.context, k, fwd));
    if (joined.leads()) {
      fetch(ex, fwd, null, joined.value());
    } else {
      joined.value().await(ex);
    }
  }

  // ---------------------------------------------------------------- pass

  private void pass(Exchange ex, String fwd, String detail) {
    MultiMap headers = originRequestHeaders(Exchange.remoteOrNull(ex.req), localPort(ex.req), ex.head, OriginFields.UNCHANGED);
    long requestTime = clock.getAsLong();
    ex.originRequest();
    ex.target.pool().send(ex.req.method(), ex.head.pathAndQuery(), headers, ex.body, interimTo(ex), ex.primaryKey)
        .map(ProxyHandler::requireFinal).onComplete(ar -> {
      releaseBody(ex);
      if (ar.failed()) {
        ex.originFailed(ar.cause(), fwd);
        return;
      }
      HttpClientResponse cres = ar.result();
      ex.originResponded(cres.statusCode());
      ResponseHead rh = new ResponseHead(cres.statusCode(), HopByHop.strip(HeaderMaps.toHeaders(cres.headers())));
      invalidateAfter(ex.head, rh, ex.target.keySuffix());
      CacheStatus cs = passStatus(fwd, rh.status(), detail);
      // A POST response for its Content-Location's GETs (after the invalidation above, RFC 9111 §4.4),
      // or a forwarded range's 206 as a partial entry: HttpCache.afterPass says which is stored
      if (store != null && ex.target.cacheEnabled()
          && cache.afterPass(ex.head, rh, ex.primaryKey, requestTime, clock.getAsLong(), ex.target.policy())
              instanceof ResponseAction.Store s) {
        Fill f = new Fill(ctx, ex.context, ex.primaryKey, fwd);
        f.start(cres, rh, s.entry(), cs.param("stored"));
        startReader(ex, f, true);
        return;
      }
      new Relay(ctx, ex, cres, rh, CacheOutcome.PASS, cs).start();
    });
    ex.req.resume();
  }

  /**
   * A pass's {@code Cache-Status} member, {@code zcproxy; fwd=<fwd>; fwd-status=<status>[; detail=<detail>]}: the
   * text of the last one when it is the same again (hit-for-pass keys answer the same way every time).
   */
  private CacheStatus passStatus(String fwd, int status, String detail) {
    PassStatus last = passStatus;
    if (last != null && last.status == status && last.fwd.equals(fwd) && java.util.Objects.equals(last.detail, detail)) {
      return CacheStatus.of(last.member);
    }
    CacheStatus cs = CacheStatus.fwd(fwd).param("fwd-status", status);
    if (detail != null) {
      cs.detail(detail);
    }
    passStatus = new PassStatus(fwd, status, detail, cs.toString()); // a plain write of an immutable record, as forwardedText
    return cs;
  }

  /** The last pass member {@link #passStatus} made and what it was made of. */
  private record PassStatus(String fwd, int status, String detail, String member) {}

  /** The last {@link PassStatus}, or {@code null}. */
  private PassStatus passStatus;

  private static void releaseBody(Exchange ex) {
    if (ex.body != null) {
      ex.body.release();
    }
  }

  private void invalidateAfter(RequestHead head, ResponseHead rh, String keySuffix) {
    if (store == null) {
      return;
    }
    dev.zcproxy.proxy.cluster.OwnerRoute route = owners;
    for (String k : cache.invalidations(head, rh, keySuffix)) {
      store.invalidate(k);
      if (route != null) {
        route.invalidatedHere(k, clock.getAsLong()); // the owner, which holds the stored copy, drops it too
      }
    }
  }

  // ---------------------------------------------------------------- miss and revalidation

  /**
   * Fetches from the origin for a miss ({@code stale == null}) or to revalidate {@code stale}.
   *
   * @param fwd the RFC 9211 {@code fwd} reason
   */
  private void fetch(Exchange ex, String fwd, EntryMeta stale, Fill fill) {
    dev.zcproxy.proxy.cluster.OwnerRoute route = owners;
    ex.owner = route == null ? null : route.ownerFor(ex.primaryKey, ex.req.headers());
    // A miss sent to the key's owner and not kept here goes with the client's conditionals and range:
    // the owner answers them from its cache (304, 206) as it would the client itself.
    boolean storedHere = ex.owner == null || route.localCopy();
    MultiMap headers = originRequestHeaders(Exchange.remoteOrNull(ex.req), localPort(ex.req), ex.head,
        cache.originFields(stale, storedHere));
    long requestTime = clock.getAsLong();
    // A HEAD that misses is fetched as a GET (nginx's proxy_cache_convert_head): the body is stored for
    // the next requests and this client gets the head only. A HEAD that finds a stale GET revalidates it
    // with a HEAD, whose 200 may refresh the stored response (RFC 9111 §4.3.5).
    HttpMethod method = HttpMethod.valueOf(cache.originMethod(ex.head, stale));
    ex.originRequest();
    // just joined: a miss for a key this node owns is first asked from the node that held it meanwhile
    dev.zcproxy.proxy.cluster.Cluster.Node previous = route == null || ex.owner != null || stale != null || ex.body != null
        ? null : route.previousOwnerFor(ex.primaryKey, ex.req.headers());
    (previous != null ? route.handoff(previous, ex.head.authority(), method, ex.head.pathAndQuery(), headers, interimTo(ex),
            () -> ex.target.pool().send(method, ex.head.pathAndQuery(), headers, ex.body, interimTo(ex), ex.primaryKey))
        : ex.owner == null ? ex.target.pool().send(method, ex.head.pathAndQuery(), headers, ex.body, interimTo(ex), ex.primaryKey)
        : route.send(ex.owner, ex.head.authority(), method, ex.head.pathAndQuery(), headers, ex.body, interimTo(ex),
            () -> ex.target.pool().send(method, ex.head.pathAndQuery(), headers, ex.body, interimTo(ex), ex.primaryKey)))
        .map(ProxyHandler::requireFinal).onComplete(ar -> {
      releaseBody(ex);
      if (ar.failed()) {
        if (fill != null) {
          fill.headFailed(ar.cause());
        }
        releaseRevalidation(ex);
        if (stale != null && cache.staleIfError(ex.head, stale)) {
          metrics.originError();
          deliverStored(ex, stale, CacheOutcome.STALE, CacheStatus.fwd("stale").detail("stale-if-error"));
        } else {
          ex.originFailed(ar.cause(), fwd);
        }
        return;
      }
      onOriginResponse(ex, ar.result(), requestTime, fwd, stale, fill);
    });
    ex.req.resume();
  }

  private void onOriginResponse(Exchange ex, HttpClientResponse cres, long requestTime, String fwd, EntryMeta stale, Fill fill) {
    long responseTime = clock.getAsLong();
    int status = cres.statusCode();
    ex.originResponded(status);
    ResponseHead rh = keyed(new ResponseHead(status, HopByHop.strip(HeaderMaps.toHeaders(cres.headers()))), ex.target.keyHeaders());
    ResponseAction action = cache.afterFetch(ex.head, rh, stale, ex.primaryKey, requestTime, responseTime, ex.target.policy());
    if (ex.owner != null && action instanceof ResponseAction.Store) {
      // fetched from the key's owner node, which stores it; kept here too only with cluster.local-copy
      dev.zcproxy.proxy.cluster.OwnerRoute route = owners;
      if (route != null && route.localCopy()) {
        route.storedLocally(ex.primaryKey);
      } else {
        action = new ResponseAction.Pass(Reason.OWNER);
      }
    }
    if (action instanceof ResponseAction.Merge merge) {
      // A 304, or a HEAD's 200 that matches the stored GET (RFC 9111 §4.3.5): deliver once the index
      // holds the refreshed entry, so the next request is a hit (a small in-place header write on the
      // cache-io pool).
      cres.end();
      EntryMeta merged = merge.refreshed();
      Revalidation r = ex.revalidation;
      ex.revalidation = null;
      store.update(stale, merged).whenComplete((m, t) -> ex.context.runOnContext(v -> {
        if (t != null) {
          LOG.debug("could not update stored headers of {}: {}", stale.primaryKey(), t.toString());
        }
        EntryMeta refreshed = t == null ? m : merged;
        if (r != null) {
          coalescer.ended(r);
          r.revalidated(refreshed, (e, entry) -> deliverStored(e, entry, CacheOutcome.REVALIDATED,
              CacheStatus.fwd(fwd).param("fwd-status", status).param("collapsed")));
        }
        deliverStored(ex, refreshed, CacheOutcome.REVALIDATED, CacheStatus.fwd(fwd).param("fwd-status", status));
      }));
      return;
    }
    if (action instanceof ResponseAction.ServeStale) {
      releaseRevalidation(ex);
      cres.request().connection().close();
      deliverStored(ex, stale, CacheOutcome.STALE,
          CacheStatus.fwd(fwd).param("fwd-status", status).detail("stale-if-error"));
      return;
    }
    if (action instanceof ResponseAction.Store st) {
      coalescer.clearHitForPass(ex.primaryKey);
      Fill f = fill != null ? fill : new Fill(ctx, ex.context, ex.primaryKey, fwd);
      if (hitPath != null) {
        CachePolicy sitePolicy = ex.target.policy();
        f.onKeptInRam = m -> hitPath.prepare(m, sitePolicy);
      }
      f.start(cres, rh, st.entry(), CacheStatus.fwd(fwd).param("fwd-status", status).param("stored"));
      Revalidation r = ex.revalidation;
      if (r != null) {
        ex.revalidation = null;
        coalescer.ended(r);
        r.filling(f, this::joinOrFetch);
      }
      startReader(ex, f, true);
      return;
    }
    releaseRevalidation(ex);
    ResponseAction.Pass pass = (ResponseAction.Pass) action;
    if (fill != null) {
      if (pass.reason().remembered()) {
        coalescer.markHitForPass(ex.primaryKey, passes != null && passes.relayable(status, HeaderMaps.contentLength(cres.headers())));
      }
      fill.notShared();
    }
    CacheStatus cs = CacheStatus.fwd(fwd).param("fwd-status", status).detail(pass.detail());
    if (cache.preconditionFailed(ex.head, rh)) {
      // the client's If-Match / If-Unmodified-Since went to no one: answered here, the body not read
      cres.request().connection().close();
      ex.resp.setStatusCode(status);
      HeaderMaps.copyInto(rh.headers(), ex.resp.headers());
      PreconditionFailed.apply(ex.resp);
      ex.decorate(CacheOutcome.MISS, cs);
      ex.finish(CacheOutcome.MISS, TransferMode.NONE, ex.resp.end());
      return;
    }
    new Relay(ctx, ex, cres, rh, CacheOutcome.MISS, cs).start();
  }

  /**
   * Adds {@code cache.key-headers} to the response's {@code Vary}, so each value of those request fields
   * is stored and served as its own variant (Varnish's {@code hash_data} on a header, done through the
   * secondary key so purges and invalidations by URL still reach every variant).
   */
  private static ResponseHead keyed(ResponseHead rh, List<String> keyHeaders) {
    if (keyHeaders.isEmpty()) {
      return rh;
    }
    List<String> vary = rh.headers().members("vary");
    if (vary.contains("*")) {
      return rh;
    }
    StringBuilder v = new StringBuilder(String.join(", ", vary));
    for (String h : keyHeaders) {
      if (vary.stream().noneMatch(h::equalsIgnoreCase)) {
        v.append(v.length() == 0 ? "" : ", ").append(h);
      }
    }
    return new ResponseHead(rh.status(), rh.headers().without("vary").with("vary", v.toString()));
  }

  /** stale-while-revalidate: one background revalidation per stored variant at a time. */
  private void revalidateInBackground(RequestHead head, EntryMeta stale, SiteRouter.Target target) {
    if (!coalescer.startBackground(stale)) {
      return;
    }
    MultiMap headers = HttpHeaders.headers();
    HeaderMaps.copyInto(HopByHop.strip(head.headers()), headers);
    OriginFields fields = cache.originFields(stale, true);
    fields.remove().forEach(headers::remove);
    headers.add("via", Via.MEMBER);
    addSurrogateCapability(headers);
    HeaderMaps.copyInto(fields.add(), headers);
    long requestTime = clock.getAsLong();
    metrics.originRequest();
    target.pool().send(HttpMethod.valueOf(cache.backgroundMethod()), head.pathAndQuery(), headers, null, null, stale.primaryKey())
        .map(ProxyHandler::requireFinal).onComplete(ar -> {
      if (ar.failed()) {
        coalescer.endBackground(stale);
        metrics.originError();
        return;
      }
      HttpClientResponse cres = ar.result();
      long responseTime = clock.getAsLong();
      ResponseHead rh = keyed(new ResponseHead(cres.statusCode(), HopByHop.strip(HeaderMaps.toHeaders(cres.headers()))),
          target.keyHeaders());
      ResponseAction action = cache.afterBackgroundFetch(head, rh, stale, stale.primaryKey(), requestTime, responseTime,
          target.policy());
      if (action instanceof ResponseAction.Merge merge) {
        cres.end();
        store.update(stale, merge.refreshed()).whenComplete((m, t) -> coalescer.endBackground(stale));
        return;
      }
      if (action instanceof ResponseAction.Store st) {
        Fill f = new Fill(ctx, ctx.vertx().getOrCreateContext(), stale.primaryKey(), "stale");
        f.onDone = () -> coalescer.endBackground(stale);
        f.start(cres, rh, st.entry(), CacheStatus.fwd("stale"));
      } else {
        cres.request().connection().close();
        coalescer.endBackground(stale);
      }
    });
  }

  // ---------------------------------------------------------------- deliver from the cache

  private void deliverStored(Exchange ex, EntryMeta entry, CacheOutcome outcome, CacheStatus cs) {
    if (ram != null && ram.admits(entry.bodyLength())) {
      // A body kept in RAM needs no open file: no open-file cache slot, no open(2) on the I/O pool.
      DiskStore.Indexed indexed = store.indexed(entry);
      RamTier.Kept kept = indexed == null ? null : ram.kept(indexed.generation());
      if (kept != null && kept.body().length() == indexed.meta().bodyLength() && kept.body().tryRetain()) {
        try { // held while its bytes are copied out: a drop or eviction meanwhile frees it after this
          if (hitPath.serve(ex, entry, indexed, kept, outcome)) {
            return; // the plain GET hit: pre-encoded head and body in one write
          }
          writeStored(ex, entry, indexed.meta(), null, kept.body(), outcome, cs);
        } finally {
          kept.body().release();
        }
        return;
      }
    }
    CompletableFuture<OpenEntry> opening = store.open(entry);
    // getNow would throw on a future that already failed (the entry left the index since the lookup)
    OpenEntry ready = opening.isDone() && !opening.isCompletedExceptionally() ? opening.join() : null;
    if (ready != null) {
      writeStored(ex, entry, ready.meta(), ready, null, outcome, cs);
      return;
    }
    Future.fromCompletionStage(opening, ex.context).onComplete(ar -> {
      if (ar.succeeded()) {
        writeStored(ex, entry, ar.result().meta(), ar.result(), null, outcome, cs);
      } else {
        // The file went away under the index (evicted, deleted by hand): drop it and fetch again.
        LOG.debug("stored entry {} could not be opened: {}", entry.primaryKey(), ar.cause().toString());
        store.remove(entry.key());
        fetch(ex, "miss", null, null);
      }
    });
  }

  /**
   * Answers from a stored entry: its body from {@code kept} (the RAM tier) when not {@code null}, else
   * from {@code open}'s file (then {@code open} is not {@code null} and is closed here).
   *
   * @param fileMeta the meta of the file the body comes from (the index's current one)
   */
  private void writeStored(Exchange ex, EntryMeta requested, EntryMeta fileMeta, OpenEntry open, RamBody kept,
      CacheOutcome outcome, CacheStatus cs) {
    HttpServerResponse resp = ex.resp;
    // the site's rules (e.g. its set-cookie mode) for the fields; headers merged from a 304 may not have reached the file
    Delivery d = cache.deliver(ex.head, requested, fileMeta, ex.target.policy());
    EntryMeta entry = d.entry();
    if (ex.clientGone) {
      close(open);
      ex.finish(outcome, TransferMode.NONE, Future.failedFuture("client gone"));
      return;
    }
    if (open != null && kept == null && fileHits != null && d.kind() == Delivery.Kind.FULL
        && fileHits.serve(ex, entry, open, outcome)) {
      return; // the plain GET hit from the file: pre-encoded head and a file region, one flush
    }
    resp.setStatusCode(d.status());
    MultiMap out = resp.headers();
    d.fields().forEach(out::add); // no intermediate copy of the stored fields
    ex.decorate(outcome, cs);
    ex.req.resume();
    if (d.contentRange() != null) {
      resp.putHeader(HttpHeaders.CONTENT_RANGE, d.contentRange());
    }
    if (d.contentLength() < 0) {
      resp.headers().remove(HttpHeaders.CONTENT_LENGTH);
    } else {
      resp.putHeader(HttpHeaders.CONTENT_LENGTH, Long.toString(d.contentLength()));
    }
    if (d.kind() == Delivery.Kind.PRECONDITION_FAILED) {
      PreconditionFailed.apply(resp); // the client's If-Match / If-Unmodified-Since, not forwarded by a fill
    }
    if (!d.body()) {
      close(open);
      ex.finish(outcome, TransferMode.NONE, resp.end());
      return;
    }
    long offset = entry.bodyOffset() + d.first();
    long length = d.length();
    long bodyLength = length;
    if (kept == null && ram != null && ram.admits(entry.bodyLength())) {
      kept = ram.get(open.generation());
    }
    TransferMode mode = planner.forHit(ex.req, length, kept != null && kept.length() == entry.bodyLength()).mode();
    Buffer body = null;
    if (mode == TransferMode.RAM && kept.tryRetain()) { // a body dropped since is freed: then the file (open is there)
      try {
        body = kept.toBuffer((int) (offset - entry.bodyOffset()), (int) length); // a copy: the body may be freed after
      } finally {
        kept.release();
      }
    } else if (mode == TransferMode.RAM) {
      mode = planner.forHit(ex.req, length, false).mode();
    }
    if (mode == TransferMode.RAM) {
      // RAM tier: head and body leave in one write, no sendfile of a few KiB.
      close(open);
      Future<Void> sent = resp.end(body);
      sent.onSuccess(v -> ex.bodyBytes = bodyLength);
      ex.finish(outcome, TransferMode.RAM, sent);
      return;
    }
    Future<Void> sent = transfer.send(ex.req, mode, open.channel(), offset, length);
    EntryMeta served = entry;
    sent.onComplete(ar -> {
      if (ar.succeeded()) {
        ex.bodyBytes = bodyLength; // a cut sendfile reports no count: only a whole body is counted
      }
      if (ar.succeeded() && ram != null && ram.admits(served.bodyLength())) {
        ram.load(open, served.bodyOffset(), served.bodyLength()); // the next hit comes from RAM; closes open
      } else {
        close(open);
      }
    });
    ex.finish(outcome, mode, sent);
  }

  /**
   * No site answers the request's host and there is no {@code default-site}: 421 Misdirected Request
   * (RFC 9110 §15.5.20), as a client may retry on another connection; with a body the connection closes.
   */
  private void misdirected(Exchange ex, boolean hasBody) {
    metrics.badRequest();
    if (hasBody) {
      ex.reject(421, "unknown-host");
    } else {
      ex.synth(421, CacheStatus.fwd("bypass").detail("unknown-host"), "421 no site for this host\n");
      }
    }

  private static void close(OpenEntry open) {
    if (open != null) {
      open.close();
    }
  }

  // ---------------------------------------------------------------- helpers

  /**
   * Forwards the origin's interim (1xx) responses for {@code ex} to its client, without hop-by-hop fields
   * and with this proxy's Via (RFC 9110 §15.2); HTTP/1.0 clients and answered ones get none.
   */
  private static OriginCodec.InterimListener interimTo(Exchange ex) {
    return (status, reason, fields) -> {
      if (ex.clientGone) {
        return;
      }
      MultiMap h = HttpHeaders.headers();
      HeaderMaps.copyInto(HopByHop.strip(HeaderMaps.toHeaders(fields)), h);
      String via = h.get("via");
      h.set("via", Via.appendTo(via));
      InterimResponses.write(ex.req, status, reason, h);
    };
  }

  /**
   * A final response cannot be interim: a 101 to a request that asked for no upgrade (or a 1xx the origin
   * codec could not take out) fails the exchange like an unreachable origin (502), its connection closed.
   */
  private static HttpClientResponse requireFinal(HttpClientResponse cres) {
    if (cres.statusCode() >= 200) {
      return cres;
    }
    cres.request().connection().close();
    throw new io.vertx.core.VertxException("origin answered " + cres.statusCode() + " as its final response", true);
  }

  /** The port the client connected to, or 0 when unknown. */
  private static int localPort(HttpServerRequest req) {
    return req.localAddress() == null ? 0 : req.localAddress().port();
  }

  /**
   * The origin request's fields: the client's without hop-by-hop ones, with {@code fields}' edits and this proxy's.
   *
   * @param client the client's address, or {@code null} when unknown
   * @param localPort the port the client connected to, or 0
   */
  private MultiMap originRequestHeaders(String client, int localPort, RequestHead head, OriginFields fields) {
    MultiMap m = HttpHeaders.headers();
    HeaderMaps.copyInto(HopByHop.strip(head.headers()), m);
    m.remove(HttpHeaders.EXPECT);
    fields.remove().forEach(m::remove);
    for (String name : stripRequestHeaders) {
      m.remove(name);
    }
    m.remove(dev.zcproxy.proxy.cluster.OwnerRoute.FORWARDED);
    // The authority the request named (an absolute-form target's wins over Host, RFC 9112 §3.2.2).
    // Without origin.preserve-host (or a site's preserve-host) the pool puts its server's authority instead.
    m.set(HttpHeaders.HOST, head.authority());
    String via = m.get("via");
    m.set("via", Via.appendTo(via));
    forwarded(client, localPort, head, m);
    addSurrogateCapability(m);
    HeaderMaps.copyInto(fields.add(), m);
    return m;
  }

  /**
   * Sets X-Forwarded-For/-Host/-Proto/-Port and Forwarded (RFC 7239) to what this proxy saw. A client in
   * {@code listen.trusted-proxies} is another proxy: its values are kept and this hop appended; from any
   * other client they are replaced, so no client can tell the origin (and through it the cache) which
   * host or scheme it was asked for.
   */
  private void forwarded(String client, int port, RequestHead head, MultiMap m) {
    boolean trusted = false;
    for (dev.zcproxy.proxy.config.Cidr c : trustedProxies) {
      if (c.contains(client)) {
        trusted = true;
        break;
      }
    }
    String xff = trusted ? joined(m, "x-forwarded-for") : null;
    String fwd = trusted ? joined(m, "forwarded") : null;
    String xfh = trusted ? m.get("x-forwarded-host") : null;
    String xfp = trusted ? m.get("x-forwarded-proto") : null;
    String xfport = trusted ? m.get("x-forwarded-port") : null;
    for (String name : FORWARDING_FIELDS) {
      m.remove(name);
    }
    String proto = head.scheme(); // https when the client came over TLS, as req.isSSL() (which walks the pipeline)
    String host = head.authority();
    if (client != null) {
      m.set("x-forwarded-for", xff == null ? client : xff + ", " + client);
    } else if (xff != null) {
      m.set("x-forwarded-for", xff);
    }
    m.set("x-forwarded-host", xfh != null ? xfh : host);
    m.set("x-forwarded-proto", xfp != null ? xfp : proto);
    ForwardedText text = forwardedText;
    if (text == null || !text.matches(client, host, proto, port)) {
      text = ForwardedText.of(client, host, proto, port);
      forwardedText = text; // a plain write of an immutable record: a loop that misses it builds its own
    }
    if (xfport != null) {
      m.set("x-forwarded-port", xfport);
    } else if (port > 0) {
      m.set("x-forwarded-port", text.port());
    }
    m.set("forwarded", fwd == null ? text.element() : fwd + ", " + text.element());
  }

  /**
   * The strings {@link #forwarded} builds from the client's address, the authority, the scheme and the local
   * port, for the last ones seen: the same client on the same listener asks for them again and again.
   * Immutable, shared by the event loops through a plain field (a loop that reads an older one rebuilds).
   */
  private record ForwardedText(String client, String host, String proto, int localPort, String element, String port) {
    static ForwardedText of(String client, String host, String proto, int localPort) {
      StringBuilder mine = new StringBuilder(64);
      if (client != null) {
        mine.append("for=").append(client.indexOf(':') >= 0 ? "\"[" + client + "]\"" : client).append(';');
      }
      mine.append("host=").append(host.indexOf(':') >= 0 ? "\"" + host + "\"" : host).append(";proto=").append(proto);
      return new ForwardedText(client, host, proto, localPort, mine.toString(), localPort > 0 ? Integer.toString(localPort) : null);
    }

    boolean matches(String client, String host, String proto, int localPort) {
      return this.localPort == localPort && this.proto.equals(proto) && this.host.equals(host)
          && java.util.Objects.equals(this.client, client);
    }
  }

  /** The last {@link ForwardedText} built, or {@code null}. */
  private ForwardedText forwardedText;

  /** The fields {@link #forwarded} replaces or appends to. */
  private static final List<String> FORWARDING_FIELDS =
      List.of("x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-forwarded-port", "forwarded");

  private static String joined(MultiMap m, String name) {
    List<String> all = m.getAll(name);
    return all.isEmpty() ? null : String.join(", ", all);
  }

  /** Announces this cache as a surrogate, so the origin may target {@code Surrogate-Control} at it. */
  private void addSurrogateCapability(MultiMap m) {
    if (surrogateCapability) {
      String mine = CachePolicy.SURROGATE_DEVICE + "=\"Surrogate/1.0\"";
      String existing = m.get("surrogate-capability");
      m.set("surrogate-capability", existing == null ? mine : existing + ", " + mine);
    }
  }

  /**
   * Closes the cache files that fills still hold: called at stop, after the event loops ended, for fills
   * whose last step (posted to a loop that was stopping) never ran.
   */
  public void closeFiles() {
    for (java.nio.channels.FileChannel c : List.copyOf(ctx.fillFiles())) {
      try {
        c.close();
      } catch (java.io.IOException ignored) {
        // stopping: nothing else to do
      }
      ctx.fillFiles().remove(c);
    }
  }

  /** Answers requests Vert.x could not parse: 400, or 431 for a header section over the limit; closes the connection. */
  public Handler<HttpServerRequest> invalidRequestHandler() {
    return req -> {
      metrics.badRequest();
      DecoderResult result = req.decoderResult();
      int status = 400;
      String why = "malformed request";
      Throwable cause = result == null ? null : result.cause();
      if (cause instanceof TooLongFrameException) {
        String msg = String.valueOf(cause.getMessage()).toLowerCase(Locale.ROOT);
        if (msg.contains("header")) {
          status = 431;
          why = "request header section too large";
        } else {
          status = 414;
          why = "request line too long";
        }
      }
      answerAndClose(req, status, why, false);
    };
  }

  /**
   * Answers a request whose head or body this proxy will not forward ({@code status} 400, 408, 411, 413,
   * 417, 431 or 501), writes its one access-log line, and closes the connection: after a framing error
   * nothing that follows on it can be trusted, so whatever was pipelined behind it is never handled.
   */
  private void reject(HttpServerRequest req, int status, String why) {
    metrics.badRequest();
    LOG.debug("rejected {} {} from {}: {} {}", req.method(), req.uri(), Exchange.remote(req), status, why);
    answerAndClose(req, status, why, true);
  }

  private void answerAndClose(HttpServerRequest req, int status, String why, boolean doom) {
    HttpConnection conn = req.connection();
    if (doom) {
      doomed.add(conn);
    }
    HttpServerResponse resp = req.response();
    if (resp.headWritten() || resp.ended()) {
      conn.close();
      return;
    }
    String body = status + " " + why + "\n";
    resp.setStatusCode(status)
        .putHeader(HttpHeaders.CONNECTION, "close")
        .putHeader(HttpHeaders.CONTENT_TYPE, "text/plain; charset=utf-8")
        .putHeader("cache-status", CacheStatus.fwd("bypass").detail("bad-request").toString());
    resp.end(body).onComplete(v -> {
      Exchange.logUnparsed(accessLog, req, status, v.succeeded() ? body.length() : 0, v.succeeded());
      linger(req, conn);
    });
  }

  /**
   * Closes {@code conn} once the client stopped sending, or after {@link #LINGER_MILLIS}: closing a
   * socket with unread request bytes makes the kernel send a reset, which can destroy the answer
   * before the client read it (nginx's lingering close). What arrives meanwhile is dropped.
   */
  private void linger(HttpServerRequest req, HttpConnection conn) {
    Runnable close = () -> conn.close().onComplete(c -> doomed.remove(conn));
    if (req.isEnded()) {
      close.run();
      return;
    }
    try {
      long timer = ctx.vertx().setTimer(LINGER_MILLIS, id -> close.run());
      req.handler(b -> { });
      req.exceptionHandler(t -> { });
      req.endHandler(v -> {
        ctx.vertx().cancelTimer(timer);
        close.run();
      });
      req.resume();
    } catch (IllegalStateException e) {
      close.run();
    }
  }

  // ---------------------------------------------------------------- joining a fill

  /** In a waiter's context: read from the fill if its response is this request's variant, else fetch alone. */
  private void joinOrFetch(Exchange ex, Fill fill) {
    if (ex.clientGone) {
      return;
    }
    Fill.View v = fill.view();
    if (cache.joins(ex.head, v.head(), v.head() == null ? null : v.meta().variant(), ex.target.policy())) {
      startReader(ex, fill, false);
    } else {
      fetch(ex, fill.fwd, null, null);
    }
  }

  /**
   * Answers {@code ex} from {@code fill}: the head now, the body from the cache file as it fills.
   *
   * @param leader whether this request caused the fetch: it gets the origin's header fields as sent;
   *     collapsed requests get the stored ones (without fields a qualified no-cache/private keeps out)
   */
  private void startReader(Exchange ex, Fill fill, boolean leader) {
    Fill.View view = fill.view();
    EntryMeta meta = view.meta();
    long expected = view.expected();
    boolean bodyless = ex.req.method() == HttpMethod.HEAD || meta.status() == 204 || meta.status() == 304;
    // The client's own validators may match what the origin just sent: 304 now, the fill goes on.
    boolean notModified = expected >= 0 && cache.notModified(ex.head, meta.withBody(expected, 0));
    // A single Range is answered from the growing file (RFC 9110 §14): 206 once its bytes are there, 416 now.
    RangeDecision range = cache.fillRange(ex.head, meta, expected);
    if (bodyless || notModified || cache.preconditionFailed(ex.head, meta) || range instanceof RangeDecision.Unsatisfiable) {
      respondFromFill(ex, fill, view, leader, null);
      return;
    }
    TransferPlan plan = planner.forFillReader(ex.req, expected);
    Fill.Reader reader = range instanceof RangeDecision.Partial p
        ? new Fill.Reader(ex, fill, plan.mode(), p.first(), p.first() + p.length())
        : new Fill.Reader(ex, fill, plan.mode());
    fill.addReader(reader, added -> {
      if (!added) {
        // The fill ended (or degraded) between joining and now: its entry is in the index, or not.
        lookupAndServe(ex);
      } else if (ex.clientGone) {
        reader.abandon();
      } else {
        respondFromFill(ex, fill, view, leader, reader);
      }
    });
  }

  /** Writes the head from {@code fill} and, with a {@code reader}, starts its body; without, ends the response. */
  private void respondFromFill(Exchange ex, Fill fill, Fill.View view, boolean leader, Fill.Reader reader) {
    HttpServerResponse resp = ex.resp;
    EntryMeta meta = view.meta();
    long expected = view.expected();
    resp.setStatusCode(meta.status());
    HeaderMaps.copyInto(leader ? view.head().headers() : meta.headers(), resp.headers());
    CacheStatus cs = leader ? view.cs() : CacheStatus.fwd(fill.fwd).param("fwd-status", meta.status()).param("stored").param("collapsed");
    ex.decorate(CacheOutcome.MISS, cs);
    if (!ex.req.isEnded()) {
      ex.req.resume(); // an HTTP/2 request already resumed and ended throws on a second resume()
    }
    if (reader == null) {
      if (cache.preconditionFailed(ex.head, meta)) {
        PreconditionFailed.apply(resp);
      } else if (expected >= 0 && cache.notModified(ex.head, meta.withBody(expected, 0))) {
        resp.setStatusCode(304);
        resp.headers().remove(HttpHeaders.CONTENT_LENGTH);
      } else if (cache.fillRange(ex.head, meta, expected) instanceof RangeDecision.Unsatisfiable u) {
        resp.setStatusCode(416);
        resp.putHeader(HttpHeaders.CONTENT_RANGE, "bytes */" + u.completeLength());
        resp.putHeader(HttpHeaders.CONTENT_LENGTH, "0");
      } else if (expected >= 0) {
        resp.putHeader(HttpHeaders.CONTENT_LENGTH, Long.toString(expected));
      }
      ex.finish(CacheOutcome.MISS, TransferMode.NONE, resp.end());
      return;
    }
    if (reader.to >= 0) {
      resp.setStatusCode(206);
      resp.putHeader(HttpHeaders.CONTENT_RANGE, "bytes " + reader.from + "-" + (reader.to - 1) + "/" + expected);
      resp.putHeader(HttpHeaders.CONTENT_LENGTH, Long.toString(reader.to - reader.from));
    } else if (expected >= 0) {
      resp.putHeader(HttpHeaders.CONTENT_LENGTH, Long.toString(expected));
    } else {
      resp.setChunked(true);
    }
    resp.closeHandler(v -> {
      ex.clientGone = true;
      reader.abandon();
    });
    if (!reader.headWithBody()) {
      resp.writeHead();
    }
    reader.wake(); // runs after this handler returns, on this event loop: the head goes first
  }
}
