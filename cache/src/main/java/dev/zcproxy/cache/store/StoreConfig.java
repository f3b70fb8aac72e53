package dev.zcproxy.cache.store;

import java.nio.file.Path;

/**
 * Where and how large the on-disk store is.
 *
 * @param dir the cache directory (created if missing)
 * @param maxBytes the bound on the bytes of all entry files; eviction keeps the total under it
 * @param fsync whether an entry's file is forced to disk before it is published
 * @param minFreeBytes free space of the file system the store never writes into (nginx's
 *     {@code min_free}): entries are evicted, or a body is not stored, rather than go below it
 */
public record StoreConfig(Path dir, long maxBytes, boolean fsync, long minFreeBytes) {
  public StoreConfig {
    java.util.Objects.requireNonNull(dir, "dir");
    if (maxBytes <= 0) {
      throw new IllegalArgumentException("maxBytes: " + maxBytes + " (expected: > 0)");
    }
    if (minFreeBytes < 0) {
      throw new IllegalArgumentException("minFreeBytes: " + minFreeBytes + " (expected: >= 0)");
    }
  }

  /** A store that may fill its file system. */
  public StoreConfig(Path dir, long maxBytes, boolean fsync) {
    this(dir, maxBytes, fsync, 0);
  }
}
