package dev.zcproxy.proxy.transfer;

import dev.zcproxy.proxy.config.ProxyConfig;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.NetSocket;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * Picks how each response body moves (sendfile, splice, RAM, or a copy), once per response (and how each
 * tunnel moves its bytes, once per tunnel), from the
 * {@code transfer.*} settings and the facts of its connections, and says why; afterwards
 * {@link #settle} tells what really happened from the bytes the connection was handed.
 *
 * <p>The decision is an ordered table of rules ({@link #plan(TransferFacts)}, pure: unit-tested without
 * sockets); the first that matches wins. A new mode is one {@link TransferMode} constant and one rule.
 * The {@code for*} methods gather the facts from live connections through the {@link TransferPlatform}.
 */
public final class TransferPlanner {
  private final boolean sendfile;
  private final boolean splice;
  private final long spliceMinBytes;
  private final TransferPlatform platform;
  private final List<Rule> rules;

  /** One row of the table: when {@code applies}, the body moves by {@code mode} for {@code reason}. */
  private record Rule(Predicate<TransferFacts> applies, TransferMode mode, Function<TransferFacts, String> reason) {}

  public TransferPlanner(ProxyConfig.Transfer config, TransferPlatform platform) {
    this(config.sendfile(), config.splice(), config.spliceMinBytes(), platform);
  }

  TransferPlanner(boolean sendfile, boolean splice, long spliceMinBytes, TransferPlatform platform) {
    this.sendfile = sendfile;
    this.splice = splice;
    this.spliceMinBytes = spliceMinBytes;
    this.platform = Objects.requireNonNull(platform, "platform");
    this.rules = List.of(
        rule(f -> f.leg() == TransferFacts.Leg.HIT && f.ramBody(), TransferMode.RAM, "body in the RAM tier"),
        rule(f -> f.leg().toClient && f.http2(), TransferMode.COPY_H2, "HTTP/2 client: the body goes out in frames"),
        rule(f -> f.leg().toClient && f.tls(), TransferMode.COPY_TLS, "TLS client: encrypted in user space"),
        rule(f -> f.leg().fromFile && !this.sendfile, TransferMode.COPY, "transfer.sendfile is off"),
        rule(f -> f.leg().fromFile && f.length() < 0, TransferMode.COPY, "unknown length"),
        new Rule(f -> f.leg().fromFile && f.whyNotZeroCopy() != null, TransferMode.COPY, TransferFacts::whyNotZeroCopy),
        rule(f -> f.leg().fromFile, TransferMode.SENDFILE, "plain HTTP/1.x"),
        // origin bodies: to the client (pass-through) or into the cache file (fill)
        rule(f -> !this.splice, TransferMode.COPY, "transfer.splice is off"),
        // tunnels: both ways between two sockets, no length
        new Rule(f -> f.leg() == TransferFacts.Leg.TUNNEL && f.whyNotZeroCopy() != null, TransferMode.COPY,
            TransferFacts::whyNotZeroCopy),
        rule(f -> f.leg() == TransferFacts.Leg.TUNNEL, TransferMode.SPLICE, "plain sockets on one epoll event loop"),
        rule(TransferFacts::bodyless, TransferMode.COPY, "no body"),
        rule(f -> f.length() < 0, TransferMode.COPY, "unknown length"),
        rule(f -> f.length() < this.spliceMinBytes, TransferMode.COPY, "below transfer.splice-min-size"),
        new Rule(f -> f.whyNotZeroCopy() != null, TransferMode.COPY, TransferFacts::whyNotZeroCopy),
        rule(f -> true, TransferMode.SPLICE, "known length, plain HTTP/1.x on epoll"));
  }

  private static Rule rule(Predicate<TransferFacts> applies, TransferMode mode, String reason) {
    return new Rule(applies, mode, f -> reason);
  }

  /** The plan for a body with these facts: the first rule of the table that applies. */
  public TransferPlan plan(TransferFacts facts) {
    for (Rule r : rules) {
      if (r.applies().test(facts)) {
        return new TransferPlan(r.mode(), r.reason().apply(facts));
      }
    }
    throw new IllegalStateException("no rule for " + facts); // the last rule always applies
  }

  /** The operations that carry plans out. */
  public TransferPlatform platform() {
    return platform;
  }

  /** A stored body to the client, from the RAM tier when {@code ramBody}, else from its cache file. */
  public TransferPlan forHit(HttpServerRequest req, long length, boolean ramBody) {
    return plan(new TransferFacts(TransferFacts.Leg.HIT, req.isSSL(), http2(req), false, length, ramBody,
        ramBody || !sendfile ? null : platform.whyNotSendfile(req)));
  }

  /**
   * A stored body from its cache file to a client whose request is answered in front of Vert.x: plain HTTP/1.1
   * on a Vert.x connection without TLS or compression (where {@link #forHit} finds nothing against sendfile).
   */
  public TransferPlan forFrontFileHit(long length) {
    return plan(new TransferFacts(TransferFacts.Leg.HIT, false, false, false, length, false, null));
  }

  /** A filling cache file to the client, range by range. */
  public TransferPlan forFillReader(HttpServerRequest req, long length) {
    return plan(new TransferFacts(TransferFacts.Leg.FILL_READER, req.isSSL(), http2(req), false, length, false,
        sendfile ? platform.whyNotSendfile(req) : null));
  }

  /** An origin body that is not stored, to the client. */
  public TransferPlan forRelay(HttpServerRequest req, HttpClientResponse cres, long length, boolean bodyless) {
    boolean worthAsking = splice && !bodyless && length >= 0 && length >= spliceMinBytes;
    return plan(new TransferFacts(TransferFacts.Leg.RELAY, req.isSSL(), http2(req), bodyless, length, false,
        worthAsking ? platform.whyNotSpliceToClient(cres, req, length) : null));
  }

  /** An origin body into its cache file, at {@code offset} in the file. */
  public TransferPlan forFill(HttpClientResponse cres, long offset, long length) {
    boolean worthAsking = splice && length >= 0 && length >= spliceMinBytes;
    return plan(new TransferFacts(TransferFacts.Leg.FILL, false, false, false, length, false,
        worthAsking ? platform.whyNotSpliceToFile(cres, offset, length) : null));
  }

  /**
   * A tunnel between the {@code client} and {@code origin} sockets (CONNECT, WebSocket): splice both ways
   * when {@code transfer.splice} is on and the platform finds both sockets spliceable, else a copy.
   */
  public TransferPlan forTunnel(NetSocket client, NetSocket origin) {
    return plan(new TransferFacts(TransferFacts.Leg.TUNNEL, false, false, false, -1, false,
        splice ? platform.whyNotSpliceTunnel(client, origin) : null));
  }

  private static boolean http2(HttpServerRequest req) {
    return req.version() == HttpVersion.HTTP_2;
  }

  /** What the request's connection has been handed so far; call when its response starts. */
  public TransferPlatform.WriteCount mark(HttpServerRequest req) {
    return platform.written(req);
  }

  /** What the request's connection was handed since {@code mark}; {@code null} when it cannot be counted. */
  public TransferPlatform.WriteCount wroteSince(HttpServerRequest req, TransferPlatform.WriteCount mark) {
    TransferPlatform.WriteCount now = mark == null ? null : platform.written(req);
    return now == null ? null
        : new TransferPlatform.WriteCount(now.fileRegionBytes() - mark.fileRegionBytes(), now.bufferBytes() - mark.bufferBytes());
  }

  /**
   * The mode a response really used, from what its connection was handed while it was sent: a sendfile
   * that moved its body as buffers (Vert.x copies on a connection that cannot take file regions), or a
   * splice whose body all came through the heap, was a copy. Without counts the chosen mode stands.
   *
   * @param chosen the mode the response was planned with
   * @param wrote what its connection was handed ({@link #wroteSince}), {@code null} when unknown
   * @param bodyBytes the body bytes the response sent
   */
  public TransferMode settle(TransferMode chosen, TransferPlatform.WriteCount wrote, long bodyBytes) {
    if (wrote == null || bodyBytes <= 0) {
      return chosen;
    }
    long regions = wrote.fileRegionBytes();
    long buffers = wrote.bufferBytes();
    return switch (chosen) {
      case SENDFILE -> regions == 0 && buffers > 0 ? TransferMode.COPY : chosen;
      case SPLICE -> regions + buffers >= bodyBytes && regions == 0 ? TransferMode.COPY : chosen;
      default -> chosen;
    };
  }
}
