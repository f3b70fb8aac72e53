package dev.zcproxy.proxy.cluster;

import io.vertx.core.Future;

/**
 * Starts the cluster when {@code cluster.enabled} is true. The Hazelcast implementation is loaded by its
 * class name here and nowhere else, so a proxy without a cluster loads no Hazelcast class at all.
 */
public final class Clusters {
  /** The implementation, in this package; it alone refers to Hazelcast. */
  static final String HAZELCAST = "dev.zcproxy.proxy.cluster.HazelcastClusterFactory";

  private Clusters() {}

  /** Starts the cluster implementation named by {@link #HAZELCAST}. */
  public static Future<Cluster> start(ClusterContext context) {
    ClusterFactory factory;
    try {
      factory = Class.forName(HAZELCAST).asSubclass(ClusterFactory.class).getDeclaredConstructor().newInstance();
    } catch (ReflectiveOperationException | LinkageError e) {
      return Future.failedFuture(new IllegalStateException("cluster.enabled is true but the Hazelcast cluster cannot be loaded: " + e, e));
    }
    return factory.start(context);
  }
}
