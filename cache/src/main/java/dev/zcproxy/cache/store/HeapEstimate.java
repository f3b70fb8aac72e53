package dev.zcproxy.cache.store;

import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.Headers;

/**
 * Structural estimates of heap: what one index entry costs (for bounding the index by heap) and what
 * one cached head costs (for weighing the head cache).
 *
 * <p>Sizes are for a 64-bit HotSpot with compressed oops and compressed class pointers (heaps below 32
 * GiB: 12-byte object headers, 4-byte references, 8-byte alignment). An index entry is a
 * {@link StoreEntry} (its own key) plus a fixed share for Caffeine's node, its hash-table node and
 * slot and its frequency sketch; a variant link or tags add their objects and the variant map's or tag
 * index's share. {@code HeapEstimateTest} checks it against the heap actually used after a full GC.
 * On heaps of 32 GiB and more (no compressed oops) entries are about a third larger than estimated;
 * the budget is then a quarter of a very large heap by default.
 */
final class HeapEstimate {
  static final int HEADER = 12;
  static final int REF = 4;

  /**
   * Caffeine's bounded, weighted, variably expiring node (key, value, weight, policy weight, queue
   * type, variable time, access-order and timer-wheel links: 56 bytes), its ConcurrentHashMap node
   * (32), table slot (4 to 8 bytes, the table being 1/2 to 1/4 full) and the frequency sketch (8 per
   * entry).
   */
  static final int INDEX_OVERHEAD = 56 + 32 + 8 + 8;
  /** {@link StoreEntry}: header, two longs of hash, generation, retainUntil, two ints, a reference. */
  static final int STORE_ENTRY = align(HEADER + 4 * 8 + 2 * 4 + REF);
  /** {@link StoreEntry.Extra}, its primary key hash, the variant map's key copy, node and slot. */
  static final int EXTRA = align(HEADER + 2 * REF) + 2 * align(HEADER + 16) + 32 + 8;

  private HeapEstimate() {}

  /** The estimated heap bytes of the index entry {@code e}. */
  static int entryBytes(StoreEntry e) {
    if (e.extra == null) {
      return INDEX_OVERHEAD + STORE_ENTRY;
    }
    long n = INDEX_OVERHEAD + STORE_ENTRY + EXTRA;
    for (String t : e.extra.tags()) {
      n += string(t) + 48; // the tag index's set node (shared strings not subtracted: an upper bound)
    }
    return (int) Math.min(Integer.MAX_VALUE, n + (e.extra.tags().isEmpty() ? 0 : list(e.extra.tags().size())));
  }

  /** The estimated heap bytes of a cached head: the {@link EntryMeta}, its strings and header fields. */
  static int headBytes(EntryMeta meta) {
    return (int) Math.min(Integer.MAX_VALUE, metaBytes(meta) + 64L); // + the head cache's node
  }

  /** The estimated heap bytes of an {@link EntryMeta}, its strings and header fields. */
  static int metaBytes(EntryMeta meta) {
    long n = align(HEADER + 4 * REF + 4 + 5 * 8) + string(meta.primaryKey())
        + (meta.variant().isEmpty() ? 0 : string(meta.variant())) + headers(meta.headers());
    return (int) Math.min(Integer.MAX_VALUE - 64, n);
  }

  /** A {@link Headers}: the object, its two immutable lists and the strings not shared. */
  static long headers(Headers h) {
    if (h.isEmpty()) {
      return 0; // the shared empty instance
    }
    long n = align(HEADER + 2 * REF) + 2 * list(h.size());
    for (int i = 0; i < h.size(); i++) {
      String name = h.name(i);
      if (!EntryCompactor.isCanonicalName(name)) {
        n += string(name);
      }
      n += string(h.value(i));
    }
    return n;
  }

  /** {@code List.copyOf} of {@code size} elements: List12 up to two, else ListN with an array. */
  static long list(int size) {
    if (size <= 2) {
      return align(HEADER + 2 * REF);
    }
    return align(HEADER + REF + 1) + align(16 + (long) REF * size);
  }

  /** A String: the object (value, hash, coder, hashIsZero) and its byte array (LATIN1 or UTF16). */
  static long string(String s) {
    int bytesPerChar = 1;
    for (int i = 0; i < s.length(); i++) {
      if (s.charAt(i) > 0xFF) {
        bytesPerChar = 2;
        break;
      }
    }
    return align(HEADER + REF + 4 + 1 + 1) + align(16 + (long) s.length() * bytesPerChar);
  }

  static int align(int n) {
    return (n + 7) & ~7;
  }

  static long align(long n) {
    return (n + 7) & ~7L;
  }
}
