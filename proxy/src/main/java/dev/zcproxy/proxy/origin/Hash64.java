package dev.zcproxy.proxy.origin;

import java.nio.charset.StandardCharsets;

/**
 * The 64-bit string hash that spreads keys over servers and nodes: the consistent-hash ring of an
 * origin pool and the cluster's rendezvous ownership. Stable across JVMs and versions (every node of a
 * cluster must compute the same owner), unlike {@link String#hashCode()}.
 */
public final class Hash64 {
  private Hash64() {}

  /** 64-bit FNV-1a over the UTF-8 bytes, finished with {@link #mix} so that nearby strings spread. */
  public static long of(String s) {
    long h = 0xcbf29ce484222325L;
    for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
      h ^= b & 0xff;
      h *= 0x100000001b3L;
    }
    return mix(h);
  }

  /** MurmurHash3's 64-bit finalizer: every input bit affects every output bit. */
  public static long mix(long h) {
    h ^= h >>> 33;
    h *= 0xff51afd7ed558ccdL;
    h ^= h >>> 33;
    h *= 0xc4ceb9fe1a85ec53L;
    h ^= h >>> 33;
    return h;
  }
}
