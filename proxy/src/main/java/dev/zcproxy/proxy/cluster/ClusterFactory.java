package dev.zcproxy.proxy.cluster;

import io.vertx.core.Future;

/** Starts a {@link Cluster} implementation; the implementation class is loaded by name, only when it is used. */
public interface ClusterFactory {
  /** Joins (or forms) the cluster; completes when this node is a member and receives invalidations. */
  Future<Cluster> start(ClusterContext context);
}
