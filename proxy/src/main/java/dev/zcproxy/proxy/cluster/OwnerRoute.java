package dev.zcproxy.proxy.cluster;

import static java.util.Objects.requireNonNull;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.RemovalCause;
import dev.zcproxy.cache.store.DiskStore;
import dev.zcproxy.proxy.config.ProxyConfig;
import dev.zcproxy.proxy.internal.OriginCodec;
import dev.zcproxy.proxy.origin.OriginBody;
import dev.zcproxy.proxy.origin.OriginClient;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where a miss goes in a cluster: to the node that owns its key (over HTTP, on that node's data port),
 * or, for a key this node owns, to the origin; the one hook the request flow calls.
 *
 * <p>A forwarded request carries {@value #FORWARDED}: the node that receives it serves it as the owner
 * and never forwards it again, whatever its own view of the members is (no loops, at most one hop). An
 * owner that does not answer with a response head within {@code cluster.owner-timeout} (down, slow,
 * refusing) is skipped: the request goes to the origin directly and is not stored here, and the owner
 * is not asked again for a second, so a dead owner costs one timeout, not one per request.
 *
 * <p>A node that has just joined (started, restarted, back after a failure) owns keys that another node
 * held while it was away. For {@code cluster.handoff-window} after joining, a miss for a key it owns
 * that is not in its own cache is first asked from that node (the owner under the rendezvous without
 * this one) with {@code Cache-Control: only-if-cached}: its copy comes over and is stored here, and only
 * what it does not have either (504) goes to the origin. So a node that comes back with an empty or
 * outdated cache takes its keys back without sending a request per key to the origin.
 */
public final class OwnerRoute {
  private static final Logger LOG = LoggerFactory.getLogger(OwnerRoute.class);
  /** The request field that marks a request forwarded by another node to its owner (lower case). */
  public static final String FORWARDED = "x-zcproxy-forwarded";
  /** How long an owner that failed is bypassed. */
  private static final long SUSPECT_NANOS = 1_000_000_000L;
  /** The {@value #FORWARDED} value's suffix on a hand-off request: the receiver answers from its cache only. */
  static final String HANDOFF = ";handoff";

  private final Cluster cluster;
  private final Vertx vertx;
  private final ProxyConfig.Origin originConfig;
  private final ProxyConfig.Cluster config;
  private final Map<String, OriginClient> peers = new ConcurrentHashMap<>();
  /** For hand-offs: half the owner timeout, so that a slow previous owner leaves a forwarding node time for the origin. */
  private final Map<String, OriginClient> handoffPeers = new ConcurrentHashMap<>();
  private final Map<String, Long> suspectUntil = new ConcurrentHashMap<>();
  private final LongAdder forwarded = new LongAdder();
  private final LongAdder fallbacks = new LongAdder();
  private final LongAdder handoffs = new LongAdder();
  private final LongAdder handedOver = new LongAdder();
  /** Until when ({@link System#nanoTime}) misses for this node's keys are asked from their previous owner first. */
  private final long handoffUntil;
  /** With {@code local-copy}: the keys owned elsewhere that this node keeps, least recently stored dropped first. */
  private final Cache<String, Boolean> localCopies;
  private volatile boolean closed;

  /**
   * @param vertx the data path's Vert.x: connections to owners live on the loops of the requests
   * @param store the cache local copies are dropped from when they are evicted from the local-copy set
   */
  public OwnerRoute(Cluster cluster, Vertx vertx, ProxyConfig config, DiskStore store) {
    this.cluster = requireNonNull(cluster, "cluster");
    this.vertx = requireNonNull(vertx, "vertx");
    this.originConfig = config.origin();
    this.config = config.cluster();
    this.handoffUntil = System.nanoTime() + this.config.handoffWindow().toNanos();
    this.localCopies = Caffeine.newBuilder().maximumSize(this.config.localCopyEntries())
        .<String, Boolean>removalListener((key, v, cause) -> {
          // evicted from the set, and still not ours: drop the copy (replaced or explicit: nothing to do)
          if (cause == RemovalCause.SIZE && key != null && store != null && cluster.ownerOf(key) != null) {
            store.invalidate(key);
          }
        })
        .build();
  }

  /**
   * The node to fetch a miss for {@code primaryKey} from, or {@code null} for the origin (this node owns
   * the key, or the request was forwarded here by another node).
   *
   * @param requestHeaders the client request's fields
   */
  public Cluster.Node ownerFor(String primaryKey, MultiMap requestHeaders) {
    if (closed || requestHeaders.contains(FORWARDED)) {
      return null;
    }
    return cluster.ownerOf(primaryKey);
  }

  /**
   * The node to ask first for a miss on {@code primaryKey}, a key this node owns: the node that owned
   * it while this one was away; or {@code null} (outside the hand-off window, a key owned elsewhere, a
   * hand-off request itself, no other member).
   */
  public Cluster.Node previousOwnerFor(String primaryKey, MultiMap requestHeaders) {
    if (closed || System.nanoTime() - handoffUntil >= 0) {
      return null;
    }
    String fwd = requestHeaders.get(FORWARDED);
    if ((fwd != null && fwd.endsWith(HANDOFF)) || cluster.ownerOf(primaryKey) != null) {
      return null;
    }
    List<Cluster.Node> others = cluster.members().stream()
        .filter(n -> !n.address().equals(cluster.self().address())).toList();
    return Rendezvous.owner(others, primaryKey);
  }

  /**
   * Asks {@code previous} for its stored copy of a key this node now owns ({@code only-if-cached}); what
   * it does not have (504), or a node that does not answer within the owner timeout, goes to {@code direct}.
   */
  public Future<HttpClientResponse> handoff(Cluster.Node previous, String authority, HttpMethod method, String uri,
      MultiMap originHeaders, OriginCodec.InterimListener interim,
      java.util.function.Supplier<Future<HttpClientResponse>> direct) {
    Long until = suspectUntil.get(previous.address());
    if (until != null && until - System.nanoTime() > 0) {
      return direct.get();
    }
    MultiMap h = HttpHeaders.headers().addAll(originHeaders);
    h.set(HttpHeaders.HOST, authority);
    h.set(FORWARDED, cluster.self().address() + HANDOFF);
    h.add(HttpHeaders.CACHE_CONTROL, "only-if-cached");
    handoffs.increment();
    OriginClient client = handoffPeers.computeIfAbsent(previous.address(), a -> client(previous, config.ownerTimeout().dividedBy(2)));
    return client.send(method, uri, h, null, interim).transform(ar -> {
      if (ar.failed()) {
        suspectUntil.put(previous.address(), System.nanoTime() + SUSPECT_NANOS);
        LOG.debug("previous owner {} of {} did not answer ({}); fetching from the origin", previous.address(), uri,
            ar.cause().toString());
        return direct.get();
      }
      HttpClientResponse r = ar.result();
      if (r.statusCode() == 504) {
        r.end(); // not in its cache either (only-if-cached): the body is its short note
        return direct.get();
      }
      handedOver.increment();
      return Future.succeededFuture(r);
    });
  }

  /** Misses for keys this node owns asked from their previous owner first (the hand-off window). */
  public long handoffs() {
    return handoffs.sum();
  }

  /** Of those, the ones the previous owner answered from its cache (an origin request saved). */
  public long handedOver() {
    return handedOver.sum();
  }

  /** Whether responses fetched from an owner may be stored here too ({@code cluster.local-copy}). */
  public boolean localCopy() {
    return config.localCopy();
  }

  /** Records that a response for {@code primaryKey}, owned elsewhere, was stored here (the local-copy bound). */
  public void storedLocally(String primaryKey) {
    localCopies.put(primaryKey, Boolean.TRUE);
  }

  /**
   * Sends a miss for a key {@code owner} owns to it, with the request's own authority as {@code Host}
   * (so the owner computes the same key) and {@value #FORWARDED}; falls back to {@code direct} (the
   * request's site pool, with {@code originHeaders} as they are) when the owner gives no response head
   * within the owner timeout.
   *
   * @param authority the authority the client's request named
   * @param originHeaders the fields as they would go to the origin
   */
  public Future<HttpClientResponse> send(Cluster.Node owner, String authority, HttpMethod method, String uri,
      MultiMap originHeaders, OriginBody body, OriginCodec.InterimListener interim,
      java.util.function.Supplier<Future<HttpClientResponse>> direct) {
    long now = System.nanoTime();
    Long until = suspectUntil.get(owner.address());
    if (until != null && until - now > 0) {
      fallbacks.increment();
      return direct.get();
    }
    MultiMap h = HttpHeaders.headers().addAll(originHeaders);
    h.set(HttpHeaders.HOST, authority);
    h.set(FORWARDED, cluster.self().address());
    forwarded.increment();
    return peer(owner).send(method, uri, h, body, interim).recover(t -> {
      fallbacks.increment();
      suspectUntil.put(owner.address(), System.nanoTime() + SUSPECT_NANOS);
      LOG.debug("owner {} of {} did not answer ({}); fetching from the origin", owner.address(), uri, t.toString());
      return direct.get();
    });
  }

  /**
   * An unsafe request answered here invalidated {@code primaryKey} (RFC 9111 §4.4) in this node's cache:
   * when another node owns the key, the invalidation is broadcast so that its stored copy goes too.
   */
  public void invalidatedHere(String primaryKey, long atMillis) {
    if (!closed && cluster.ownerOf(primaryKey) != null) {
      cluster.invalidated(Invalidation.purge(primaryKey, false, atMillis));
    }
  }

  private OriginClient peer(Cluster.Node owner) {
    return peers.computeIfAbsent(owner.address(), a -> client(owner, config.ownerTimeout()));
  }

  private OriginClient client(Cluster.Node node, java.time.Duration timeout) {
    return new OriginClient(vertx, new ProxyConfig.Origin(new ProxyConfig.OriginUrl("http", node.host(), node.port()),
        timeout, timeout, originConfig.idleTimeout(), originConfig.maxConnections(), originConfig.keepAliveTimeout(), true,
        List.of()));
  }

  /** Requests forwarded to an owner node. */
  public long forwarded() {
    return forwarded.sum();
  }

  /** Misses for keys owned elsewhere that went to the origin because the owner failed or was bypassed. */
  public long ownerFallbacks() {
    return fallbacks.sum();
  }

  /** Closes the connections to the other nodes. */
  public Future<Void> close() {
    closed = true;
    List<Future<Void>> closing = java.util.stream.Stream.concat(peers.values().stream(), handoffPeers.values().stream())
        .map(OriginClient::close).toList();
    return Future.join(closing).mapEmpty();
  }
}
