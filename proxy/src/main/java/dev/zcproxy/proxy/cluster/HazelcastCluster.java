package dev.zcproxy.proxy.cluster;

import com.hazelcast.cluster.Member;
import com.hazelcast.cluster.MembershipEvent;
import com.hazelcast.cluster.MembershipListener;
import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.MapConfig;
import com.hazelcast.config.MultiMapConfig;
import com.hazelcast.config.NetworkConfig;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import dev.zcproxy.cache.store.DiskStore;
import dev.zcproxy.proxy.config.ProxyConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cluster on Vert.x's Hazelcast cluster manager, in a Vert.x instance of its own (one event loop)
 * beside the data path's: membership comes from Hazelcast, invalidations travel on the clustered event
 * bus, and bans are also kept in a Hazelcast map that a node re-applies when it (re)joins.
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

  private final Vertx vertx;
  private final HazelcastInstance hz;
  private final ProxyConfig.Cluster config;
  private final DiskStore store;
  private final Signer signer;
  private final String address;
  private final Node self;
  private final LongAdder received = new LongAdder();
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
  }

  static Future<Cluster> start(ClusterContext ctx) {
    ProxyConfig.Cluster c = ctx.config();
    HazelcastClusterManager manager = new HazelcastClusterManager(hazelcastConfig(ctx));
    VertxOptions options = new VertxOptions().setEventLoopPoolSize(1).setWorkerPoolSize(2);
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
    return hz;
  }

  private Future<Void> init() {
    hz.getCluster().addMembershipListener(new MembershipListener() {
      @Override
      public void memberAdded(MembershipEvent e) {
        refresh();
        LOG.info("cluster member joined: {}; members {}", e.getMember().getAttribute(HOST_ATTRIBUTE) + ":"
            + e.getMember().getAttribute(PORT_ATTRIBUTE), describeMembers());
        resyncBans();
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
    return consumer.completion().compose(v -> resyncBans());
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
  private String signed(Invalidation inv) {
    String body = new JsonObject().put("node", self.address()).put("inv", inv.toJson()).encode();
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
    String message = signed(inv);
    vertx.eventBus().publish(address, message);
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

  @Override
  public long invalidationsReceived() {
    return received.sum();
  }

  @Override
  public Future<Void> close() {
    // Vert.x leaves the cluster and shuts the Hazelcast instance it made down
    return vertx.close();
  }
}
