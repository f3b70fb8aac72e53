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
    FunctionCounter.builder("zcproxy.cluster.invalidations.received", cluster, Cluster::invalidationsReceived)
        .description("Purges, soft purges, tag purges and bans received from other nodes.").register(registry);
    Gauge.builder("zcproxy.cluster.members", cluster, c -> c.members().size())
        .description("Live cluster members, this node included.").register(registry);
  }

  /** The cluster state in one line, for the start line and {@code /health}. */
  public static String describe(String name, Cluster cluster, OwnerRoute route) {
    return "cluster " + name + ": this node " + cluster.self().address() + " (id " + cluster.self().id() + "), "
        + cluster.members().size() + " members " + cluster.members().stream().map(Cluster.Node::address).toList()
        + (route == null ? "" : ", forwarded " + route.forwarded() + ", owner fallbacks " + route.ownerFallbacks())
        + ", invalidations received " + cluster.invalidationsReceived();
  }
}
