package dev.zcproxy.proxy.cluster;

import io.vertx.core.Future;

/** Starts a {@link HazelcastCluster}; loaded by name by {@link Clusters}, only when the cluster is on. */
public final class HazelcastClusterFactory implements ClusterFactory {
  @Override
  public Future<Cluster> start(ClusterContext context) {
    return HazelcastCluster.start(context);
  }
}
