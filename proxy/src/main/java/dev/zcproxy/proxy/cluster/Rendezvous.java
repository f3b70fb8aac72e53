package dev.zcproxy.proxy.cluster;

import java.nio.charset.StandardCharsets;
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

  /** 64-bit FNV-1a over the UTF-8 bytes. */
  static long hash(String s) {
    long h = 0xcbf29ce484222325L;
    for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
      h ^= b & 0xff;
      h *= 0x100000001b3L;
    }
    return mix(h);
  }

  /** MurmurHash3's 64-bit finalizer: every input bit affects every output bit. */
  static long mix(long h) {
    h ^= h >>> 33;
    h *= 0xff51afd7ed558ccdL;
    h ^= h >>> 33;
    h *= 0xc4ceb9fe1a85ec53L;
    h ^= h >>> 33;
    return h;
  }
}
