package dev.zcproxy.cache.store;

import dev.zcproxy.cache.EntryMeta;
import java.nio.file.Path;

/**
 * One indexed entry: its meta, its file and the file's generation.
 *
 * <p>Every file gets a generation that is unique to it (it is part of the file name), so a new file
 * for the same key never replaces an indexed one on disk, and an entry leaving the index can delete
 * its own file without checking what else lives at that key. An in-place 304 update keeps the
 * generation (same file), a rewrite gets a new one.
 */
record StoreEntry(String hash, EntryMeta meta, Path path, long generation) {

  /** The bytes of the file: header, padding and body. */
  long fileSize() {
    return meta.bodyOffset() + meta.bodyLength();
  }

  /** The index weight: the file size in KiB, rounded up, clamped to an int. */
  int weightKiB() {
    long kib = (fileSize() + 1023) >>> 10;
    return (int) Math.min(Integer.MAX_VALUE, Math.max(1, kib));
  }
}
