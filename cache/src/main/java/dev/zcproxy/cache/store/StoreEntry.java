package dev.zcproxy.cache.store;

import dev.zcproxy.cache.EntryMeta;

/**
 * One indexed entry: its meta, the file's generation and the estimated heap it costs in the index.
 *
 * <p>Every file gets a generation that is unique to it (it is part of the file name), so a new file
 * for the same key never replaces an indexed one on disk, and an entry leaving the index can delete
 * its own file without checking what else lives at that key. An in-place 304 update keeps the
 * generation (same file), a rewrite gets a new one. The file's path is derived from hash and
 * generation ({@link StoreLayout#entryPath}), not kept: a {@code Path} costs about 200 bytes of heap.
 *
 * @param heapBytes {@link HeapEstimate#entryBytes} of this entry, fixed at construction
 */
record StoreEntry(String hash, EntryMeta meta, long generation, int heapBytes) {

  StoreEntry(String hash, EntryMeta meta, long generation) {
    this(hash, meta, generation, HeapEstimate.entryBytes(hash, meta));
  }

  /** The bytes of the file: header, padding and body. */
  long fileSize() {
    return meta.bodyOffset() + meta.bodyLength();
  }

  /** The file size in KiB, rounded up, at least 1. */
  long diskKiB() {
    return Math.max(1, (fileSize() + 1023) >>> 10);
  }
}
