package dev.zcproxy.cache.store;

import java.nio.file.Path;

/**
 * Where and how large the on-disk store is, how much heap its index may take, and how much of the
 * file system it must leave free.
 *
 * @param dir the cache directory (created if missing)
 * @param maxBytes the bound on the bytes of all entry files; eviction keeps the total under it
 * @param fsync whether an entry's file is forced to disk before it is published
 * @param indexHeapBytes the bound on the estimated heap of the index entries; eviction keeps the
 *     total under it, so the number of entries is bounded by memory, not only by disk bytes
 * @param minFreeBytes free space of the file system the store never writes into (nginx's
 *     {@code min_free}): entries are evicted, or a body is not stored, rather than go below it
 * @param tagHeaders stored response header fields whose space- or comma-separated values are the
 *     entry's tags (surrogate keys), indexed for purge by tag; empty: no tag index
 */
public record StoreConfig(Path dir, long maxBytes, boolean fsync, long indexHeapBytes, long minFreeBytes,
    java.util.List<String> tagHeaders) {
  /** The share of the maximum heap the index gets by default. */
  public static final int DEFAULT_INDEX_HEAP_PERCENT = 25;

  public StoreConfig {
    java.util.Objects.requireNonNull(dir, "dir");
    if (maxBytes <= 0) {
      throw new IllegalArgumentException("maxBytes: " + maxBytes + " (expected: > 0)");
    }
    if (indexHeapBytes <= 0) {
      throw new IllegalArgumentException("indexHeapBytes: " + indexHeapBytes + " (expected: > 0)");
    }
    if (minFreeBytes < 0) {
      throw new IllegalArgumentException("minFreeBytes: " + minFreeBytes + " (expected: >= 0)");
    }
    tagHeaders = java.util.List.copyOf(tagHeaders);
  }

  /** A store without a tag index. */
  public StoreConfig(Path dir, long maxBytes, boolean fsync, long indexHeapBytes, long minFreeBytes) {
    this(dir, maxBytes, fsync, indexHeapBytes, minFreeBytes, java.util.List.of());
  }

  /**
   * A store whose index may take {@link #DEFAULT_INDEX_HEAP_PERCENT} of this JVM's maximum heap and
   * which may fill its file system.
   */
  public StoreConfig(Path dir, long maxBytes, boolean fsync) {
    this(dir, maxBytes, fsync, heapShare(DEFAULT_INDEX_HEAP_PERCENT), 0);
  }

  /** This configuration indexing the tags in {@code headers}. */
  public StoreConfig withTagHeaders(java.util.List<String> headers) {
    return new StoreConfig(dir, maxBytes, fsync, indexHeapBytes, minFreeBytes, headers);
  }

  /** {@code percent} of {@link Runtime#maxMemory()}, at least 1 MiB. */
  public static long heapShare(int percent) {
    if (percent < 1 || percent > 100) {
      throw new IllegalArgumentException("percent: " + percent + " (expected: 1..100)");
    }
    return Math.max(1L << 20, Runtime.getRuntime().maxMemory() / 100 * percent);
  }

  /** This configuration with a heap bound of {@code bytes} for the index. */
  public StoreConfig withIndexHeapBytes(long bytes) {
    return new StoreConfig(dir, maxBytes, fsync, bytes, minFreeBytes, tagHeaders);
  }

  /** This configuration leaving {@code bytes} of the file system free. */
  public StoreConfig withMinFreeBytes(long bytes) {
    return new StoreConfig(dir, maxBytes, fsync, indexHeapBytes, bytes, tagHeaders);
  }
}
