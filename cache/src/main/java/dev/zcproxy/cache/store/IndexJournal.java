package dev.zcproxy.cache.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The files an {@link IndexSnapshot} cannot tell changed: an in-place update (a 304's new headers, a
 * soft purge) keeps the file's name, so the startup scan would trust the snapshot's size, deadline
 * and fingerprint for it. Each such update first appends {@code (key hash, generation)} to
 * {@code dir/index.journal.<n>}; at start every journal is replayed (those files' heads are read
 * again). A snapshot switches to a new journal before it reads the index and deletes the older
 * journals once it is in place; the read-write lock makes a switch wait for the updates that wrote
 * the old journal, so none of them is missing from both the snapshot and the kept journals.
 */
final class IndexJournal implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(IndexJournal.class);
  static final String PREFIX = "index.journal.";
  private static final int RECORD = 24;

  private final Path dir;
  private final boolean fsync;
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  private long id;
  private FileChannel ch;
  private boolean closed;

  IndexJournal(Path dir, boolean fsync) {
    this.dir = dir;
    this.fsync = fsync;
    long max = 0;
    for (long i : ids(dir)) {
      max = Math.max(max, i);
    }
    this.id = max + 1;
  }

  /** The ids of the journal files in {@code dir}. */
  static List<Long> ids(Path dir) {
    List<Long> out = new ArrayList<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, PREFIX + "*")) {
      for (Path p : ds) {
        try {
          out.add(Long.parseLong(p.getFileName().toString().substring(PREFIX.length())));
        } catch (NumberFormatException e) {
          // not ours
        }
      }
    } catch (IOException e) {
      LOG.debug("cannot list the journals in {}: {}", dir, e.toString());
    }
    return out;
  }

  /** Every {@code (hi, lo, generation)} recorded in the journals of {@code dir} (a cut-short last record is ignored). */
  static List<long[]> replay(Path dir) {
    List<long[]> out = new ArrayList<>();
    for (long i : ids(dir)) {
      try {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(dir.resolve(PREFIX + i)));
        while (b.remaining() >= RECORD) {
          out.add(new long[] {b.getLong(), b.getLong(), b.getLong()});
        }
      } catch (IOException e) {
        LOG.warn("cannot read the index journal {}: {}", dir.resolve(PREFIX + i), e.toString());
      }
    }
    return out;
  }

  /** Held by an in-place update from before its {@link #append} until the index holds its result. */
  ReentrantReadWriteLock.ReadLock updating() {
    return lock.readLock();
  }

  /** Records that the file {@code key}-{@code generation} is about to change in place. Blocks (a write). */
  void append(Key128 key, long generation) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(RECORD).putLong(key.hi).putLong(key.lo).putLong(generation).flip();
    synchronized (this) {
      if (closed) {
        throw new IOException("index journal closed");
      }
      if (ch == null) {
        ch = FileChannel.open(dir.resolve(PREFIX + id), StandardOpenOption.CREATE, StandardOpenOption.WRITE,
            StandardOpenOption.APPEND);
      }
      while (b.hasRemaining()) {
        ch.write(b);
      }
      if (fsync) {
        ch.force(false);
      }
    }
  }

  /**
   * Starts a new journal once the updates in progress are done; returns the new id: after a snapshot
   * taken from now on is in place, {@link #deleteBelow} it.
   */
  long rotate() {
    lock.writeLock().lock();
    try {
      synchronized (this) {
        closeChannel();
        return ++id;
      }
    } finally {
      lock.writeLock().unlock();
    }
  }

  /** Deletes the journals older than {@code keepFrom} (their updates are in the snapshot now in place). */
  void deleteBelow(long keepFrom) {
    for (long i : ids(dir)) {
      if (i < keepFrom) {
        DiskStore.deleteQuietly(dir.resolve(PREFIX + i));
      }
    }
  }

  private void closeChannel() {
    if (ch != null) {
      try {
        ch.close();
      } catch (IOException e) {
        LOG.debug("cannot close the index journal: {}", e.toString());
      }
      ch = null;
    }
  }

  @Override
  public synchronized void close() {
    closed = true;
    closeChannel();
  }
}
