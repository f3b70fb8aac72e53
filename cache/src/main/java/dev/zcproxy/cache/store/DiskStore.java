package dev.zcproxy.cache.store;

import dev.zcproxy.cache.CacheKey;
import dev.zcproxy.cache.EntryMeta;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.ToLongFunction;

/**
 * The on-disk object store: one file per stored response, indexed in memory by Caffeine and bounded
 * by bytes.
 *
 * <p>Methods that return a {@link CompletableFuture} do their disk work on the I/O executor and may be
 * called from an event loop; the others never block.
 */
public final class DiskStore implements AutoCloseable {

  /**
   * Opens the store: creates the directory if needed and starts the scan that rebuilds the index on
   * the I/O executor. Lookups during the scan see only what was indexed so far.
   *
   * @param config directory, size bound, fsync
   * @param ioExecutor where blocking disk work runs (open, write, fsync, rename, delete, scan)
   * @param clockMillis the clock (epoch millis) that {@code retainUntil} is compared with
   * @param retainUntil for an entry, the epoch millis after which it may leave the index
   */
  public static DiskStore open(StoreConfig config, Executor ioExecutor, java.util.function.LongSupplier clockMillis,
      ToLongFunction<EntryMeta> retainUntil) {
    throw new UnsupportedOperationException("TODO");
  }

  /** Every indexed variant stored for {@code primaryKey}; never blocks. */
  public List<EntryMeta> variants(String primaryKey) {
    throw new UnsupportedOperationException("TODO");
  }

  /** Completes when the startup scan has finished. */
  public CompletableFuture<Void> scanned() {
    throw new UnsupportedOperationException("TODO");
  }

  /**
   * Starts writing a new entry for {@code meta} (its body offset and length are filled in at commit).
   *
   * @param expectedLength the body length the origin announced, or -1 when unknown
   */
  public EntryWriter newWriter(EntryMeta meta, long expectedLength) {
    throw new UnsupportedOperationException("TODO");
  }

  /** Opens the file of an indexed entry for reading; the caller must close the result. */
  public CompletableFuture<OpenEntry> open(EntryMeta meta) {
    throw new UnsupportedOperationException("TODO");
  }

  /** Replaces the stored headers and times of an entry (after a 304) in the index and in its file. */
  public CompletableFuture<EntryMeta> update(EntryMeta updated) {
    throw new UnsupportedOperationException("TODO");
  }

  /** Removes one variant from the index and deletes its file. */
  public void remove(CacheKey key) {
    throw new UnsupportedOperationException("TODO");
  }

  /** Removes every variant of {@code primaryKey}; returns how many were removed. */
  public int invalidate(String primaryKey) {
    throw new UnsupportedOperationException("TODO");
  }

  /** The number of indexed entries. */
  public long entryCount() {
    throw new UnsupportedOperationException("TODO");
  }

  /** The bytes on disk of all indexed entries. */
  public long weightedBytes() {
    throw new UnsupportedOperationException("TODO");
  }

  @Override
  public void close() {
    throw new UnsupportedOperationException("TODO");
  }
}
