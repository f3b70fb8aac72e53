package dev.zcproxy.proxy.cluster;

import io.vertx.core.Future;
import java.util.List;

/**
 * The view of the cluster one node has: its members, which of them owns a cache key, and the channel
 * invalidations are broadcast on.
 */
public interface Cluster {

  /** A member as the others reach it: its id and the host and port of its HTTP (data) listener. */
  record Node(String id, String host, int port) {
    /** {@code host:port} of the data listener; ownership is hashed over it, so a restarted node keeps its keys. */
    public String address() {
      return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
  }

  /** This node. */
  Node self();

  /** The live members, this node included, ordered by address. */
  List<Node> members();

  /** The owner of {@code primaryKey} when it is another node, or {@code null} when it is this one. */
  default Node ownerOf(String primaryKey) {
    Node owner = Rendezvous.owner(members(), primaryKey);
    return owner == null || owner.address().equals(self().address()) ? null : owner;
  }

  /** Broadcasts an invalidation this node has applied to every other node (and keeps it for nodes that are away). */
  void invalidated(Invalidation invalidation);

  /** Invalidations received from other nodes and applied here. */
  long invalidationsReceived();

  /** Invalidations made while this node was away, replayed from the cluster's log when it (re)joined. */
  default long invalidationsReplayed() {
    return 0;
  }

  /** Leaves the cluster. */
  Future<Void> close();
}
