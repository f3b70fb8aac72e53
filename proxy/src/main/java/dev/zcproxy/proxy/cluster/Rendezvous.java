package dev.zcproxy.proxy.cluster;

import java.util.List;

/**
 * Rendezvous (highest random weight) hashing: a key belongs to the node with the highest score of
 * hash(node, key). When a node leaves only its keys move (each to the node that scored second), and when
 * it comes back exactly those keys return to it.
 */
public final class Rendezvous {
  private Rendezvous() {}

  /** The owner of {@code key} among {@code nodes}, or {@code null} when there are none. */
  public static Cluster.Node owner(List<Cluster.Node> nodes, String key) {
    long k = hash(key);
    Cluster.Node best = null;
    long bestScore = 0;
    for (Cluster.Node n : nodes) {
      long score = mix(k ^ hash(n.address()));
      // ties (practically never) go to the smaller address, so every node decides alike
      if (best == null || Long.compareUnsigned(score, bestScore) > 0
          || (score == bestScore && n.address().compareTo(best.address()) < 0)) {
        best = n;
        bestScore = score;
      }
    }
    return best;
  }

  static long hash(String s) {
    return dev.zcproxy.proxy.origin.Hash64.of(s);
  }

  static long mix(long h) {
    return dev.zcproxy.proxy.origin.Hash64.mix(h);
  }
}
