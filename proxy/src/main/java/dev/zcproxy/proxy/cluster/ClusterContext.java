package dev.zcproxy.proxy.cluster;

import dev.zcproxy.cache.store.DiskStore;
import dev.zcproxy.proxy.config.ProxyConfig;

/**
 * What a cluster implementation is started with.
 *
 * @param config the {@code cluster:} section
 * @param advertiseHost the address peers reach this node at
 * @param httpPort this node's data port (the real one when it was configured as 0)
 * @param store the cache that invalidations from other nodes are applied to, or {@code null} without one
 */
public record ClusterContext(ProxyConfig.Cluster config, String advertiseHost, int httpPort, DiskStore store) {}
