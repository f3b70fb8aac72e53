package dev.zcproxy.cache.store;

import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.Headers;

/**
 * A structural estimate of the heap one index entry takes, for bounding the index by heap.
 *
 * <p>It adds up the objects an entry owns on a 64-bit HotSpot with compressed oops and compressed
 * class pointers (heaps below 32 GiB: 12-byte object headers, 4-byte references, 8-byte alignment):
 * the hash, primary key and variant strings, the {@link EntryMeta}, its {@link Headers} with the two
 * immutable lists and every name and value string, the {@link StoreEntry}, and a fixed share for
 * Caffeine's node, its hash-table node and slot, its frequency sketch and the variant map's node.
 * Strings shared between entries ({@link EntryCompactor}'s canonical names and interned values, the
 * empty variant) count nothing (the interned values are a fixed cost, bounded by the compactor).
 * {@code HeapEstimateTest} checks it against the heap actually used after a full GC (typical small
 * object: about 820 bytes, within 2%). On heaps of 32 GiB and more (no compressed oops) entries are
 * about a third larger than estimated; the budget is then a quarter of a very large heap by default.
 */
final class HeapEstimate {
  static final int HEADER = 12;
  static final int REF = 4;

  /**
   * Caffeine's bounded, weighted, variably expiring node (key, value, weight, policy weight, queue
   * type, variable time, access-order and timer-wheel links: 56 bytes), its ConcurrentHashMap node
   * (32) and table slot (about 8), the frequency sketch (about 8 per entry), and the variant map's
   * node and slot (40).
   */
  static final int INDEX_OVERHEAD = 56 + 32 + 8 + 8 + 40;
  /** {@link StoreEntry}: header, two references, a long and an int. */
  static final int STORE_ENTRY = align(HEADER + 2 * REF + 8 + 4);
  /** {@link EntryMeta}: header, four references, an int and five longs. */
  static final int ENTRY_META = align(HEADER + 4 * REF + 4 + 5 * 8);
  /** {@link Headers}: header and two references. */
  static final int HEADERS = align(HEADER + 2 * REF);

  private HeapEstimate() {}

  /** The estimated heap bytes of an index entry for {@code meta} under {@code hash}, no string shared. */
  static int entryBytes(String hash, EntryMeta meta) {
    return entryBytes(hash, meta, null);
  }

  /**
   * The estimated heap bytes of an index entry for {@code meta} under {@code hash}; the values that
   * {@code compactor} (if not null) shares count nothing.
   */
  static int entryBytes(String hash, EntryMeta meta, EntryCompactor compactor) {
    long n = INDEX_OVERHEAD + STORE_ENTRY + ENTRY_META + string(hash) + string(meta.primaryKey())
        + (meta.variant().isEmpty() ? 0 : string(meta.variant())) + headers(meta.headers(), compactor);
    return (int) Math.min(Integer.MAX_VALUE, n);
  }

  /** A {@link Headers}: the object, its two immutable lists and the strings not shared. */
  static long headers(Headers h, EntryCompactor compactor) {
    if (h.isEmpty()) {
      return 0; // the shared empty instance
    }
    long n = HEADERS + 2 * list(h.size());
    for (int i = 0; i < h.size(); i++) {
      String name = h.name(i);
      if (!EntryCompactor.isCanonicalName(name)) {
        n += string(name);
      }
      String value = h.value(i);
      if (compactor == null || !compactor.isShared(value)) {
        n += string(value);
      }
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
