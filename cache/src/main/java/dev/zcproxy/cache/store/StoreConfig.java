package dev.zcproxy.cache.store;

import java.nio.file.Path;

/**
 * Where and how large the on-disk store is.
 *
 * @param dir the cache directory (created if missing)
 * @param maxBytes the bound on the bytes of all entry files; eviction keeps the total under it
 * @param fsync whether an entry's file is forced to disk before it is published
 */
public record StoreConfig(Path dir, long maxBytes, boolean fsync) {
  public StoreConfig {
    java.util.Objects.requireNonNull(dir, "dir");
    if (maxBytes <= 0) {
      throw new IllegalArgumentException("maxBytes: " + maxBytes + " (expected: > 0)");
    }
  }
}
