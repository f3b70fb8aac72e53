package dev.zcproxy.cache.store;

import dev.zcproxy.cache.EntryMeta;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;

/**
 * Streams one response body into a temp file and publishes it as a cache entry by atomic rename only
 * when it is complete.
 *
 * <p>Calls never block: writes are queued in order to the store's I/O executor. A write error fails
 * the writer (later writes are dropped, {@link #commit} fails, the temp file is deleted) and is logged
 * once; the caller's response to its client is unaffected.
 */
public final class EntryWriter {

  /** Queues {@code data} (copied or taken over; the caller must not change it afterwards) to be appended to the body. */
  public void write(ByteBuffer data) {
    throw new UnsupportedOperationException("TODO");
  }

  /** Bytes accepted by {@link #write} but not yet on disk: the caller pauses its source when this grows large. */
  public long pendingBytes() {
    throw new UnsupportedOperationException("TODO");
  }

  /** Bytes of the body written to the file so far. */
  public long writtenBytes() {
    throw new UnsupportedOperationException("TODO");
  }

  /** Whether a write failed (or {@link #abort} was called): nothing will be published. */
  public boolean failed() {
    throw new UnsupportedOperationException("TODO");
  }

  /**
   * Publishes the entry once every queued write is on disk: checks the length against the expected one,
   * optionally forces the file, renames it into place and indexes it. Completes with the indexed meta,
   * or exceptionally (and nothing is stored).
   */
  public CompletableFuture<EntryMeta> commit() {
    throw new UnsupportedOperationException("TODO");
  }

  /** Drops the entry: queued writes are discarded and the temp file deleted. Safe to call more than once. */
  public void abort() {
    throw new UnsupportedOperationException("TODO");
  }
}
