package dev.zcproxy.proxy.server;

import static java.util.Objects.requireNonNull;

import dev.zcproxy.cache.CacheKey;
import dev.zcproxy.cache.CacheOutcome;
import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.Headers;
import dev.zcproxy.cache.Lookup;
import dev.zcproxy.cache.RequestHead;
import dev.zcproxy.cache.ResponseHead;
import dev.zcproxy.cache.policy.CachePolicy;
import dev.zcproxy.cache.policy.HopByHop;
import dev.zcproxy.cache.policy.RangeDecision;
import dev.zcproxy.cache.policy.Storability;
import dev.zcproxy.cache.store.DiskStore;
import dev.zcproxy.cache.store.EntryWriter;
import dev.zcproxy.cache.store.OpenEntry;
import dev.zcproxy.proxy.admin.ProxyMetrics;
import dev.zcproxy.proxy.config.ProxyConfig;
import dev.zcproxy.proxy.origin.OriginClient;
import dev.zcproxy.proxy.transfer.BodyTransfer;
import dev.zcproxy.proxy.transfer.TransferMode;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.TooLongFrameException;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import dev.zcproxy.proxy.internal.BodySplice;
import dev.zcproxy.proxy.internal.Splicer;
import dev.zcproxy.proxy.internal.TunnelResult;
import dev.zcproxy.proxy.transfer.Tunnels;
import dev.zcproxy.proxy.internal.ResponseFiles;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one client request through recv → lookup → hit / stale / miss / pass → deliver, asking the
 * {@link CachePolicy} for every decision and acting on it with the store, the origin client and the
 * body transfer.
 *
 * <h2>Design notes</h2>
 * <ul>
 *   <li><b>recv.</b> GET and HEAD are looked up; every other method is forwarded with its body streamed
 *       (PASS) and, on a non-error response, invalidates the URIs the policy names (RFC 9111 §4.4).
 *   <li><b>lookup.</b> {@link CachePolicy#select} chooses among the stored variants of the URI
 *       (RFC 9111 §4.1 Vary, §4.2 freshness, §5.2.1 request directives, RFC 5861).
 *   <li><b>hit.</b> The stored head is written with a current {@code Age} (§5.1), then the body with
 *       sendfile from the entry's file. Conditional requests are answered 304 from the entry (§4.3.2),
 *       a single {@code Range} 206 from the file (RFC 9110 §14). HEAD is answered from a stored GET.
 *   <li><b>stale.</b> The entry is revalidated with its validators (§4.3.1); a 304 updates the stored
 *       headers (§4.3.4) and the entry is served (REVALIDATED); a 5xx or an unreachable origin serves
 *       it stale when stale-if-error allows (RFC 5861 §4); stale-while-revalidate serves it at once and
 *       revalidates once in the background.
 *   <li><b>miss.</b> The request goes to the origin without its conditional and range fields, so the
 *       response is complete and storable; the body streams to the client and into an
 *       {@link EntryWriter}, which publishes it only when the length matches (§3.3: an incomplete
 *       response is never stored as complete). An origin that dies mid-body closes the client
 *       connection, so a short body never looks complete.
 *   <li><b>deliver.</b> Every response carries this proxy's {@code Cache-Status} member (RFC 9211) and
 *       {@code Via}; hop-by-hop fields are never forwarded either way (RFC 9110 §7.6.1).
 * </ul>
 */
public final class ProxyHandler implements Handler<HttpServerRequest> {
  private static final Logger LOG = LoggerFactory.getLogger(ProxyHandler.class);
  private static final String VIA = "1.1 zcproxy";
  /** Pause the origin when this many bytes wait for the disk. */
  private static final long WRITER_HIGH_WATER = 8L << 20;
  private static final long WRITER_LOW_WATER = 2L << 20;
  /** Free disk space kept beyond a spliced fill's length. */
  private static final long SPLICE_DISK_RESERVE = 256L << 20;
  private static final Set<String> CACHE_CONDITIONALS = Set.of("if-none-match", "if-modified-since", "if-range", "range");

  private final Vertx vertx;
  private final CachePolicy policy;
  private final DiskStore store;
  private final OriginClient origin;
  private final BodyTransfer transfer;
  private final ProxyMetrics metrics;
  private final AccessLog accessLog;
  private final LongSupplier clock;
  private final boolean xCache;
  private final boolean preserveHost;
  private final boolean surrogateCapability;
  private final Tunnels tunnels;
  private final boolean websocket;
  private final String originAuthority;
  private final Set<String> backgroundRevalidations = ConcurrentHashMap.newKeySet();
  /** Fetches under way, by primary key, that misses for the same URI join instead of fetching again. */
  private final ConcurrentHashMap<String, Fill> fills = new ConcurrentHashMap<>();
  /** URIs whose last response could not be stored: misses go straight to the origin for a while. */
  private final com.github.benmanes.caffeine.cache.Cache<String, Boolean> hitForPass;
  private final long hitForPassMillis;
  private final boolean coalesce;
  private final boolean sendfileEnabled;
  private final boolean spliceEnabled;
  private final long spliceMinBytes;
  private final long originIdleMillis;
  private final java.util.concurrent.Executor ioExecutor;
  /** Not-storable reasons that come from the response itself, so every request for the URI will get them. */
  private static final Set<String> RESPONSE_REASONS = Set.of("no-store", "private", "status", "no-freshness", "vary-star",
      "too-large", "partial");

  /**
   * @param store the cache, or {@code null} when caching is disabled (everything is PASS)
   * @param clock epoch milliseconds, for HTTP dates and ages
   */
  public ProxyHandler(Vertx vertx, ProxyConfig config, CachePolicy policy, DiskStore store, OriginClient origin,
      BodyTransfer transfer, ProxyMetrics metrics, LongSupplier clock, java.util.concurrent.Executor io) {
    this.ioExecutor = requireNonNull(io, "io");
    this.coalesce = config.cache().coalesce();
    this.sendfileEnabled = config.transfer().sendfile();
    this.spliceEnabled = config.transfer().splice();
    this.spliceMinBytes = config.transfer().spliceMinBytes();
    this.originIdleMillis = config.origin().idleTimeout().toMillis();
    this.hitForPassMillis = config.cache().hitForPass().toMillis();
    this.hitForPass = com.github.benmanes.caffeine.cache.Caffeine.newBuilder()
        .maximumSize(100_000)
        .expireAfterWrite(java.time.Duration.ofMillis(Math.max(1, hitForPassMillis)))
        .ticker(() -> java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(clock.getAsLong()))
        .build();
    this.vertx = requireNonNull(vertx, "vertx");
    this.policy = requireNonNull(policy, "policy");
    this.store = store;
    this.origin = requireNonNull(origin, "origin");
    this.transfer = requireNonNull(transfer, "transfer");
    this.metrics = requireNonNull(metrics, "metrics");
    this.clock = requireNonNull(clock, "clock");
    this.accessLog = new AccessLog(!config.logging().accessLog().equals("off"));
    this.xCache = config.logging().xCacheHeader();
    this.preserveHost = config.origin().preserveHost();
    this.surrogateCapability = config.cache().enabled() && config.cache().surrogateControl();
    this.websocket = config.transfer().websocket();
    this.tunnels = new Tunnels(vertx,
        new Splicer(config.transfer().splice(), config.listen().idleTimeout(), java.time.Duration.ZERO),
        config.origin().url().host(), config.origin().url().port(), java.util.Set.copyOf(config.transfer().connectPorts()),
        (kind, mode, up, down) -> {
          TransferMode m = mode == TunnelResult.Mode.SPLICE ? TransferMode.SPLICE : TransferMode.COPY;
          metrics.response(CacheOutcome.PIPE, m, Math.max(0, up) + Math.max(0, down));
        });
    ProxyConfig.OriginUrl url = config.origin().url();
    boolean defaultPort = url.port() == (url.tls() ? 443 : 80);
    this.originAuthority = defaultPort ? url.host() : url.host() + ":" + url.port();
  }

  // ---------------------------------------------------------------- recv

  @Override
  public void handle(HttpServerRequest req) {
    Exchange ex = new Exchange(req);
    req.pause();
    if (tunnels.isTunnel(req) && (req.method() == HttpMethod.CONNECT || websocket)) {
      // pipe: CONNECT and Upgrade become raw tunnels, spliced both ways where the transport allows.
      tunnels.handle(req);
      return;
    }
    if (store == null) {
      pass(ex, "bypass", "cache-disabled");
      return;
    }
    if (!policy.isLookupMethod(ex.head.method())) {
      pass(ex, "method", null);
      return;
    }
    lookupAndServe(ex);
  }

  /** lookup → hit / stale / miss, for a GET or HEAD (also re-run when a joined fill had already ended). */
  private void lookupAndServe(Exchange ex) {
    Lookup lookup;
    try {
      lookup = policy.select(ex.head, store.variants(ex.primaryKey), clock.getAsLong());
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
          revalidateInBackground(ex.head, stale.entry());
        }
        case REVALIDATE -> fetch(ex, requestNoCache(ex.head) ? "request" : "stale", stale.entry(), null);
      }
    } else if (lookup instanceof Lookup.Miss miss) {
      if (miss.onlyIfCached()) {
        ex.synth(504, CacheStatus.fwd("miss").detail("only-if-cached"), "not in cache (only-if-cached)\n");
      } else if (hitForPass.getIfPresent(ex.primaryKey) != null) {
        pass(ex, miss.detail(), "hit-for-pass");
      } else {
        missFetch(ex, miss.detail());
      }
    }
  }

  /**
   * A miss: joins the fetch already under way for this URI (coalescing), or starts one that later
   * requests can join. Only bodiless GETs coalesce; the rest fetch on their own.
   */
  private void missFetch(Exchange ex, String fwd) {
    if (!coalesce || ex.req.method() != HttpMethod.GET || hasBody(ex.req)) {
      fetch(ex, fwd, null, null);
      return;
    }
    Fill[] created = new Fill[1];
    Fill fill = fills.compute(ex.primaryKey, (k, f) -> f != null && f.joinable() ? f : (created[0] = new Fill(k, fwd)));
    if (fill == created[0]) {
      fetch(ex, fwd, null, fill);
    } else {
      fill.await(ex);
    }
  }

  private static boolean requestNoCache(RequestHead head) {
    for (String d : head.headers().members("cache-control")) {
      if (d.regionMatches(true, 0, "no-cache", 0, 8)) {
        return true;
      }
    }
    return !head.headers().contains("cache-control") && head.headers().members("pragma").stream().anyMatch(p -> p.equalsIgnoreCase("no-cache"));
  }

  // ---------------------------------------------------------------- pass

  private void pass(Exchange ex, String fwd, String detail) {
    MultiMap headers = originRequestHeaders(ex.req, ex.head, false);
    boolean hasBody = hasBody(ex.req);
    long length = contentLength(ex.req.headers());
    metrics.originRequest();
    origin.send(ex.req.method(), ex.req.uri(), headers, hasBody ? ex.req : null, length).onComplete(ar -> {
      if (ar.failed()) {
        ex.originFailed(ar.cause(), fwd);
        return;
      }
      HttpClientResponse cres = ar.result();
      ResponseHead rh = new ResponseHead(cres.statusCode(), HopByHop.strip(HeaderMaps.toHeaders(cres.headers())));
      invalidateAfter(ex.head, rh);
      CacheStatus cs = CacheStatus.fwd(fwd).param("fwd-status", rh.status());
      if (detail != null) {
        cs.detail(detail);
      }
      new Relay(ex, cres, rh, CacheOutcome.PASS, cs).start();
    });
    if (!hasBody) {
      ex.req.resume();
    }
  }

  private void invalidateAfter(RequestHead head, ResponseHead rh) {
    if (store == null) {
      return;
    }
    List<String> keys = policy.invalidations(head, rh);
    for (String k : keys) {
      store.invalidate(k);
    }
  }

  // ---------------------------------------------------------------- miss and revalidation

  /**
   * Fetches from the origin for a miss ({@code stale == null}) or to revalidate {@code stale}.
   *
   * @param fwd the RFC 9211 {@code fwd} reason
   */
  private void fetch(Exchange ex, String fwd, EntryMeta stale, Fill fill) {
    MultiMap headers = originRequestHeaders(ex.req, ex.head, true);
    if (stale != null) {
      HeaderMaps.copyInto(policy.validators(stale), headers);
    }
    boolean hasBody = hasBody(ex.req);
    long requestTime = clock.getAsLong();
    HttpMethod method = ex.req.method();
    metrics.originRequest();
    origin.send(method, ex.req.uri(), headers, hasBody ? ex.req : null, contentLength(ex.req.headers())).onComplete(ar -> {
      if (ar.failed()) {
        if (fill != null) {
          fill.headFailed(ar.cause());
        }
        if (stale != null && policy.staleIfError(ex.head, stale, clock.getAsLong())) {
          metrics.originError();
          deliverStored(ex, stale, CacheOutcome.STALE, CacheStatus.fwd("stale").detail("stale-if-error"));
        } else {
          ex.originFailed(ar.cause(), fwd);
        }
        return;
      }
      onOriginResponse(ex, ar.result(), requestTime, fwd, stale, fill);
    });
    if (!hasBody) {
      ex.req.resume();
    }
  }

  private void onOriginResponse(Exchange ex, HttpClientResponse cres, long requestTime, String fwd, EntryMeta stale, Fill fill) {
    long responseTime = clock.getAsLong();
    int status = cres.statusCode();
    ResponseHead rh = new ResponseHead(status, HopByHop.strip(HeaderMaps.toHeaders(cres.headers())));
    if (stale != null) {
      if (status == 304) {
        cres.end();
        EntryMeta merged = policy.merge304(stale, rh, requestTime, responseTime);
        // Deliver once the index holds the refreshed entry, so the next request is a hit (a small
        // in-place header write on the cache-io pool).
        store.update(stale, merged).whenComplete((m, t) -> ex.context.runOnContext(v -> {
          if (t != null) {
            LOG.debug("could not update stored headers of {}: {}", stale.primaryKey(), t.toString());
          }
          deliverStored(ex, t == null ? m : merged, CacheOutcome.REVALIDATED, CacheStatus.fwd(fwd).param("fwd-status", 304));
        }));
        return;
      }
      if (status >= 500 && policy.staleIfError(ex.head, stale, responseTime)) {
        cres.request().connection().close();
        deliverStored(ex, stale, CacheOutcome.STALE,
            CacheStatus.fwd(fwd).param("fwd-status", status).detail("stale-if-error"));
        return;
      }
    }
    RequestHead head = ex.head;
    Storability storability = policy.storable(head, rh);
    if (storability instanceof Storability.Store s) {
      hitForPass.invalidate(ex.primaryKey);
      EntryMeta meta = new EntryMeta(ex.primaryKey, s.variant(), status, s.headers(), requestTime, responseTime, 0, 0);
      Fill f = fill != null ? fill : new Fill(ex.primaryKey, fwd);
      f.start(cres, rh, meta, CacheStatus.fwd(fwd).param("fwd-status", status).param("stored"));
      startReader(ex, f, true);
      return;
    }
    String reason = ((Storability.DontStore) storability).reason();
    if (fill != null) {
      if (RESPONSE_REASONS.contains(reason) && hitForPassMillis > 0) {
        hitForPass.put(ex.primaryKey, Boolean.TRUE);
      }
      fill.notShared();
    }
    CacheStatus cs = CacheStatus.fwd(fwd).param("fwd-status", status).detail(reason);
    new Relay(ex, cres, rh, CacheOutcome.MISS, cs).start();
  }

  /** stale-while-revalidate: one background revalidation per stored variant at a time. */
  private void revalidateInBackground(RequestHead head, EntryMeta stale) {
    String token = stale.key().hash();
    if (!backgroundRevalidations.add(token)) {
      return;
    }
    MultiMap headers = HttpHeaders.headers();
    HeaderMaps.copyInto(HopByHop.strip(head.headers()), headers);
    CACHE_CONDITIONALS.forEach(headers::remove);
    headers.add("via", VIA);
    addSurrogateCapability(headers);
    HeaderMaps.copyInto(policy.validators(stale), headers);
    long requestTime = clock.getAsLong();
    metrics.originRequest();
    origin.send(HttpMethod.GET, head.pathAndQuery(), headers, null, -1).onComplete(ar -> {
      if (ar.failed()) {
        backgroundRevalidations.remove(token);
        metrics.originError();
        return;
      }
      HttpClientResponse cres = ar.result();
      long responseTime = clock.getAsLong();
      ResponseHead rh = new ResponseHead(cres.statusCode(), HopByHop.strip(HeaderMaps.toHeaders(cres.headers())));
      if (rh.status() == 304) {
        cres.end();
        store.update(stale, policy.merge304(stale, rh, requestTime, responseTime))
            .whenComplete((m, t) -> backgroundRevalidations.remove(token));
        return;
      }
      Storability s = policy.storable(head, rh);
      if (s instanceof Storability.Store st) {
        EntryMeta meta = new EntryMeta(stale.primaryKey(), st.variant(), rh.status(), st.headers(), requestTime, responseTime, 0, 0);
        Fill f = new Fill(stale.primaryKey(), "stale");
        f.onDone = () -> backgroundRevalidations.remove(token);
        f.start(cres, rh, meta, CacheStatus.fwd("stale"));
      } else {
        cres.request().connection().close();
        backgroundRevalidations.remove(token);
      }
    });
  }

  // ---------------------------------------------------------------- deliver from the cache

  private void deliverStored(Exchange ex, EntryMeta entry, CacheOutcome outcome, CacheStatus cs) {
    CompletableFuture<OpenEntry> opening = store.open(entry);
    OpenEntry ready = opening.getNow(null);
    if (ready != null) {
      writeStored(ex, entry, ready, outcome, cs);
      return;
    }
    Future.fromCompletionStage(opening, ex.context).onComplete(ar -> {
      if (ar.succeeded()) {
        writeStored(ex, entry, ar.result(), outcome, cs);
      } else {
        // The file went away under the index (evicted, deleted by hand): drop it and fetch again.
        LOG.debug("stored entry {} could not be opened: {}", entry.primaryKey(), ar.cause().toString());
        store.remove(entry.key());
        fetch(ex, "miss", null, null);
      }
    });
  }

  private void writeStored(Exchange ex, EntryMeta requested, OpenEntry open, CacheOutcome outcome, CacheStatus cs) {
    HttpServerResponse resp = ex.resp;
    // The open file's meta describes its body; headers merged from a 304 may not have reached it yet.
    EntryMeta entry = open.meta();
    if (requested.bodyLength() == entry.bodyLength() && requested.bodyOffset() == entry.bodyOffset()
        && requested.responseTime() > entry.responseTime()) {
      entry = requested;
    }
    if (ex.clientGone) {
      open.close();
      return;
    }
    long now = clock.getAsLong();
    Headers headers = policy.responseHeaders(entry, now);
    resp.setStatusCode(entry.status());
    HeaderMaps.copyInto(headers, resp.headers());
    ex.decorate(outcome, cs);
    ex.req.resume();
    if (policy.notModified(ex.head, entry)) {
      resp.setStatusCode(304);
      resp.headers().remove(HttpHeaders.CONTENT_LENGTH);
      open.close();
      ex.finish(outcome, TransferMode.NONE, resp.end());
      return;
    }
    long offset = entry.bodyOffset();
    long length = entry.bodyLength();
    if (ex.req.method() == HttpMethod.GET) {
      RangeDecision range = policy.range(ex.head, entry);
      if (range instanceof RangeDecision.Partial p) {
        resp.setStatusCode(206);
        resp.putHeader(HttpHeaders.CONTENT_RANGE, p.contentRange());
        offset += p.first();
        length = p.length();
      } else if (range instanceof RangeDecision.Unsatisfiable u) {
        resp.setStatusCode(416);
        resp.putHeader(HttpHeaders.CONTENT_RANGE, "bytes */" + u.completeLength());
        resp.putHeader(HttpHeaders.CONTENT_LENGTH, "0");
        open.close();
        ex.finish(outcome, TransferMode.NONE, resp.end());
        return;
      }
    }
    resp.putHeader(HttpHeaders.CONTENT_LENGTH, Long.toString(length));
    if (ex.req.method() == HttpMethod.HEAD || entry.status() == 204 || entry.status() == 304) {
      open.close();
      ex.finish(outcome, TransferMode.NONE, resp.end());
      return;
    }
    TransferMode mode = transfer.modeFor(resp, ex.req.isSSL(), ex.req.version() == HttpVersion.HTTP_2);
    ex.bodyBytes = length;
    Future<Void> sent = transfer.send(resp, mode, open.channel(), offset, length);
    sent.onComplete(ar -> open.close());
    ex.finish(outcome, mode, sent);
  }

  // ---------------------------------------------------------------- helpers

  private MultiMap originRequestHeaders(HttpServerRequest req, RequestHead head, boolean forCache) {
    MultiMap m = HttpHeaders.headers();
    HeaderMaps.copyInto(HopByHop.strip(head.headers()), m);
    m.remove(HttpHeaders.EXPECT);
    if (forCache) {
      CACHE_CONDITIONALS.forEach(m::remove);
    }
    if (!preserveHost || !m.contains(HttpHeaders.HOST)) {
      m.set(HttpHeaders.HOST, originAuthority);
    }
    String via = m.get("via");
    m.set("via", via == null ? VIA : via + ", " + VIA);
    String client = req.remoteAddress() == null ? null : req.remoteAddress().hostAddress();
    if (client != null) {
      String xff = m.get("x-forwarded-for");
      m.set("x-forwarded-for", xff == null ? client : xff + ", " + client);
    }
    if (!m.contains("x-forwarded-proto")) {
      m.set("x-forwarded-proto", req.isSSL() ? "https" : "http");
    }
    if (!m.contains("x-forwarded-host") && head.authority() != null) {
      m.set("x-forwarded-host", head.authority());
    }
    addSurrogateCapability(m);
    return m;
  }

  /** Announces this cache as a surrogate, so the origin may target {@code Surrogate-Control} at it. */
  private void addSurrogateCapability(MultiMap m) {
    if (surrogateCapability) {
      String mine = CachePolicy.SURROGATE_DEVICE + "=\"Surrogate/1.0\"";
      String existing = m.get("surrogate-capability");
      m.set("surrogate-capability", existing == null ? mine : existing + ", " + mine);
    }
  }

  private static boolean hasBody(HttpServerRequest req) {
    String te = req.getHeader(HttpHeaders.TRANSFER_ENCODING);
    if (te != null) {
      return true;
    }
    long cl = contentLength(req.headers());
    return cl > 0;
  }

  private static long contentLength(MultiMap headers) {
    String cl = headers.get(HttpHeaders.CONTENT_LENGTH);
    if (cl == null) {
      return -1;
    }
    try {
      return Long.parseLong(cl.trim());
    } catch (NumberFormatException e) {
      return -1;
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
        String msg = String.valueOf(cause.getMessage()).toLowerCase();
        if (msg.contains("header")) {
          status = 431;
          why = "request header section too large";
        } else {
          status = 414;
          why = "request line too long";
        }
      }
      HttpServerResponse resp = req.response();
      resp.setStatusCode(status)
          .putHeader(HttpHeaders.CONNECTION, "close")
          .putHeader(HttpHeaders.CONTENT_TYPE, "text/plain; charset=utf-8")
          .putHeader("cache-status", CacheStatus.fwd("bypass").detail("bad-request").toString());
      resp.end(status + " " + why + "\n").onComplete(v -> req.connection().close());
      accessLog.log(remote(req), String.valueOf(req.method()), String.valueOf(req.uri()), String.valueOf(req.version()),
          status, 0, 0, CacheOutcome.SYNTH, TransferMode.NONE);
    };
  }

  private static String remote(HttpServerRequest req) {
    return req.remoteAddress() == null ? "-" : req.remoteAddress().hostAddress();
  }

  // ---------------------------------------------------------------- per-request state

  /** One client request/response pair and what happened to it. */
  private final class Exchange {
    final HttpServerRequest req;
    final HttpServerResponse resp;
    final RequestHead head;
    final String primaryKey;
    final Context context;
    final long startNanos = System.nanoTime();
    long bodyBytes;
    boolean clientGone;
    boolean finished;

    Exchange(HttpServerRequest req) {
      this.req = req;
      this.resp = req.response();
      this.context = vertx.getOrCreateContext();
      String authority = req.getHeader(HttpHeaders.HOST);
      if (authority == null || authority.isBlank()) {
        authority = req.authority() != null
            ? req.authority().host() + (req.authority().port() >= 0 ? ":" + req.authority().port() : "")
            : originAuthority;
      }
      this.head = new RequestHead(req.method().name(), req.isSSL() ? "https" : "http", authority, req.uri(),
          HeaderMaps.toHeaders(req.headers()));
      this.primaryKey = CacheKey.primaryOf(head);
      resp.closeHandler(v -> clientGone = true);
    }

    /** Adds Via, Cache-Status and X-Cache to the response head. */
    void decorate(CacheOutcome outcome, CacheStatus cs) {
      MultiMap h = resp.headers();
      String via = h.get("via");
      h.set("via", via == null ? VIA : via + ", " + VIA);
      h.set("cache-status", cs.appendTo(String.join(", ", h.getAll("cache-status"))));
      if (xCache) {
        h.set("x-cache", outcome.name());
      }
    }

    void synth(int status, CacheStatus cs, String body) {
      req.resume();
      resp.setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, "text/plain; charset=utf-8");
      decorate(CacheOutcome.SYNTH, cs);
      bodyBytes = body.length();
      finish(CacheOutcome.SYNTH, TransferMode.COPY, resp.end(body));
    }

    void originFailed(Throwable cause, String fwd) {
      metrics.originError();
      boolean timeout = OriginClient.isTimeout(cause);
      int status = timeout ? 504 : 502;
      String detail = timeout ? "origin-timeout" : "origin-unreachable";
      LOG.debug("origin request for {} failed: {}", head.uri(), cause.toString());
      if (resp.headWritten() || clientGone) {
        resp.reset();
        return;
      }
      synth(status, CacheStatus.fwd(fwd).detail(detail),
          status + (timeout ? " origin timed out\n" : " origin unreachable\n"));
    }

    void finish(CacheOutcome outcome, TransferMode mode, Future<Void> sent) {
      sent.onComplete(ar -> {
        if (finished) {
          return;
        }
        finished = true;
        long bytes = ar.succeeded() ? bodyBytes : 0;
        metrics.response(outcome, mode, bytes);
        accessLog.log(remote(req), req.method().name(), req.uri(), versionName(req.version()), resp.getStatusCode(),
            bytes, (System.nanoTime() - startNanos) / 1000, outcome, mode);
      });
    }
  }

  private static String versionName(HttpVersion v) {
    return v == HttpVersion.HTTP_1_0 ? "HTTP/1.0" : v == HttpVersion.HTTP_2 ? "HTTP/2" : "HTTP/1.1";
  }

  // ---------------------------------------------------------------- pass-through of an origin body

  /**
   * Streams an origin response that is not stored straight to the client, with back-pressure; an
   * origin that dies mid-body closes the client connection.
   */
  private final class Relay {
    final Exchange ex;
    final HttpClientResponse cres;
    final ResponseHead head;
    final CacheOutcome outcome;
    final CacheStatus cs;
    final long expected;
    boolean clientAttached;
    long received;

    Relay(Exchange ex, HttpClientResponse cres, ResponseHead head, CacheOutcome outcome, CacheStatus cs) {
      this.ex = ex;
      this.cres = cres;
      this.head = head;
      this.outcome = outcome;
      this.cs = cs;
      this.expected = contentLength(cres.headers());
      this.clientAttached = !ex.clientGone;
    }

    boolean splicing;
    boolean ended;
    final List<Future<Void>> prefixWrites = new java.util.ArrayList<>();

    void start() {
      if (clientAttached) {
        writeClientHead();
      }
      boolean bodyless = ex.req.method() == HttpMethod.HEAD || head.status() == 204 || head.status() == 304;
      String whyNot = !spliceEnabled ? "disabled" : bodyless || expected < 0 || expected < spliceMinBytes ? "small or unknown length"
          : BodySplice.whyNotToClient(cres, ex.req);
      if (clientAttached && whyNot == null) {
        startSplice();
        return;
      }
      cres.handler(this::onData);
      cres.exceptionHandler(this::onOriginError);
      cres.endHandler(v -> onEnd());
      ex.resp.closeHandler(v -> {
        ex.clientGone = true;
        if (clientAttached) {
          clientAttached = false;
          cres.request().reset(); // nothing to keep: stop the origin transfer
        }
      });
    }

    /**
     * Pass-through by splice(2): the head and whatever Vert.x already decoded are written normally;
     * the rest goes origin socket → client socket in the kernel. The origin connection is closed
     * afterwards (its HTTP decoder never saw the body).
     */
    private void startSplice() {
      prefixWrites.add(ex.resp.writeHead());
      cres.handler(buf -> {
        received += buf.length();
        ex.bodyBytes += buf.length();
        prefixWrites.add(ex.resp.write(buf));
      });
      cres.exceptionHandler(t -> {
        if (!splicing) {
          onOriginError(t);
        }
      });
      cres.endHandler(v -> {
        ended = true;
        if (!splicing) {
          onEnd();
        }
      });
      ex.resp.closeHandler(v -> ex.clientGone = true);
      BodySplice.holdOrigin(cres);
      ex.context.runOnContext(v -> {
        if (ended || !clientAttached) {
          return; // the whole body came with the head, or the origin failed already
        }
        splicing = true;
        long remaining = expected - received;
        Future.all(prefixWrites).onComplete(w -> {
          if (w.failed() || ex.clientGone) {
            cres.request().connection().close();
            ex.finish(outcome, TransferMode.SPLICE, ex.resp.reset().flatMap(x -> Future.failedFuture("client gone")));
            return;
          }
          BodySplice.toClient(cres, ex.req, remaining, originIdleMillis).onComplete(ar -> {
            if (ar.succeeded()) {
              ex.bodyBytes += remaining;
              ex.finish(outcome, TransferMode.SPLICE, ex.resp.end());
            } else {
              metrics.originError();
              LOG.debug("spliced body for {} failed: {}", ex.head.uri(), ar.cause().toString());
              ex.finish(outcome, TransferMode.SPLICE, ex.resp.reset().flatMap(x -> Future.failedFuture(ar.cause())));
            }
          });
        });
      });
    }

    private void writeClientHead() {
      HttpServerResponse resp = ex.resp;
      resp.setStatusCode(head.status());
      if (cres.statusMessage() != null) {
        resp.setStatusMessage(cres.statusMessage());
      }
      HeaderMaps.copyInto(head.headers(), resp.headers());
      ex.decorate(outcome, cs);
      boolean bodyless = ex.req.method() == HttpMethod.HEAD || head.status() == 204 || head.status() == 304;
      if (!bodyless && expected < 0) {
        resp.setChunked(true);
      }
    }

    private void onData(Buffer buf) {
      received += buf.length();
      if (!clientAttached) {
        return;
      }
      HttpServerResponse resp = ex.resp;
      resp.write(buf);
      ex.bodyBytes += buf.length();
      if (resp.writeQueueFull()) {
        cres.pause();
        resp.drainHandler(v -> cres.resume());
      }
    }

    private void onEnd() {
      if (!clientAttached) {
        return;
      }
      boolean complete = expected < 0 || received == expected;
      ex.finish(outcome, TransferMode.COPY, complete ? ex.resp.end() : ex.resp.reset().flatMap(v -> Future.failedFuture("truncated")));
    }

    private void onOriginError(Throwable t) {
      metrics.originError();
      LOG.debug("origin body for {} failed after {} bytes: {}", ex.head.uri(), received, t.toString());
      if (clientAttached) {
        clientAttached = false;
        // Close the connection: a short body must never look complete.
        ex.finish(outcome, TransferMode.COPY, ex.resp.reset().flatMap(v -> Future.failedFuture(t)));
      }
    }
  }

  // ---------------------------------------------------------------- fills: one fetch, many readers

  /**
   * One origin fetch of a storable response, written once into a cache file and read by every client
   * that wants it, the first included, from that file as the bytes land (sendfile of each newly
   * written range). A slow reader never slows the fetch; the fetch goes on when readers leave.
   *
   * <p>Thread-safety: readers live on their own event loops, progress arrives on the cache-io pool;
   * the shared state is guarded by this object's lock and readers are woken on their own context.
   */
  private final class Fill {
    final String key;
    final String fwd;
    Runnable onDone = () -> {};
    // Before the head: requests waiting to join.
    private final List<Exchange> waiters = new java.util.ArrayList<>();
    private boolean headKnown;
    private boolean shared = true;
    private Throwable headFailure;
    // After the head.
    ResponseHead head;
    EntryMeta meta;
    CacheStatus cs;
    long expected;
    private EntryWriter writer;
    private HttpClientResponse cres;
    private Context originContext;
    private final List<Reader> readers = new java.util.ArrayList<>();
    private java.nio.channels.FileChannel channel;
    private boolean channelClosed;
    private long onDisk;
    private long received;
    private boolean complete;
    private boolean failed;
    private boolean pausedForDisk;
    /**
     * Body chunks not yet confirmed on disk, oldest first, starting at body offset {@code tailStart}.
     * If the disk write fails they are what keeps the readers going: the fill then degrades to
     * a pass-through fed from this tail (nothing is stored, no client sees an error).
     */
    private final java.util.ArrayDeque<Buffer> tail = new java.util.ArrayDeque<>();
    private long tailStart;
    private long tailBytes;
    private boolean degraded;
    /** Once degraded: body bytes readable from the file (the rest comes from the tail). */
    private long diskEnd;
    private boolean pausedForReaders;

    Fill(String key, String fwd) {
      this.key = key;
      this.fwd = fwd;
    }

    /** Whether a new request may still join (the fetch has not failed, ended or turned out unshareable). */
    synchronized boolean joinable() {
      return shared && !failed && !degraded && !channelClosed && headFailure == null;
    }

    /** Queues {@code ex} until the head is known, or joins it now. */
    void await(Exchange ex) {
      metrics.collapsed();
      synchronized (this) {
        if (!headKnown) {
          waiters.add(ex);
          return;
        }
      }
      ex.context.runOnContext(v -> joinOrFetch(ex, this));
    }

    /** The fetch failed before a head arrived: the waiters get the same answer. */
    void headFailed(Throwable cause) {
      List<Exchange> w;
      synchronized (this) {
        headKnown = true;
        headFailure = cause;
        w = List.copyOf(waiters);
        waiters.clear();
      }
      fills.remove(key, this);
      for (Exchange e : w) {
        e.context.runOnContext(v -> e.originFailed(cause, fwd));
      }
    }

    /** The response may not be stored: every waiter fetches on its own. */
    void notShared() {
      List<Exchange> w;
      synchronized (this) {
        headKnown = true;
        shared = false;
        w = List.copyOf(waiters);
        waiters.clear();
      }
      fills.remove(key, this);
      for (Exchange e : w) {
        e.context.runOnContext(v -> pass(e, fwd, "hit-for-pass"));
      }
    }

    /** Starts writing the body into the store; releases the waiters to join as readers. */
    void start(HttpClientResponse cres, ResponseHead head, EntryMeta meta, CacheStatus cs) {
      this.cres = cres;
      this.originContext = vertx.getOrCreateContext();
      long expectedLength = contentLength(cres.headers());
      boundVariants(meta);
      EntryWriter w = store.newWriter(meta, expectedLength);
      List<Exchange> released;
      synchronized (this) {
        this.head = head;
        this.meta = meta;
        this.cs = cs;
        this.expected = expectedLength;
        this.writer = w;
        headKnown = true;
        released = List.copyOf(waiters);
        waiters.clear();
      }
      w.onProgress(this::onProgress);
      String whyNot = !spliceEnabled ? "disabled" : expectedLength < 0 || expectedLength < spliceMinBytes ? "small or unknown length"
          // A write error under splice loses the bytes in flight, so splice only with room to spare;
          // the copy fill keeps what is not on disk yet and degrades to a pass-through instead.
          : expectedLength > store.usableBytes() - SPLICE_DISK_RESERVE ? "disk nearly full"
          : BodySplice.whyNotToFile(cres, w.bodyOffset(), expectedLength);
      if (whyNot == null) {
        spliceFill(cres, w, released);
        return;
      }
      w.onFailure(t -> originContext.runOnContext(v -> degrade()));
      cres.handler(buf -> {
        boolean isDegraded;
        synchronized (this) {
          received += buf.length();
          tail.add(buf);
          tailBytes += buf.length();
          isDegraded = degraded;
        }
        if (isDegraded) {
          wakeReaders();
          if (tailBytes > WRITER_HIGH_WATER && !pausedForReaders) {
            pausedForReaders = true;
            cres.pause();
          }
          return;
        }
        w.write(ByteBuffer.wrap(buf.getBytes()));
        if (w.pendingBytes() > WRITER_HIGH_WATER && !pausedForDisk) {
          pausedForDisk = true;
          cres.pause();
        }
      });
      cres.exceptionHandler(t -> {
        metrics.originError();
        LOG.debug("origin body for {} failed after {} bytes: {}", key, received, t.toString());
        w.abort();
        finished(false);
      });
      cres.endHandler(v -> {
        if (expected >= 0 && received != expected) {
          w.abort();
          finished(false);
          return;
        }
        if (degradedNow()) {
          passedThrough();
          return;
        }
        metrics.filled(TransferMode.COPY, received);
        commitOrAbort(w);
      });
      for (Exchange e : released) {
        e.context.runOnContext(v -> joinOrFetch(e, this));
      }
    }

    /**
     * Fill by splice(2): what Vert.x already decoded goes through the writer; the rest moves origin
     * socket → cache file in the kernel, 1 MiB at a time, each finished chunk reported to the writer
     * (and so to the readers). The origin connection is closed afterwards.
     */
    private void spliceFill(HttpClientResponse cres, EntryWriter w, List<Exchange> released) {
      boolean[] splicing = {false};
      boolean[] ended = {false};
      cres.handler(buf -> {
        received += buf.length();
        w.write(ByteBuffer.wrap(buf.getBytes()));
      });
      cres.exceptionHandler(t -> {
        if (!splicing[0] && !ended[0]) {
          metrics.originError();
          w.abort();
          finished(false);
        }
      });
      cres.endHandler(v -> {
        ended[0] = true;
        if (!splicing[0]) {
          commitOrAbort(w); // the whole body came with the head
        }
      });
      BodySplice.holdOrigin(cres);
      originContext.runOnContext(v -> {
        if (ended[0] || failed) {
          return;
        }
        splicing[0] = true;
        long remaining = expected - received;
        w.externalTarget().whenComplete((fc, t) -> originContext.runOnContext(x -> {
          if (t != null) {
            cres.request().connection().close();
            finished(false);
            return;
          }
          BodySplice.toFile(cres, fc, w.bodyOffset() + received, remaining, originIdleMillis, w::externalWritten)
              .onComplete(ar -> {
                if (ar.succeeded()) {
                  metrics.filled(TransferMode.SPLICE, remaining);
                  commitOrAbort(w);
                } else {
                  metrics.originError();
                  LOG.debug("spliced fill of {} failed: {}", key, ar.cause().toString());
                  w.abort();
                  finished(false);
                }
              });
        }));
      });
      for (Exchange e : released) {
        e.context.runOnContext(v -> joinOrFetch(e, this));
      }
    }

    private void commitOrAbort(EntryWriter w) {
      w.commit().whenComplete((m, t) -> {
        if (t == null) {
          synchronized (this) {
            this.meta = m;
            this.expected = m.bodyLength();
          }
          metrics.stored();
        } else {
          LOG.debug("not stored: {}: {}", key, t.toString());
        }
        finished(t == null);
      });
    }

    /** Body bytes on disk: called on the cache-io pool after each chunk. */
    private void onProgress(long bytesOnDisk) {
      synchronized (this) {
        if (channel == null && !channelClosed && !failed && Files.exists(writer.tempPath())) {
          try {
            channel = java.nio.channels.FileChannel.open(writer.tempPath(), java.nio.file.StandardOpenOption.READ);
          } catch (java.io.IOException e) {
            LOG.debug("could not open the filling file of {}: {}", key, e.toString());
          }
        }
        onDisk = bytesOnDisk;
        if (!degraded) {
          while (!tail.isEmpty() && tailStart + tail.peekFirst().length() <= bytesOnDisk) {
            Buffer b = tail.pollFirst();
            tailStart += b.length();
            tailBytes -= b.length();
          }
        }
      }
      wakeReaders();
      if (pausedForDisk) {
        originContext.runOnContext(v -> {
          if (pausedForDisk && writer.pendingBytes() < WRITER_LOW_WATER) {
            pausedForDisk = false;
            cres.resume();
          }
        });
      }
    }

    private void finished(boolean ok) {
      // Leave the registry first: a request arriving from now on finds the published entry in the
      // index (ok) or starts a new fetch (failed).
      fills.remove(key, this);
      synchronized (this) {
        if (ok) {
          complete = true;
        } else {
          failed = true;
        }
      }
      if (!ok) {
        metrics.storeFailure();
      }
      wakeReaders();
      maybeCloseChannel();
      onDone.run();
    }

    private synchronized boolean degradedNow() {
      return degraded;
    }

    /**
     * The cache file could not be written (a full disk, an I/O error): from now on the readers are fed
     * from the tail of bytes not confirmed on disk, and later origin bytes, like a pass-through.
     * Nothing is stored. On the origin's context.
     */
    private void degrade() {
      synchronized (this) {
        if (degraded || complete || failed) {
          return;
        }
        degraded = true;
        diskEnd = onDisk;
      }
      fills.remove(key, this);
      metrics.storeFailure();
      if (pausedForDisk) {
        pausedForDisk = false;
        cres.resume();
      }
      wakeReaders();
    }

    /** A degraded fill got its whole body: readers finish from the tail; nothing was stored. */
    private void passedThrough() {
      synchronized (this) {
        complete = true;
        meta = meta.withBody(received, 0);
      }
      wakeReaders();
      maybeCloseChannel();
      onDone.run();
    }

    /**
     * Bytes of the tail from body offset {@code from} on, or {@code null} when there are none yet;
     * throws when {@code from} was already trimmed away.
     */
    synchronized Buffer tailFrom(long from) {
      if (from < tailStart) {
        throw new IllegalStateException("reader fell behind the retained tail");
      }
      long pos = tailStart;
      Buffer out = null;
      for (Buffer b : tail) {
        long end = pos + b.length();
        if (end > from) {
          Buffer part = from > pos ? b.slice((int) (from - pos), b.length()) : b;
          if (out == null) {
            out = Buffer.buffer((int) Math.min(Integer.MAX_VALUE, received - from));
          }
          out.appendBuffer(part);
          if (out.length() >= 256 * 1024) {
            break;
          }
        }
        pos = end;
      }
      return out;
    }

    /** Drops tail bytes every reader has sent; resumes the origin when the tail is short again. */
    void trimTail() {
      boolean resume;
      synchronized (this) {
        long min = received;
        for (Reader r : readers) {
          min = Math.min(min, r.sent);
        }
        while (!tail.isEmpty() && tailStart + tail.peekFirst().length() <= min) {
          Buffer b = tail.pollFirst();
          tailStart += b.length();
          tailBytes -= b.length();
        }
        resume = pausedForReaders && tailBytes < WRITER_LOW_WATER;
        if (resume) {
          pausedForReaders = false;
        }
      }
      if (resume) {
        originContext.runOnContext(v -> cres.resume());
      }
    }

    private void wakeReaders() {
      List<Reader> rs;
      synchronized (this) {
        rs = List.copyOf(readers);
      }
      for (Reader r : rs) {
        r.wake();
      }
    }

    /** Adds a reader; false when the fill already ended and let go of its file. */
    synchronized boolean addReader(Reader r) {
      if (channelClosed) {
        return false;
      }
      readers.add(r);
      return true;
    }

    void removeReader(Reader r) {
      synchronized (this) {
        readers.remove(r);
      }
      maybeCloseChannel();
    }

    private void maybeCloseChannel() {
      java.nio.channels.FileChannel toClose = null;
      synchronized (this) {
        if ((complete || failed) && readers.isEmpty() && !channelClosed) {
          channelClosed = true;
          toClose = channel;
        }
      }
      if (toClose != null) {
        java.nio.channels.FileChannel c = toClose;
        ioExecutor.execute(() -> {
          try {
            c.close();
          } catch (java.io.IOException ignored) {
            // nothing to do
          }
        });
      }
    }
  }

  /**
   * Keeps at most {@code cache.max-variants} variants per URI (RFC 9111 §4.1 lets a cache choose):
   * before a new variant is stored, the least recently received ones beyond the bound go.
   */
  private void boundVariants(EntryMeta incoming) {
    List<EntryMeta> stored = store.variants(incoming.primaryKey());
    int max = policy.config().maxVariants();
    List<EntryMeta> others = new java.util.ArrayList<>();
    for (EntryMeta m : stored) {
      if (!m.variant().equals(incoming.variant())) {
        others.add(m);
      }
    }
    if (others.size() < max) {
      return;
    }
    others.sort(java.util.Comparator.comparingLong(EntryMeta::responseTime));
    for (int i = 0; i <= others.size() - max; i++) {
      store.remove(others.get(i).key());
    }
  }

  /** In a waiter's context: read from the fill if its response is this request's variant, else fetch alone. */
  private void joinOrFetch(Exchange ex, Fill fill) {
    if (ex.clientGone) {
      return;
    }
    Storability mine = policy.storable(ex.head, fill.head);
    if (mine instanceof Storability.Store s && s.variant().equals(fill.meta.variant())) {
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
    HttpServerResponse resp = ex.resp;
    EntryMeta meta;
    long expected;
    synchronized (fill) {
      meta = fill.meta;
      expected = fill.expected;
    }
    boolean bodyless = ex.req.method() == HttpMethod.HEAD || meta.status() == 204 || meta.status() == 304;
    // The client's own validators may match what the origin just sent: 304 now, the fill goes on.
    boolean notModified = expected >= 0 && policy.notModified(ex.head, meta.withBody(expected, 0));
    boolean sendfile = sendfileEnabled && expected >= 0 && ResponseFiles.canSendRanges(ex.req);
    Reader reader = bodyless || notModified ? null : new Reader(ex, fill, sendfile ? TransferMode.SENDFILE : TransferMode.COPY);
    if (reader != null && !fill.addReader(reader)) {
      // The fill ended and let go of its file between joining and now: its entry is in the index.
      lookupAndServe(ex);
      return;
    }
    resp.setStatusCode(meta.status());
    HeaderMaps.copyInto(leader ? fill.head.headers() : meta.headers(), resp.headers());
    CacheStatus cs = leader ? fill.cs : CacheStatus.fwd(fill.fwd).param("fwd-status", meta.status()).param("stored").param("collapsed");
    ex.decorate(CacheOutcome.MISS, cs);
    ex.req.resume();
    if (reader == null) {
      if (notModified) {
        resp.setStatusCode(304);
        resp.headers().remove(HttpHeaders.CONTENT_LENGTH);
      } else if (expected >= 0) {
        resp.putHeader(HttpHeaders.CONTENT_LENGTH, Long.toString(expected));
      }
      ex.finish(CacheOutcome.MISS, TransferMode.NONE, resp.end());
      return;
    }
    if (expected >= 0) {
      resp.putHeader(HttpHeaders.CONTENT_LENGTH, Long.toString(expected));
    } else {
      resp.setChunked(true);
    }
    resp.closeHandler(v -> {
      ex.clientGone = true;
      reader.abandon();
    });
    resp.writeHead();
    reader.wake(); // runs after this handler returns, on this event loop: the head goes first
  }

  /** One client reading a fill's file: sends each newly written range, ends once the entry is complete. */
  private final class Reader {
    final Exchange ex;
    final Fill fill;
    final TransferMode mode;
    volatile long sent;
    boolean sending;
    boolean done;

    Reader(Exchange ex, Fill fill, TransferMode mode) {
      this.ex = ex;
      this.fill = fill;
      this.mode = mode;
    }

    void wake() {
      ex.context.runOnContext(v -> pump());
    }

    void abandon() {
      if (!done) {
        done = true;
        fill.removeReader(this);
      }
    }

    private void pump() {
      if (done || sending) {
        return;
      }
      long avail;
      long total;
      boolean complete;
      boolean failed;
      java.nio.channels.FileChannel ch;
      long bodyOffset;
      synchronized (fill) {
        avail = fill.onDisk;
        total = fill.complete ? fill.meta.bodyLength() : -1;
        complete = fill.complete;
        failed = fill.failed;
        ch = fill.channel;
        bodyOffset = fill.writer.bodyOffset();
      }
      boolean degraded;
      long diskEnd;
      long received;
      synchronized (fill) {
        degraded = fill.degraded;
        diskEnd = fill.diskEnd;
        received = fill.received;
        if (degraded) {
          avail = Math.min(avail, diskEnd);
        }
      }
      if (!failed && degraded && sent >= diskEnd) {
        pumpTail(complete, received);
        return;
      }
      if (failed) {
        // Never a short body that looks complete: close the connection.
        done = true;
        fill.removeReader(this);
        ex.finish(CacheOutcome.MISS, mode, ex.resp.reset().flatMap(v -> Future.failedFuture("origin body incomplete")));
        return;
      }
      if (sent < avail && ch != null) {
        long n = avail - sent;
        sending = true;
        Future<Void> f = mode == TransferMode.SENDFILE
            ? ResponseFiles.sendRange(ex.req, ch, bodyOffset + sent, n)
            : copyRange(ch, bodyOffset + sent, n);
        f.onComplete(ar -> ex.context.runOnContext(v -> {
          sending = false;
          if (ar.failed()) {
            abandon();
            ex.finish(CacheOutcome.MISS, mode, ex.resp.reset().flatMap(x -> Future.failedFuture(ar.cause())));
            return;
          }
          sent += n;
          ex.bodyBytes = sent;
          pump();
        }));
        return;
      }
      if (complete && sent >= total) {
        done = true;
        fill.removeReader(this);
        ex.finish(CacheOutcome.MISS, mode, ex.resp.end());
      }
    }

    /** After the disk failed: sends what the fill kept in memory, then ends when the origin body ended. */
    private void pumpTail(boolean complete, long received) {
      Buffer next;
      try {
        next = fill.tailFrom(sent);
      } catch (IllegalStateException e) {
        abandon();
        ex.finish(CacheOutcome.MISS, mode, ex.resp.reset().flatMap(x -> Future.failedFuture(e)));
        return;
      }
      if (next == null) {
        if (complete && sent >= received) {
          done = true;
          fill.removeReader(this);
          ex.finish(CacheOutcome.MISS, mode, ex.resp.end());
        }
        return;
      }
      sending = true;
      int n = next.length();
      ex.resp.write(next).onComplete(ar -> {
        sending = false;
        if (ar.failed()) {
          abandon();
          return;
        }
        sent += n;
        ex.bodyBytes = sent;
        fill.trimTail();
        pump();
      });
    }

    /** The portable path: reads the range on the cache-io pool, writes it with back-pressure. */
    private Future<Void> copyRange(java.nio.channels.FileChannel ch, long offset, long length) {
      io.vertx.core.Promise<Void> done = io.vertx.core.Promise.promise();
      long chunk = Math.min(length, 256 * 1024);
      ioExecutor.execute(() -> {
        try {
          ByteBuffer bb = ByteBuffer.allocate((int) chunk);
          while (bb.hasRemaining()) {
            int r = ch.read(bb, offset + bb.position());
            if (r < 0) {
              throw new java.io.EOFException("cache file shorter than written");
            }
          }
          ex.context.runOnContext(v -> {
            ex.resp.write(Buffer.buffer(bb.array()));
            if (chunk < length) {
              // Send the rest in the next pump, after this chunk.
              sent -= (length - chunk);
            }
            if (ex.resp.writeQueueFull()) {
              ex.resp.drainHandler(x -> done.tryComplete());
            } else {
              done.tryComplete();
            }
          });
        } catch (java.io.IOException e) {
          done.tryFail(e);
        }
      });
      return done.future();
    }
  }
}
