package dev.zcproxy.cache.store;

import dev.zcproxy.cache.EntryMeta;
import java.util.List;

/**
 * One indexed entry: only what a lookup and the bounds need (key hash, the file's generation, its
 * size, when it may leave the index, a fingerprint of its meta), about 56 bytes. The stored head
 * (URL, status, header fields) stays in the entry file; {@link DiskStore} reads it on demand into its
 * head cache. An entry is its own index key ({@link Key128}).
 *
 * <p>Every file gets a generation that is unique to it (it is part of the file name), so a new file
 * for the same key never replaces an indexed one on disk, and an entry leaving the index can delete
 * its own file without checking what else lives at that key. An in-place 304 update keeps the
 * generation (same file), a rewrite gets a new one. The file's path is derived from hash and
 * generation ({@link StoreLayout#entryPath}), not kept.
 *
 * <p>The rare entries that need more (a {@code Vary} variant, whose primary key must be found again
 * on removal; tags) carry it in {@link #extra}.
 */
final class StoreEntry extends Key128 {
  final long generation;
  /** Epoch millis after which the entry may leave the index. */
  final long retainUntil;
  /** The file size in KiB, rounded up, at least 1. */
  final int diskKiB;
  /** {@link #fingerprint(EntryMeta)} of the meta this entry was indexed with. */
  final int fingerprint;
  /** Null, or the variant link and tags. */
  final Extra extra;

  /**
   * What few entries need.
   *
   * @param primary the hash of the primary key, for a variant entry (else null)
   * @param tags the entry's tags (empty when none)
   */
  record Extra(Key128 primary, List<String> tags) {}

  StoreEntry(String hash, EntryMeta meta, long generation, long retainUntil, Extra extra) {
    super(parseHi(hash), parseLo(hash));
    this.generation = generation;
    this.retainUntil = retainUntil;
    this.diskKiB = (int) Math.min(Integer.MAX_VALUE, Math.max(1, (meta.bodyOffset() + meta.bodyLength() + 1023) >>> 10));
    this.fingerprint = fingerprint(meta);
    this.extra = extra;
  }

  /** An entry as an {@link IndexSnapshot} recorded it. */
  StoreEntry(IndexSnapshot.Record r) {
    super(r.hi(), r.lo());
    this.generation = r.generation();
    this.retainUntil = r.retainUntil();
    this.diskKiB = Math.max(1, r.diskKiB());
    this.fingerprint = r.fingerprint();
    this.extra = r.primary() == null && r.tags().isEmpty() ? null : new Extra(r.primary(), r.tags());
  }

  /** A plain entry (no variant link, no tags). */
  StoreEntry(String hash, EntryMeta meta, long generation, long retainUntil) {
    this(hash, meta, generation, retainUntil, null);
  }

  /** A hash of everything in {@code meta}: tells a changed (updated, soft-purged) entry from the one read. */
  static int fingerprint(EntryMeta meta) {
    return meta.hashCode();
  }

  /** The 32 hex digits of the key hash. */
  String hash() {
    return hex();
  }

  long generation() {
    return generation;
  }

  long diskKiB() {
    return diskKiB;
  }

  /** Whether this entry was indexed with exactly {@code meta} (up to a 32-bit fingerprint). */
  boolean isOf(EntryMeta meta) {
    return fingerprint == fingerprint(meta);
  }

  /** The hash of the primary key when this is a {@code Vary} variant, else null. */
  Key128 primary() {
    return extra == null ? null : extra.primary();
  }

  List<String> tags() {
    return extra == null ? List.of() : extra.tags();
  }

  /** The estimated heap this entry costs in the index ({@link HeapEstimate#entryBytes}). */
  int heapBytes() {
    return HeapEstimate.entryBytes(this);
  }
}
