package dev.zcproxy.proxy.server;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.zcproxy.cache.CacheOutcome;
import dev.zcproxy.cache.Headers;
import dev.zcproxy.cache.RequestHead;
import dev.zcproxy.cache.policy.CacheStatus;
import dev.zcproxy.cache.policy.HopByHop;
import dev.zcproxy.proxy.config.ProxyConfig;
import dev.zcproxy.proxy.internal.FrontPass;
import dev.zcproxy.proxy.internal.PassChannels;
import dev.zcproxy.proxy.origin.OriginClient;
import dev.zcproxy.proxy.origin.OriginPool;
import dev.zcproxy.proxy.origin.OriginServer;
import dev.zcproxy.proxy.transfer.TransferMode;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpHeaders;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.Map;

/**
 * The proxy's side of {@link FrontPass}: passes a plain GET for a key marked hit-for-pass (whose last response was
 * framed by a Content-Length below the splice threshold) to its site's only server, a plain-HTTP one with no
 * request limit, in front of Vert.x, with the bytes the normal path ({@code ProxyHandler.pass} and {@link Relay})
 * sends: the same origin request fields, the same client head (hop-by-hop fields removed, {@code Via},
 * {@code Cache-Status} with the pass member), the same 502/504 when the origin fails, counted and logged as
 * {@link Exchange#finish} does for a PASS. Anything else answers {@code null}: the normal path.
 *
 * <p>Shared by the event loops; each pass's state ({@code One}) is its client connection's loop's.
 */
final class FrontPasses {
  /** What the pass takes from {@code ProxyHandler}: the origin request's fields and the pass member. */
  interface Normal {
    /** The fields the normal path sends the origin for {@code head} from {@code client} on local port {@code port}. */
    MultiMap originFields(String client, int localPort, RequestHead head);

    /** The pass's {@code Cache-Status} member. */
    CacheStatus passStatus(String fwd, int status, String detail);
  }

  private final HandlerContext ctx;
  private final Coalescer coalescer;
  private final Normal normal;
  /** Bodies from this length are spliced by the normal path: not passed here. */
  private final long spliceMinBytes;
  /** Each server's connections for the configuration they were made with; weak: a reload's servers replace them. */
  private final Cache<OriginServer, Channels> channels = Caffeine.newBuilder().weakKeys().build();

  private record Channels(ProxyConfig.Origin config, ProxyConfig.OriginUrl url, PassChannels pool) {}

  /** @param spliceMinBytes the body length from which the normal path splices ({@code Long.MAX_VALUE}: never) */
  FrontPasses(HandlerContext ctx, Coalescer coalescer, Normal normal, long spliceMinBytes) {
    this.ctx = ctx;
    this.coalescer = coalescer;
    this.normal = normal;
    this.spliceMinBytes = spliceMinBytes;
  }

  /** Whether a pass response with this status and Content-Length ({@code -1}: none) may be passed here next time. */
  boolean relayable(int status, long contentLength) {
    return status >= 200 && status != 206 && contentLength >= 0 && contentLength < spliceMinBytes;
  }

  /**
   * The pass for a GET that missed with no stored variant ({@code fwd}: the miss's reason), or {@code null} when
   * it is not one for this path.
   */
  FrontPass answer(HttpConnection conn, String uri, RequestHead head, SiteRouter.Target target, String primaryKey,
      String fwd, long startNanos) {
    if (!coalescer.frontPassable(primaryKey)) {
      return null;
    }
    OriginPool pool = target.pool();
    OriginServer server = pool.direct();
    if (server == null) {
      return null;
    }
    OriginClient client = server.client();
    ProxyConfig.Origin config = client.config();
    ProxyConfig.OriginUrl url = client.url();
    if (url.tls()) {
      return null;
    }
    String remote = conn.remoteAddress() == null ? null : conn.remoteAddress().hostAddress();
    int localPort = conn.localAddress() == null ? 0 : conn.localAddress().port();
    MultiMap fields = normal.originFields(remote, localPort, head);
    if (!pool.preserveHost()) {
      fields.set(HttpHeaders.HOST, server.authority());
    }
    fields.remove(HttpHeaders.CONTENT_LENGTH); // as OriginClient.send: a bodiless GET is sent unframed
    fields.remove(HttpHeaders.TRANSFER_ENCODING);
    Channels c = channels.getIfPresent(server);
    if (c == null || c.config() != config || c.url() != url) {
      c = new Channels(config, url, new PassChannels(url.host(), url.port(), config.connectTimeout().toMillis(),
          config.idleTimeout().toMillis(), config.keepAliveTimeout().toMillis(), config.maxConnections()));
      channels.put(server, c);
    }
    One one = new One(conn, uri, primaryKey, fwd, startNanos, pool, server, remote);
    return new FrontPass(c.pool(), requestHead(head.pathAndQuery(), fields), config.firstByteTimeout().toMillis(), one);
  }

  /** {@code GET <target> HTTP/1.1} and {@code fields}, as the Vert.x client writes them. */
  static byte[] requestHead(String target, MultiMap fields) {
    StringBuilder b = new StringBuilder(256).append("GET ").append(target).append(" HTTP/1.1\r\n");
    appendFields(b, fields);
    return b.toString().getBytes(StandardCharsets.ISO_8859_1);
  }

  private static void appendFields(StringBuilder b, MultiMap fields) {
    for (Iterator<Map.Entry<String, String>> it = fields.iterator(); it.hasNext(); ) {
      Map.Entry<String, String> e = it.next();
      b.append(e.getKey()).append(": ").append(e.getValue()).append("\r\n");
    }
    b.append("\r\n");
  }

  /** One pass: its counting and logging, on its client connection's event loop. */
  private final class One implements FrontPass.Side {
    private final HttpConnection conn;
    private final String uri;
    private final String primaryKey;
    private final String fwd;
    private final long startNanos;
    private final OriginPool pool;
    private final OriginServer server;
    private final String remote;
    private boolean started;
    private long originSentNanos;
    private int originStatus = -1;
    private long originMicros = -1;
    /** The status the client was answered with (0: none yet). */
    private int status;
    private CacheOutcome outcome = CacheOutcome.PASS;
    /** The length of the body {@link #failed} answered with. */
    private long synthLength;

    One(HttpConnection conn, String uri, String primaryKey, String fwd, long startNanos, OriginPool pool,
        OriginServer server, String remote) {
      this.conn = conn;
      this.uri = uri;
      this.primaryKey = primaryKey;
      this.fwd = fwd;
      this.startNanos = startNanos;
      this.pool = pool;
      this.server = server;
      this.remote = remote;
    }

    @Override
    public void sent() {
      if (!started) { // a retry on a fresh connection is the same origin request, as OriginClient's
        started = true;
        ctx.metrics().frontPass(); // before any byte reaches the client
        ctx.metrics().originRequest();
        pool.directStarted(server);
      }
      originSentNanos = System.nanoTime();
    }

    @Override
    public byte[] head(int code, String reason, Headers fields, long contentLength, boolean bodyless) {
      long nanos = System.nanoTime() - originSentNanos;
      originStatus = code;
      originMicros = nanos / 1000;
      ctx.metrics().originResponse(nanos);
      pool.directResult(server, code >= 500, code >= 500 ? "status " + code : null);
      if (!relayable(code, contentLength)) {
        coalescer.markHitForPass(primaryKey, false); // the next one goes the normal way (splice, partial store)
      }
      // Relay.writeClientHead and Exchange.decorate, on a map of Vert.x's kind: the same fields in the same order
      MultiMap h = HttpHeaders.headers();
      HeaderMaps.copyInto(HopByHop.strip(fields), h);
      Exchange.decorate(ctx, h, CacheOutcome.PASS, normal.passStatus(fwd, code, "hit-for-pass"));
      if (!bodyless && contentLength < 0) {
        h.set(HttpHeaders.TRANSFER_ENCODING, HttpHeaders.CHUNKED);
      }
      status = code;
      StringBuilder b = new StringBuilder(512).append("HTTP/1.1 ").append(code).append(' ').append(reason).append("\r\n");
      appendFields(b, h);
      return b.toString().getBytes(StandardCharsets.ISO_8859_1);
    }

    @Override
    public byte[] failed(Throwable cause) {
      ctx.metrics().originError();
      if (started) {
        pool.directResult(server, true, String.valueOf(cause.getMessage()));
      }
      boolean timeout = OriginClient.isTimeout(cause);
      int code = timeout ? 504 : 502;
      String body = code + (timeout ? " origin timed out\n" : " origin unreachable\n");
      // Exchange.synth's response, as Vert.x writes it
      MultiMap h = HttpHeaders.headers();
      h.add(HttpHeaders.CONTENT_TYPE, "text/plain; charset=utf-8");
      Exchange.decorate(ctx, h, CacheOutcome.SYNTH, CacheStatus.fwd(fwd).detail(timeout ? "origin-timeout" : "origin-unreachable"));
      h.set(HttpHeaders.CONTENT_LENGTH, Integer.toString(body.length()));
      status = code;
      outcome = CacheOutcome.SYNTH;
      synthLength = body.length();
      StringBuilder b = new StringBuilder(256).append("HTTP/1.1 ").append(code).append(' ')
          .append(dev.zcproxy.proxy.internal.HitWriter.reason(code)).append("\r\n");
      appendFields(b, h);
      b.append(body);
      return b.toString().getBytes(StandardCharsets.ISO_8859_1);
    }

    @Override
    public void ended(boolean complete, long bodyBytes, long handed) {
      if (started) {
        pool.directEnded(server);
      }
      long nanos = System.nanoTime() - startNanos;
      long bytes = outcome == CacheOutcome.SYNTH ? synthLength : bodyBytes; // as Exchange.synth counts it
      ctx.metrics().written(0, handed);
      ctx.metrics().response(outcome, TransferMode.COPY, bytes, nanos);
      ctx.metrics().urlResponse(primaryKey, outcome, bytes);
      if (ctx.accessLog().writes()) {
        // no head went out and the client left: nginx's 499, as Exchange.finish
        int logged = !complete && status == 0 ? 499 : status;
        ctx.accessLog().log(remote == null ? "-" : remote, "GET", uri, "HTTP/1.1", logged, bytes, nanos / 1000, outcome,
            TransferMode.COPY, complete, originStatus, originMicros);
      }
    }
  }
}
