package dev.zcproxy.cache.store;

import dev.zcproxy.cache.EntryMeta;
import java.nio.channels.FileChannel;

/**
 * An open, readable stored entry: its meta and a file channel positioned by offsets, which the proxy
 * sends with sendfile; closing it releases the file.
 */
public final class OpenEntry implements AutoCloseable {

  public EntryMeta meta() {
    throw new UnsupportedOperationException("TODO");
  }

  /** The entry's file; the body is at {@code meta().bodyOffset()} for {@code meta().bodyLength()} bytes. */
  public FileChannel channel() {
    throw new UnsupportedOperationException("TODO");
  }

  /** Releases this reference; the channel is closed when no reference remains and the store let it go. */
  @Override
  public void close() {
    throw new UnsupportedOperationException("TODO");
  }
}
