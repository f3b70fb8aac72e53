package dev.zcproxy.cache.store;

import dev.zcproxy.cache.EntryMeta;
import java.nio.channels.FileChannel;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * An open, readable stored entry: its meta and a file channel positioned by offsets, which the proxy
 * sends with sendfile; closing it releases the file.
 *
 * <p>The channel is shared with other readers of the same file and with the store's open-file cache:
 * use positional reads or {@code transferTo(position, ...)} only, never the channel's own position,
 * and never close the channel itself. The file stays readable while this is open even if the entry is
 * evicted or replaced meanwhile (its directory entry is unlinked, the open file is not).
 */
public final class OpenEntry implements AutoCloseable {
  private final EntryMeta meta;
  private final SharedChannel shared;
  private final AtomicBoolean closed = new AtomicBoolean();

  OpenEntry(EntryMeta meta, SharedChannel shared) {
    this.meta = meta;
    this.shared = shared;
  }

  /**
   * The meta of the file this reads: the index's current meta when opened, which may be newer than
   * the one passed to {@link DiskStore#open} (a 304 update) but always describes this file's body.
   */
  public EntryMeta meta() {
    return meta;
  }

  /** The entry's file; the body is at {@code meta().bodyOffset()} for {@code meta().bodyLength()} bytes. */
  public FileChannel channel() {
    return shared.channel();
  }

  /**
   * The generation of this entry's file: unique to the file, kept by an in-place 304 update (same body),
   * never reused by another file. A copy of the body may be cached under it.
   */
  public long generation() {
    return shared.generation();
  }

  /** Releases this reference; the channel is closed when no reference remains and the store let it go. Idempotent. */
  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      shared.release();
    }
  }
}
