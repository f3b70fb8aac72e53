package dev.zcproxy.proxy.cluster;

import com.hazelcast.cluster.Member;
import com.hazelcast.cluster.MembershipEvent;
import com.hazelcast.cluster.MembershipListener;
import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.MapConfig;
import com.hazelcast.config.MultiMapConfig;
import com.hazelcast.config.NetworkConfig;
import com.hazelcast.config.RingbufferConfig;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import com.hazelcast.ringbuffer.OverflowPolicy;
import com.hazelcast.ringbuffer.ReadResultSet;
import com.hazelcast.ringbuffer.Ringbuffer;
import dev.zcproxy.cache.store.DiskStore;
import dev.zcproxy.proxy.config.ProxyConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.file.FileSystemOptions;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cluster on Vert.x's Hazelcast cluster manager, in a Vert.x instance of its own (one event loop)
 * beside the data path's: membership comes from Hazelcast, invalidations travel on the clustered event
 * bus, and bans are also kept in a Hazelcast map that a node re-applies when it (re)joins.
 *
 * <p>Purges, soft purges and tag purges are also appended to a Hazelcast ring buffer, the invalidation
 * log (bounded by {@code cluster.invalidation-log} entries and {@code cluster.invalidation-retention}):
 * while a node is a member it gets every event on the bus, and once a second it records the log's tail
 * as applied ({@link InvalidationProgress}, beside its cache). A node that (re)joins replays the entries
 * after its record (and {@value #REPLAY_OVERLAP} before it, for events that were still on their way),
 * so a purge made while it was away (stopped, killed, cut off) reaches it too. The log has an
 * epoch, drawn by the first node that uses it: after the whole cluster was down the log starts again,
 * and a node whose record names another epoch replays all of it (replays change only what was stored
 * before the invalidation, so replaying too much costs nothing but lookups).
 *
 * <p>Hazelcast is configured here in code, never from a {@code hazelcast.xml} on the class path: TCP/IP
 * join with the configured members only (multicast and auto-detection off), the cluster name derived
 * from {@code cluster.name} and {@code cluster.secret} ({@link Signer}), logging through slf4j, no phone
 * home, no JVM shutdown hook of its own (zcproxy leaves the cluster when it stops), and failure
 * detection after {@code cluster.failure-timeout}.
 */
final class HazelcastCluster implements Cluster {
  private static final Logger LOG = LoggerFactory.getLogger(HazelcastCluster.class);
  private static final String HOST_ATTRIBUTE = "zcproxy.host";
  private static final String PORT_ATTRIBUTE = "zcproxy.port";
  private static final String BANS_MAP = "zcproxy.bans";
  private static final String LOG_RING = "zcproxy.invalidations";
  private static final String META_MAP = "zcproxy.meta";
  private static final String EPOCH_KEY = "invalidation-log-epoch";
  /** Sequences replayed before the recorded one: events still on their way when the tail was recorded. */
  private static final long REPLAY_OVERLAP = 32;
  private static final int READ_BATCH = 500;

  private final Vertx vertx;
  private final HazelcastInstance hz;
  private final ProxyConfig.Cluster config;
  private final DiskStore store;
  private final Signer signer;
  private final String address;
  private final Node self;
  private final LongAdder received = new LongAdder();
  private final LongAdder replayed = new LongAdder();
  private final InvalidationProgress progress;
  private volatile String epoch = "";
  private long flushTimer = -1;
  private volatile List<Node> members;
  private MessageConsumer<String> consumer;

  private HazelcastCluster(Vertx vertx, HazelcastInstance hz, ClusterContext ctx) {
    this.vertx = vertx;
    this.hz = hz;
    this.config = ctx.config();
    this.store = ctx.store();
    this.signer = new Signer(config.secret());
    this.address = "zcproxy.invalidations." + config.name();
    this.self = node(hz.getCluster().getLocalMember());
    this.members = List.of(self);
    this.progress = InvalidationProgress.load(ctx.stateDir());
  }

  static Future<Cluster> start(ClusterContext ctx) {
    ProxyConfig.Cluster c = ctx.config();
    HazelcastClusterManager manager = new HazelcastClusterManager(hazelcastConfig(ctx));
    // No class-path files (ProxyServer says why): no /tmp/vertx-cache-<uuid> left by a killed member.
    VertxOptions options = new VertxOptions().setEventLoopPoolSize(1).setWorkerPoolSize(2)
        .setFileSystemOptions(new FileSystemOptions().setClassPathResolvingEnabled(false).setFileCachingEnabled(false));
    options.getEventBusOptions().setHost(ctx.advertiseHost()).setPort(c.busPort()).setClusterPublicHost(ctx.advertiseHost());
    return Vertx.builder().with(options).withClusterManager(manager).buildClustered().compose(v -> {
      HazelcastCluster cluster = new HazelcastCluster(v, manager.getHazelcastInstance(), ctx);
      return cluster.init().map(x -> (Cluster) cluster).recover(t -> v.close().transform(ar -> Future.failedFuture(t)));
    });
  }

  static Config hazelcastConfig(ClusterContext ctx) {
    ProxyConfig.Cluster c = ctx.config();
    Config hz = new Config();
    hz.setClusterName(Signer.clusterName(c.name(), c.secret()));
    hz.setInstanceName("zcproxy-" + ctx.advertiseHost() + "-" + c.port());
    long failure = Math.max(1, c.failureTimeout().toSeconds());
    hz.setProperty("hazelcast.logging.type", "slf4j");
    hz.setProperty("hazelcast.phone.home.enabled", "false");
    hz.setProperty("hazelcast.shutdownhook.enabled", "false");
    hz.setProperty("hazelcast.health.monitoring.level", "OFF");
    hz.setProperty("hazelcast.max.no.heartbeat.seconds", Long.toString(failure));
    hz.setProperty("hazelcast.heartbeat.interval.seconds", Long.toString(Math.max(1, failure / 5)));
    hz.setProperty("hazelcast.wait.seconds.before.join", "1");
    hz.setProperty("hazelcast.max.wait.seconds.before.join", "2");
    hz.setProperty("hazelcast.local.localAddress", ctx.advertiseHost());
    hz.setProperty("hazelcast.socket.bind.any", "false");
    NetworkConfig net = hz.getNetworkConfig();
    net.setPort(c.port()).setPortAutoIncrement(false);
    net.setPublicAddress(ctx.advertiseHost() + ":" + c.port());
    net.getRestApiConfig().setEnabled(false);
    JoinConfig join = net.getJoin();
    join.getMulticastConfig().setEnabled(false);
    join.getAutoDetectionConfig().setEnabled(false);
    join.getTcpIpConfig().setEnabled(true).setConnectionTimeoutSeconds((int) Math.min(5, failure)).setMembers(new ArrayList<>(c.members()));
    hz.getMemberAttributeConfig().setAttribute(HOST_ATTRIBUTE, ctx.advertiseHost());
    hz.getMemberAttributeConfig().setAttribute(PORT_ATTRIBUTE, Integer.toString(ctx.httpPort()));
    // what Vert.x's default-cluster.xml declares for its own structures
    hz.addMultiMapConfig(new MultiMapConfig("__vertx.subs").setBackupCount(1)
        .setValueCollectionType(MultiMapConfig.ValueCollectionType.SET));
    hz.addMapConfig(new MapConfig("__vertx.haInfo").setBackupCount(1));
    hz.addMapConfig(new MapConfig("__vertx.nodeInfo").setBackupCount(1));
    hz.addMapConfig(new MapConfig(BANS_MAP).setBackupCount(1));
    hz.addMapConfig(new MapConfig(META_MAP).setBackupCount(1));
    hz.addRingBufferConfig(new RingbufferConfig(LOG_RING).setCapacity(c.invalidationLog()).setBackupCount(1)
        .setTimeToLiveSeconds((int) c.invalidationRetention().toSeconds()));
    return hz;
  }

  private Future<Void> init() {
    hz.getCluster().addMembershipListener(new MembershipListener() {
      @Override
      public void memberAdded(MembershipEvent e) {
        refresh();
        LOG.info("cluster member joined: {}; members {}", e.getMember().getAttribute(HOST_ATTRIBUTE) + ":"
            + e.getMember().getAttribute(PORT_ATTRIBUTE), describeMembers());
        resyncBans().compose(v -> catchUp());
      }

      @Override
      public void memberRemoved(MembershipEvent e) {
        refresh();
        LOG.info("cluster member left: {}; members {}", e.getMember().getAttribute(HOST_ATTRIBUTE) + ":"
            + e.getMember().getAttribute(PORT_ATTRIBUTE), describeMembers());
      }
    });
    refresh();
    consumer = vertx.eventBus().consumer(address, m -> onMessage(m.body()));
    // Once a second: the log's tail is recorded as applied (this node is a member and gets every event
    // on the bus; one still in flight is covered by the replay's overlap) and written if it moved.
    flushTimer = vertx.setPeriodic(1000, t -> vertx.executeBlocking(() -> {
      String ofEpoch = epoch;
      if (!ofEpoch.isEmpty()) {
        progress.applied(ofEpoch, hz.<String>getRingbuffer(LOG_RING).tailSequence());
      }
      progress.flush();
      return null;
    }, false));
    return consumer.completion().compose(v -> resyncBans()).compose(v -> {
      Future<Void> caughtUp = catchUp();
      // a cache still scanning its files replays once it is done, without holding the start up
      return store == null || store.scanned().isDone() ? caughtUp : Future.succeededFuture();
    });
  }

  private void refresh() {
    List<Node> nodes = new ArrayList<>();
    for (Member m : hz.getCluster().getMembers()) {
      Node n = node(m);
      if (n != null) {
        nodes.add(n);
      }
    }
    nodes.sort(Comparator.comparing(Node::address));
    members = List.copyOf(nodes);
  }

  private static Node node(Member m) {
    String host = m.getAttribute(HOST_ATTRIBUTE);
    String port = m.getAttribute(PORT_ATTRIBUTE);
    if (host == null || port == null) {
      return null; // not a zcproxy node
    }
    return new Node(m.getUuid().toString(), host, Integer.parseInt(port));
  }

  private String describeMembers() {
    return members.stream().map(Node::address).toList().toString();
  }

  @Override
  public Node self() {
    return self;
  }

  @Override
  public List<Node> members() {
    return members;
  }

  // ---------------------------------------------------------------- invalidations

  /** The signed event: the sender, the invalidation, and an HMAC over both with the cluster secret. */
  private String signed(Invalidation inv, String ofEpoch, long seq) {
    JsonObject b = new JsonObject().put("node", self.address()).put("inv", inv.toJson());
    if (ofEpoch != null) {
      b.put("epoch", ofEpoch).put("seq", seq); // where it is in the invalidation log
    }
    String body = b.encode();
    return new JsonObject().put("body", body).put("mac", signer.sign(body)).encode();
  }

  /** The invalidation in a signed event, or {@code null} when its signature does not verify. */
  private JsonObject verified(String message) {
    try {
      JsonObject m = new JsonObject(message);
      String body = m.getString("body");
      if (body == null || !signer.verify(body, m.getString("mac"))) {
        return null;
      }
      return new JsonObject(body);
    } catch (RuntimeException e) {
      return null;
    }
  }

  @Override
  public void invalidated(Invalidation inv) {
    String message = signed(inv, null, -1);
    // published at once (the nodes that are up apply it within milliseconds), kept in the log for the others
    vertx.eventBus().publish(address, message);
    if (inv.kind() != Invalidation.Kind.BAN) {
      Ringbuffer<String> log = hz.getRingbuffer(LOG_RING);
      log.addAsync(message, OverflowPolicy.OVERWRITE).whenComplete((seq, t) -> {
        if (t != null) {
          LOG.warn("invalidation could not be kept in the cluster's log (nodes that are away will miss it): {}", t.toString());
        }
      });
    }
    if (inv.kind() == Invalidation.Kind.BAN) {
      IMap<String, String> bans = hz.getMap(BANS_MAP);
      bans.setAsync(signer.sign(inv.banIdentity()), message, config.banRetention().toMillis(), TimeUnit.MILLISECONDS)
          .whenComplete((v, t) -> {
            if (t != null) {
              LOG.warn("ban could not be kept in the cluster (nodes that are away will miss it): {}", t.toString());
            }
          });
    }
  }

  private void onMessage(String message) {
    JsonObject body = verified(message);
    if (body == null) {
      LOG.warn("dropped an invalidation event without a valid signature (another cluster.secret?)");
      return;
    }
    if (self.address().equals(body.getString("node"))) {
      return; // applied where it was made
    }
    Invalidation inv = Invalidation.fromJson(body.getJsonObject("inv"));
    received.increment();
    if (store != null) {
      StoreInvalidations.apply(store, inv).whenComplete((v, t) -> {
        if (t != null) {
          LOG.warn("invalidation from {} could not be applied: {}", body.getString("node"), t.toString());
        }
      });
    }

    LOG.debug("applied {} {} from {}", inv.kind(), inv.subject(), body.getString("node"));
  }

  /** Adds the bans kept in the cluster that this node's store lacks (it was away, or is new). */
  private Future<Void> resyncBans() {
    if (store == null) {
      return Future.succeededFuture();
    }
    return vertx.executeBlocking(() -> {
      IMap<String, String> bans = hz.getMap(BANS_MAP);
      int added = 0;
      for (String message : bans.values()) {
        JsonObject body = verified(message);
        if (body == null) {
          continue;
        }
        Invalidation inv = Invalidation.fromJson(body.getJsonObject("inv"));
        if (inv.kind() == Invalidation.Kind.BAN && !StoreInvalidations.has(store, inv)) {
          StoreInvalidations.apply(store, inv);
          added++;
        }
      }
      if (added > 0) {
        LOG.info("re-applied {} ban(s) kept in the cluster", added);
      }
      return null;
    }, false).mapEmpty();
  }

  /**
   * Replays the entries of the invalidation log this node has not applied (it was away, or is new):
   * those after its recorded sequence when the log is the one it recorded, else all of them.
   */
  private Future<Void> catchUp() {
    if (store == null) {
      return Future.succeededFuture();
    }
    return Future.fromCompletionStage(store.scanned()).compose(s -> vertx.executeBlocking(() -> {
      IMap<String, String> meta = hz.getMap(META_MAP);
      String drawn = UUID.randomUUID().toString();
      String current = meta.putIfAbsent(EPOCH_KEY, drawn);
      String logEpoch = current == null ? drawn : current;
      epoch = logEpoch;
      Ringbuffer<String> log = hz.getRingbuffer(LOG_RING);
      long head = log.headSequence();
      long tail = log.tailSequence();
      long from = head;
      if (logEpoch.equals(progress.epoch())) {
        long next = progress.sequence() + 1;
        if (next < head) {
          LOG.warn("{} invalidation(s) made while this node was away are no longer in the cluster's log"
              + " (cluster.invalidation-log / invalidation-retention): what they purged may be served until it expires", head - next);
        }
        from = Math.max(head, next - REPLAY_OVERLAP);
      }
      int applied = 0;
      int replays = 0;
      for (long seq = from; seq <= tail; ) {
        ReadResultSet<String> batch = log.readManyAsync(seq, 0, (int) Math.min(READ_BATCH, tail - seq + 1), null)
            .toCompletableFuture().get(30, TimeUnit.SECONDS);
        if (batch.readCount() == 0) {
          break;
        }
        for (int i = 0; i < batch.size(); i++) {
          JsonObject body = verified(batch.get(i));
          if (body == null || self.address().equals(body.getString("node"))) {
            continue; // forged, or made here: applied here when it was made
          }
          replays++;
          applied += StoreInvalidations.replay(store, Invalidation.fromJson(body.getJsonObject("inv"))).get(30, TimeUnit.SECONDS);
        }
        seq = batch.getNextSequenceToReadFrom();
      }
      replayed.add(replays);
      if (tail >= 0) {
        progress.applied(logEpoch, tail);
      }
      progress.flush();
      if (replays > 0) {
        LOG.info("replayed {} invalidation(s) from the cluster's log ({} stored variants removed or marked stale)", replays, applied);
      }
      return null;
    }, false)).<Void>mapEmpty().recover(t -> {
      // the log moved on while it was read (entries expired), or the cluster is going away: not a reason
      // to keep this node out; the next member change tries again
      LOG.warn("could not replay the cluster's invalidation log: {}", t.toString());
      return Future.succeededFuture();
    });
  }

  @Override
  public long invalidationsReplayed() {
    return replayed.sum();
  }

  @Override
  public long invalidationsReceived() {
    return received.sum();
  }

  @Override
  public Future<Void> close() {
    vertx.cancelTimer(flushTimer);
    progress.flush(); // one small file, once, at shutdown
    // Vert.x leaves the cluster and shuts the Hazelcast instance it made down
    return vertx.close();
  }
}
