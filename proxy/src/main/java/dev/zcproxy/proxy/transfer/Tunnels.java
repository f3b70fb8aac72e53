package dev.zcproxy.proxy.transfer;

import dev.zcproxy.cache.Headers;
import dev.zcproxy.cache.policy.CacheStatus;
import dev.zcproxy.cache.policy.HopByHop;
import dev.zcproxy.cache.policy.Via;
import dev.zcproxy.proxy.internal.Splicer;
import dev.zcproxy.proxy.internal.TunnelResult;
import dev.zcproxy.proxy.origin.OriginPool;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.HostAndPort;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves the PIPE outcome: {@code CONNECT} tunnels and HTTP/1.1 {@code Upgrade} (WebSocket) tunnels, each a
 * raw connection opened on the request's event loop and joined to the client by a {@link Splicer}, spliced
 * or copied as the {@link TransferPlanner} decides.
 *
 * <p>CONNECT: the target port must be in {@code connectPorts}; an empty set disables CONNECT. Both refusals
 * answer {@code 403} (a CONNECT proxy refusing by policy is forbidden, not an unknown method) with
 * {@code Cache-Status: zcproxy; fwd=bypass; detail=connect-port-denied} or {@code detail=connect-disabled}.
 * A target that cannot be reached answers {@code 502}.
 *
 * <p>Upgrade: the request head goes to the origin without its hop-by-hop fields (plus {@code Via} and {@code X-Forwarded-For}); a
 * {@code 101} from the origin is answered with the origin's 101 headers (Vert.x writes the status line when
 * the request is turned into a socket), anything else is relayed as a normal response.
 */
public final class Tunnels {

  private static final Logger LOG = LoggerFactory.getLogger(Tunnels.class);
  static final int MAX_HEAD_BYTES = 16 * 1024;
  static final int MAX_REFUSAL_BODY_BYTES = 1024 * 1024;

  /** Which kind of tunnel. */
  public enum Kind {
    CONNECT,
    UPGRADE
  }

  /** Receives one report per finished tunnel; adapt it to metrics. Called on the tunnel's event loop. */
  @FunctionalInterface
  public interface ProxyMetricsHook {
    /**
     * @param kind CONNECT or UPGRADE
     * @param mode SPLICE or COPY
     * @param clientToOriginBytes bytes sent by the client, -1 if unknown (splice)
     * @param originToClientBytes bytes sent by the origin, -1 if unknown (splice)
     */
    void tunnelEnded(Kind kind, TunnelResult.Mode mode, long clientToOriginBytes, long originToClientBytes);

    /** A hook that ignores every report. */
    ProxyMetricsHook NONE = (kind, mode, up, down) -> { };
  }

  /** Where tunnels go: the origin pool of the request's site and route. */
  public interface Route {
    /** The pool for a request to {@code authority} (host[:port]) and {@code path}, or {@code null} when no site answers. */
    OriginPool pool(String authority, String path);

    /**
     * Whether sites are configured: a CONNECT may then name any host of a site (the tunnel still goes to one
     * of that site's servers); without, only the host of an origin server, as before sites.
     */
    boolean sites();
  }

  /** The route of the one-origin shorthand: every tunnel goes to {@code pool}. */
  public static Route single(OriginPool pool) {
    Objects.requireNonNull(pool, "pool");
    return new Route() {
      @Override
      public OriginPool pool(String authority, String path) {
        return pool;
      }

      @Override
      public boolean sites() {
        return false;
      }
    };
  }

  private final Splicer splicer;
  /** Decides splice or copy for each tunnel. */
  private final TransferPlanner planner;
  private final Route route;
  private final Set<Integer> connectPorts;
  private final ProxyMetricsHook hook;
  private final NetClient netClient;

  /**
   * @param vertx the Vert.x instance whose event loops serve the requests
   * @param splicer joins the two legs
   * @param planner decides, for each tunnel, whether the splicer splices or copies
   * @param route the origin pool each tunnel goes to (a server picked by its balancer, healthy, the next on a
   *     failed connect)
   * @param connectPorts target ports allowed for CONNECT; empty disables CONNECT
   * @param hook receives one report per finished tunnel
   * @param previous the tunnels of the configuration this one replaces (a reload), whose connection client is
   *     shared, or {@code null} for a client of its own
   */
  public Tunnels(
      Vertx vertx,
      Splicer splicer,
      TransferPlanner planner,
      Route route,
      Set<Integer> connectPorts,
      ProxyMetricsHook hook,
      Tunnels previous) {
    this.splicer = Objects.requireNonNull(splicer, "splicer");
    this.planner = Objects.requireNonNull(planner, "planner");
    this.route = Objects.requireNonNull(route, "route");
    this.connectPorts = Set.copyOf(connectPorts);
    this.hook = Objects.requireNonNull(hook, "hook");
    // One client for all, and across reloads (a client per reload was never closed): connect() called from
    // a request handler runs on that request's event loop, which is what splice needs (both sockets on one
    // loop), and its options never change.
    this.netClient = previous != null ? previous.netClient
        : vertx.createNetClient(new NetClientOptions().setTcpNoDelay(true).setConnectTimeout(10_000));
  }

  /** The client that opens the origin legs (shared with the tunnels this one replaced). */
  NetClient netClient() {
    return netClient;
  }

  /** Whether this request is a tunnel: {@code CONNECT}, or an HTTP/1.1 {@code GET} asking to upgrade. */
  public boolean isTunnel(HttpServerRequest req) {
    return req.method() == HttpMethod.CONNECT || isUpgrade(req);
  }

  /** Whether any {@code Upgrade} token offers HTTP/2 ({@code h2c}, {@code h2}, {@code h2/...}). */
  static boolean upgradesToHttp2(HttpServerRequest req) {
    for (String v : req.headers().getAll(HttpHeaders.UPGRADE)) {
      for (String token : v.split(",")) {
        String t = token.strip();
        if (t.regionMatches(true, 0, "h2c", 0, 3) || t.regionMatches(true, 0, "h2", 0, 2) && (t.length() == 2 || t.charAt(2) == '/')) {
          return true;
        }
      }
    }
    return false;
  }

  static boolean isUpgrade(HttpServerRequest req) {
    // Vert.x toNetSocket() accepts GET + "Connection: upgrade" only (HttpUtils.isConnectOrUpgrade).
    if (req.version() != HttpVersion.HTTP_1_1 || req.method() != HttpMethod.GET) {
      return false;
    }
    if (req.getHeader(HttpHeaders.UPGRADE) == null || upgradesToHttp2(req)) {
      // h2c is offered to the proxy itself (which speaks HTTP/1.1): answer the GET, never tunnel it, or the
      // client would get a raw HTTP/2 connection to the origin past every check ("h2c smuggling")
      return false;
    }
    for (String v : req.headers().getAll(HttpHeaders.CONNECTION)) {
      for (String token : v.split(",")) {
        if (token.trim().equalsIgnoreCase("upgrade")) {
          return true;
        }
      }
    }
    return false;
  }

  /** Serves a tunnel request; call on the request's context (i.e. from the request handler). */
  public void handle(HttpServerRequest req) {
    if (req.method() == HttpMethod.CONNECT) {
      connect(req);
    } else if (isUpgrade(req)) {
      upgrade(req);
    } else {
      simple(req.response(), 400, "not a tunnel request\n", null);
    }
  }

  // ---------------------------------------------------------------- CONNECT

  private void connect(HttpServerRequest req) {
    HostAndPort target = connectTarget(req);
    if (target == null) {
      simple(req.response(), 400, "bad CONNECT target\n", null);
      return;
    }
    if (connectPorts.isEmpty()) {
      simple(req.response(), 403, "CONNECT is disabled\n", "connect-disabled");
      return;
    }
    String authority = (target.host().indexOf(':') >= 0 ? "[" + target.host() + "]" : target.host()) + ":" + target.port();
    OriginPool pool = route.pool(authority, "/");
    if (pool == null || !(route.sites() || namesServer(pool, target.host()))) {
      // A reverse proxy, not an open one: CONNECT reaches the servers of the site it names only.
      simple(req.response(), 403, "CONNECT to " + target.host() + " is not allowed\n", "connect-host-denied");
      return;
    }
    if (!connectPorts.contains(target.port())) {
      simple(req.response(), 403, "CONNECT to port " + target.port() + " is not allowed\n", "connect-port-denied");
      return;
    }
    req.pause();
    pool.connectTunnel(netClient, authority, target.port()).onComplete(ar -> {
      if (ar.failed()) {
        LOG.debug("CONNECT {} failed: {}", target, ar.cause().toString());
        req.resume();
        connectFailed(req, ar.cause(), "cannot connect to " + target + "\n", "connect-failed");
        return;
      }
      NetSocket origin = ar.result().socket();
      origin.pause();
      // Vert.x answers "200 OK" (no body) to a CONNECT when the request becomes a socket.
      req.toNetSocket().onComplete(sr -> {
        if (sr.failed()) {
          origin.close();
          return;
        }
        NetSocket client = sr.result();
        client.pause();
        tunnel(Kind.CONNECT, client, origin);
      });
    });
  }

  static HostAndPort connectTarget(HttpServerRequest req) {
    HostAndPort a = req.authority();
    if (a != null && a.port() > 0) {
      return a;
    }
    String uri = req.uri();
    if (uri == null) {
      return null;
    }
    int colon = uri.lastIndexOf(':');
    if (colon <= 0 || colon == uri.length() - 1) {
      return null;
    }
    try {
      int port = Integer.parseInt(uri.substring(colon + 1));
      String host = uri.substring(0, colon);
      if (host.startsWith("[") && host.endsWith("]")) {
        host = host.substring(1, host.length() - 1);
      }
      return port > 0 && port < 65536 ? HostAndPort.create(host, port) : null;
    } catch (NumberFormatException e) {
      return null;
    }
  }

  // ---------------------------------------------------------------- Upgrade

  private void upgrade(HttpServerRequest req) {
    String authority = req.getHeader(HttpHeaders.HOST);
    if (authority == null && req.authority() != null) {
      authority = req.authority().toString();
    }
    OriginPool pool = route.pool(authority, req.path() == null ? "/" : req.path());
    if (pool == null) {
      simple(req.response(), 421, "421 no site for this host\n", "unknown-host");
      return;
    }
    req.pause();
    pool.connectTunnel(netClient, req.uri(), 0).onComplete(ar -> {
      if (ar.failed()) {
        LOG.debug("upgrade: origin connect failed: {}", ar.cause().toString());
        req.resume();
        connectFailed(req, ar.cause(), "origin unreachable\n", "origin-unreachable");
        return;
      }
      if (!pool.preserveHost()) {
        req.headers().set(HttpHeaders.HOST, ar.result().server().authority()); // as every request to this pool
      }
      new UpgradeExchange(req, ar.result().socket()).start(requestHead(req));
    });
  }

  /** Whether {@code host} is the host of one of {@code pool}'s servers. */
  private static boolean namesServer(OriginPool pool, String host) {
    return pool.servers().stream().anyMatch(s -> s.url().host().equalsIgnoreCase(host));
  }

  /** 503 when no server of the pool could be tried (as for requests), else 502. */
  private static void connectFailed(HttpServerRequest req, Throwable cause, String body, String detail) {
    if (cause instanceof OriginPool.Unavailable u) {
      simple(req.response(), 503, "no origin server available\n", u.detail());
    } else {
      simple(req.response(), 502, body, detail);
    }
  }

  /**
   * The request head for the origin: the client's without its hop-by-hop fields ({@link HopByHop}, as for
   * every forwarded request), plus {@code Connection: Upgrade} with the client's {@code Upgrade}, Via and
   * X-Forwarded-For.
   */
  static Buffer requestHead(HttpServerRequest req) {
    StringBuilder sb = new StringBuilder(512);
    sb.append(req.method().name()).append(' ').append(req.uri()).append(" HTTP/1.1\r\n");
    String via = null;
    String xff = null;
    Headers.Builder fields = Headers.builder();
    for (Map.Entry<String, String> h : req.headers()) {
      String name = h.getKey();
      if (name.equalsIgnoreCase("Via")) {
        via = via == null ? h.getValue() : via + ", " + h.getValue();
      } else if (name.equalsIgnoreCase("X-Forwarded-For")) {
        xff = xff == null ? h.getValue() : xff + ", " + h.getValue();
      } else {
        fields.add(name, h.getValue());
      }
    }
    HopByHop.strip(fields.build()).forEach((name, value) -> sb.append(name).append(": ").append(value).append("\r\n"));
    sb.append("Connection: Upgrade\r\n");
    sb.append("Upgrade: ").append(String.join(", ", req.headers().getAll(HttpHeaders.UPGRADE))).append("\r\n");
    sb.append("Via: ").append(Via.appendTo(via)).append("\r\n");
    SocketAddress remote = req.remoteAddress();
    if (remote != null && remote.hostAddress() != null) {
      sb.append("X-Forwarded-For: ").append(xff == null ? remote.hostAddress() : xff + ", " + remote.hostAddress())
          .append("\r\n");
    } else if (xff != null) {
      sb.append("X-Forwarded-For: ").append(xff).append("\r\n");
    }
    sb.append("\r\n");
    return Buffer.buffer(sb.toString(), StandardCharsets.ISO_8859_1.name());
  }

  /** Reads the origin's answer to an upgrade request and either switches or relays it. */
  private final class UpgradeExchange {
    private final HttpServerRequest req;
    private final NetSocket origin;
    private Buffer acc = Buffer.buffer();
    private TunnelHead refusal; // non-101 head, body being collected
    private boolean done;

    UpgradeExchange(HttpServerRequest req, NetSocket origin) {
      this.req = req;
      this.origin = origin;
    }

    void start(Buffer head) {
      origin.handler(this::onData);
      origin.exceptionHandler(e -> LOG.debug("upgrade: origin error: {}", e.toString()));
      origin.closeHandler(v -> onOriginClosed());
      req.response().closeHandler(v -> {
        if (!done) {
          done = true;
          origin.close(); // client went away before the switch
        }
      });
      origin.write(head);
    }

    private void onData(Buffer buf) {
      if (done) {
        return;
      }
      acc.appendBuffer(buf);
      if (refusal != null) {
        tryRelayRefusal(false);
        return;
      }
      while (true) {
        int end = TunnelHead.headEnd(acc);
        if (end < 0) {
          if (acc.length() > MAX_HEAD_BYTES) {
            fail("origin response head too large");
          }
          return;
        }
        TunnelHead head;
        try {
          head = TunnelHead.parse(acc.slice(0, end));
        } catch (IllegalArgumentException e) {
          fail("bad origin response: " + e.getMessage());
          return;
        }
        acc = acc.getBuffer(end, acc.length());
        if (head.status() == 101) {
          switchProtocols(head);
          return;
        }
        if (head.status() >= 100 && head.status() < 200) {
          continue; // interim response (100, 103): skip, wait for the final one
        }
        refusal = head;
        tryRelayRefusal(false);
        return;
      }
    }

    private void onOriginClosed() {
      if (done) {
        return;
      }
      if (refusal != null) {
        tryRelayRefusal(true);
      } else {
        fail("origin closed before answering the upgrade");
      }
    }

    private void switchProtocols(TunnelHead head) {
      done = true;
      origin.pause();
      Buffer early = acc; // bytes the origin sent right after its 101 (e.g. a first WebSocket frame)
      acc = null;
      HttpServerResponse resp = req.response();
      resp.closeHandler(null);
      for (Map.Entry<String, String> h : head.headers()) {
        if (!h.getKey().equalsIgnoreCase("Content-Length") && !h.getKey().equalsIgnoreCase("Transfer-Encoding")) {
          resp.headers().add(h.getKey(), h.getValue());
        }
      }
      resp.headers().add("Via", Via.MEMBER);
      // Vert.x 5 toNetSocket() on an upgrade: status forced to 101, our headers kept, head written, then the
      // HTTP codecs are removed from the pipeline.
      req.toNetSocket().onComplete(sr -> {
        if (sr.failed()) {
          LOG.debug("upgrade: toNetSocket failed: {}", sr.cause().toString());
          origin.close();
          return;
        }
        NetSocket client = sr.result();
        client.pause();
        Future<Void> first = early.length() > 0 ? client.write(early) : Future.succeededFuture();
        first.onComplete(w -> tunnel(Kind.UPGRADE, client, origin));
      });
    }

    private void tryRelayRefusal(boolean originClosed) {
      TunnelHead head = refusal;
      Buffer body;
      try {
        if (head.bodiless()) {
          body = Buffer.buffer();
        } else if (head.chunked()) {
          body = TunnelHead.dechunk(acc);
        } else if (head.contentLength() >= 0) {
          long cl = head.contentLength();
          body = acc.length() >= cl ? acc.getBuffer(0, (int) Math.min(cl, acc.length())) : null;
          if (cl > MAX_REFUSAL_BODY_BYTES) {
            fail("origin refusal body too large");
            return;
          }
        } else {
          body = originClosed ? acc : null; // delimited by close
        }
      } catch (IllegalArgumentException e) {
        fail("bad origin response body: " + e.getMessage());
        return;
      }
      if (body == null) {
        if (originClosed) {
          fail("origin closed in the middle of its response");
        } else if (acc.length() > MAX_REFUSAL_BODY_BYTES) {
          fail("origin refusal body too large");
        }
        return;
      }
      done = true;
      origin.close();
      HttpServerResponse resp = req.response();
      resp.closeHandler(null);
      resp.setStatusCode(head.status());
      if (!head.reason().isEmpty()) {
        resp.setStatusMessage(head.reason());
      }
      Headers.Builder fields = Headers.builder();
      for (Map.Entry<String, String> h : head.headers()) {
        fields.add(h.getKey(), h.getValue());
      }
      // Hop-by-hop fields as everywhere else; Content-Length too: Vert.x frames the relayed body itself.
      HopByHop.strip(fields.build()).without("Content-Length").forEach(resp.headers()::add);
      resp.headers().add("Via", Via.MEMBER);
      req.resume();
      resp.end(body);
    }

    private void fail(String why) {
      LOG.debug("upgrade: {}", why);
      done = true;
      origin.close();
      HttpServerResponse resp = req.response();
      resp.closeHandler(null);
      if (!resp.headWritten() && !resp.ended()) {
        req.resume();
        simple(resp, 502, why + "\n", "origin-error");
      }
    }
  }

  // ---------------------------------------------------------------- common

  private void tunnel(Kind kind, NetSocket client, NetSocket origin) {
    TransferPlan plan = planner.forTunnel(client, origin);
    splicer.tunnel(client, origin, plan.mode() == TransferMode.SPLICE ? null : plan.reason()).onComplete(ar -> {
      if (ar.failed()) {
        LOG.debug("{} tunnel failed to start: {}", kind, ar.cause().toString());
        return;
      }
      TunnelResult r = ar.result();
      if (r.fallbackReason() != null) {
        LOG.debug("{} tunnel copied: {}", kind, r.fallbackReason());
      }
      hook.tunnelEnded(kind, r.mode(), r.bytesAToB(), r.bytesBToA());
    });
  }

  private static void simple(HttpServerResponse resp, int status, String body, String detail) {
    if (resp.headWritten() || resp.ended()) {
      return;
    }
    resp.setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, "text/plain; charset=utf-8");
    if (detail != null) {
      resp.putHeader("Cache-Status", CacheStatus.fwd("bypass").detail(detail).toString());
    }
    resp.end(body);
  }
}
