/**
 * The zcproxy cluster: cache key ownership over the live members, misses forwarded to their owner node,
 * invalidations broadcast to every node.
 *
 * <p>Everything here but the {@code Hazelcast*} classes is free of Hazelcast, and those are loaded by
 * name only when {@code cluster.enabled} is true ({@link Clusters#start}): a single node never loads a
 * Hazelcast class.
 */
package dev.zcproxy.proxy.cluster;
