package dev.zcproxy.proxy.cluster;

import dev.zcproxy.cache.store.DiskStore;
import dev.zcproxy.proxy.config.ProxyConfig;
import java.nio.file.Path;

/**
 * What a cluster implementation is started with.
 *
 * @param config the {@code cluster:} section
 * @param advertiseHost the address peers reach this node at
 * @param httpPort this node's data port (the real one when it was configured as 0)
 * @param store the cache that invalidations from other nodes are applied to, or {@code null} without one
 * @param stateDir where this node records how far it applied the cluster's invalidation log (the cache
 *     directory, so that the record lives and dies with the cached objects), or {@code null} for nowhere
 */
public record ClusterContext(ProxyConfig.Cluster config, String advertiseHost, int httpPort, DiskStore store, Path stateDir) {

  /** Without a state directory: a restarted node replays the whole invalidation log. */
  public ClusterContext(ProxyConfig.Cluster config, String advertiseHost, int httpPort, DiskStore store) {
    this(config, advertiseHost, httpPort, store, null);
  }
}
