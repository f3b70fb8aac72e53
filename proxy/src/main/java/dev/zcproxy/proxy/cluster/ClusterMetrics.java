package dev.zcproxy.proxy.cluster;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

/** The cluster's meters in the proxy's registry (scraped with the others by {@code /metrics}). */
public final class ClusterMetrics {
  private ClusterMetrics() {}

  /** Registers forwarded requests, owner fallbacks, invalidations received and the member count. */
  public static void register(MeterRegistry registry, Cluster cluster, OwnerRoute route) {
    FunctionCounter.builder("zcproxy.cluster.forwarded", route, OwnerRoute::forwarded)
        .description("Misses for keys another node owns, sent to that node.").register(registry);
    FunctionCounter.builder("zcproxy.cluster.owner.fallbacks", route, OwnerRoute::ownerFallbacks)
        .description("Misses for keys another node owns fetched from the origin because the owner failed or was slow.")
        .register(registry);
    FunctionCounter.builder("zcproxy.cluster.handoffs", route, OwnerRoute::handoffs)
        .description("Misses for keys this node owns asked from their previous owner first, after this node joined.")
        .register(registry);
    FunctionCounter.builder("zcproxy.cluster.handed.over", route, OwnerRoute::handedOver)
        .description("Hand-offs the previous owner answered from its cache (an origin request saved).").register(registry);
    FunctionCounter.builder("zcproxy.cluster.invalidations.received", cluster, Cluster::invalidationsReceived)
        .description("Purges, soft purges, tag purges and bans received from other nodes.").register(registry);
    FunctionCounter.builder("zcproxy.cluster.invalidations.replayed", cluster, Cluster::invalidationsReplayed)
        .description("Purges, soft purges and tag purges made while this node was away, replayed from the cluster's log.")
        .register(registry);
    Gauge.builder("zcproxy.cluster.members", cluster, c -> c.members().size())
        .description("Live cluster members, this node included.").register(registry);
  }

  /** The cluster state in one line, for the start line and {@code /health}. */
  public static String describe(String name, Cluster cluster, OwnerRoute route) {
    return "cluster " + name + ": this node " + cluster.self().address() + " (id " + cluster.self().id() + "), "
        + cluster.members().size() + " members " + cluster.members().stream().map(Cluster.Node::address).toList()
        + (route == null ? "" : ", forwarded " + route.forwarded() + ", owner fallbacks " + route.ownerFallbacks()
            + ", handed over " + route.handedOver() + "/" + route.handoffs())
        + ", invalidations received " + cluster.invalidationsReceived() + ", replayed " + cluster.invalidationsReplayed();
  }
}
