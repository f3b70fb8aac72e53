package dev.zcproxy.cache.store;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A read channel shared by the open-file cache and its readers, closed when the last reference goes.
 *
 * <p>It starts with one reference, held by the open-file cache (or by the opener when not cached),
 * released once by {@link #releaseOwner}; every {@link OpenEntry} holds one more.
 */
final class SharedChannel {
  private final FileChannel channel;
  private final long generation;
  private final AtomicInteger refs = new AtomicInteger(1);
  private final AtomicBoolean ownerReleased = new AtomicBoolean();

  SharedChannel(FileChannel channel, long generation) {
    this.channel = channel;
    this.generation = generation;
  }

  FileChannel channel() {
    return channel;
  }

  long generation() {
    return generation;
  }

  /** Takes a reference; false when the channel is already closed (the caller then opens anew). */
  boolean retain() {
    for (;;) {
      int r = refs.get();
      if (r <= 0) {
        return false;
      }
      if (refs.compareAndSet(r, r + 1)) {
        return true;
      }
    }
  }

  void release() {
    if (refs.decrementAndGet() == 0) {
      try {
        channel.close();
      } catch (IOException ignored) {
        // closing a read channel: nothing to recover
      }
    }
  }

  /** Releases the owner's (open-file cache's) reference; idempotent. */
  void releaseOwner() {
    if (ownerReleased.compareAndSet(false, true)) {
      release();
    }
  }

  int refCount() {
    return refs.get();
  }
}
