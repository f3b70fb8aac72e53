package dev.zcproxy.proxy.server;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.zcproxy.cache.CacheOutcome;
import dev.zcproxy.cache.Headers;
import dev.zcproxy.cache.RequestHead;
import dev.zcproxy.cache.policy.CacheStatus;
import dev.zcproxy.cache.policy.HopByHop;
import dev.zcproxy.cache.policy.Via;
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

  private record Channels(OriginServer server, ProxyConfig.Origin config, ProxyConfig.OriginUrl url, PassChannels pool) {}

  /** The {@link Channels} last used, or {@code null}. */
  private Channels last;

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
      String fwd, long startNanos, Memo memo) {
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
    byte[] request = memo == null ? null : memo.request(this, remote, localPort, server, url, pool.preserveHost());
    if (request == null) {
      MultiMap fields = normal.originFields(remote, localPort, head);
      if (!pool.preserveHost()) {
        fields.set(HttpHeaders.HOST, server.authority());
      }
      fields.remove(HttpHeaders.CONTENT_LENGTH); // as OriginClient.send: a bodiless GET is sent unframed
      fields.remove(HttpHeaders.TRANSFER_ENCODING);
      request = requestHead(head.pathAndQuery(), fields);
      if (memo != null) {
        memo.keep(this, remote, localPort, server, url, pool.preserveHost(), request);
      }
    }
    Channels c = last; // the one server of most set-ups: no look-up in the map (whose reads are recorded)
    if (c == null || c.server() != server || c.config() != config || c.url() != url) {
      c = channels.getIfPresent(server);
      if (c == null || c.config() != config || c.url() != url) {
        PassChannels passChannels = new PassChannels(url.host(), url.port(), config.connectTimeout().toMillis(),
            config.idleTimeout().toMillis(), config.keepAliveTimeout().toMillis(), config.maxConnections(),
            client::openOnThisLoop); // origin.max-connections a loop: these and the normal path's together
        client.loopConnections(new OriginClient.LoopConnections() {
          @Override
          public void opened() {
            passChannels.othersOpened();
          }

          @Override
          public void closed() {
            passChannels.othersClosed();
          }
        });
        c = new Channels(server, config, url, passChannels);
        channels.put(server, c);
      }
      last = c; // a plain write of an immutable record: a loop that misses it looks in the map
    }
    One one = new One(conn, uri, primaryKey, fwd, startNanos, pool, server, remote, memo);
    return new FrontPass(c.pool(), request, config.firstByteTimeout().toMillis(), one);
  }

  /**
   * What a request head's passes were sent as on its connection: the origin request's bytes for the client, server and
   * settings they were made for, and the client head made of the origin's last response head. One per decided head
   * ({@code FrontDecision}'s note, kept by one connection, so owned by its event loop): a client that repeats its
   * request is sent the same bytes without building them again, and the same origin head makes the same client head.
   */
  static final class Memo {
    private FrontPasses headOwner;
    private int status;
    private String reason;
    private Headers fields;
    private long contentLength;
    private boolean bodyless;
    private String fwd;
    private byte[] head;

    /** The client head kept for an origin head of exactly these lines, or {@code null}. */
    byte[] head(FrontPasses owner, int status, String reason, Headers fields, long contentLength, boolean bodyless,
        String fwd) {
      return head != null && headOwner == owner && this.status == status && this.contentLength == contentLength
          && this.bodyless == bodyless && this.reason.equals(reason) && this.fwd.equals(fwd) && sameLines(this.fields, fields)
          ? head : null;
    }

    void keepHead(FrontPasses owner, int status, String reason, Headers fields, long contentLength, boolean bodyless,
        String fwd, byte[] head) {
      this.headOwner = owner;
      this.status = status;
      this.reason = reason;
      this.fields = fields;
      this.contentLength = contentLength;
      this.bodyless = bodyless;
      this.fwd = fwd;
      this.head = head;
    }

    /** Whether {@code a} and {@code b} have the same lines, names in the same case. */
    private static boolean sameLines(Headers a, Headers b) {
      if (a == b) {
        return true; // the origin connection's repeated head (PassChannels): the very fields kept
      }
      if (a.size() != b.size()) {
        return false;
      }
      for (int i = 0; i < a.size(); i++) {
        if (!a.name(i).equals(b.name(i)) || !a.value(i).equals(b.value(i))) {
          return false;
        }
      }
      return true;
    }

    private FrontPasses owner;
    private String remote;
    private int localPort;
    private OriginServer server;
    private ProxyConfig.OriginUrl url;
    private boolean preserveHost;
    private byte[] request;

    /** The bytes kept for these, or {@code null}. */
    byte[] request(FrontPasses owner, String remote, int localPort, OriginServer server, ProxyConfig.OriginUrl url,
        boolean preserveHost) {
      return request != null && this.owner == owner && this.server == server && this.url == url
          && this.localPort == localPort && this.preserveHost == preserveHost && java.util.Objects.equals(this.remote, remote)
          ? request : null;
    }

    void keep(FrontPasses owner, String remote, int localPort, OriginServer server, ProxyConfig.OriginUrl url,
        boolean preserveHost, byte[] request) {
      this.owner = owner;
      this.remote = remote;
      this.localPort = localPort;
      this.server = server;
      this.url = url;
      this.preserveHost = preserveHost;
      this.request = request;
    }
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
    /** Where the last client head made for this request head is kept, or {@code null}. */
    private final Memo memo;
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
        OriginServer server, String remote, Memo memo) {
      this.memo = memo;
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
      status = code;
      byte[] kept = memo == null ? null : memo.head(FrontPasses.this, code, reason, fields, contentLength, bodyless, fwd);
      if (kept != null) {
        return kept; // the origin sent the same head as last time: the same client head
      }
      // Relay.writeClientHead and Exchange.decorate, on a map of Vert.x's kind: the same fields in the same order
      MultiMap h = HttpHeaders.headers();
      HeaderMaps.copyInto(HopByHop.strip(fields), h);
      Exchange.decorate(ctx, h, CacheOutcome.PASS, normal.passStatus(fwd, code, "hit-for-pass"));
      if (!bodyless && contentLength < 0) {
        h.set(HttpHeaders.TRANSFER_ENCODING, HttpHeaders.CHUNKED);
      }
      StringBuilder b = new StringBuilder(512).append("HTTP/1.1 ").append(code).append(' ').append(reason).append("\r\n");
      appendFields(b, h);
      byte[] made = b.toString().getBytes(StandardCharsets.ISO_8859_1);
      if (memo != null) {
        memo.keepHead(FrontPasses.this, code, reason, fields, contentLength, bodyless, fwd, made);
      }
      return made;
    }

    @Override
    public byte[] interim(int code, String reason, Headers fields) {
      // ProxyHandler.interimTo and InterimResponses.write: hop-by-hop fields out, this proxy's Via, the origin's reason
      MultiMap h = HttpHeaders.headers();
      HeaderMaps.copyInto(HopByHop.strip(fields), h);
      h.set("via", Via.appendTo(h.get("via")));
      String phrase = reason == null || reason.isEmpty()
          ? io.netty.handler.codec.http.HttpResponseStatus.valueOf(code).reasonPhrase() : reason;
      StringBuilder b = new StringBuilder(256).append("HTTP/1.1 ").append(code).append(' ').append(phrase).append("\r\n");
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
