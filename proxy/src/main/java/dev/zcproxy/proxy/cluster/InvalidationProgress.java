package dev.zcproxy.proxy.cluster;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How far this node has applied the cluster's invalidation log: the log's epoch (a new one each time the
 * whole cluster starts from nothing) and the highest sequence applied, kept in a small file beside the
 * cache so that a node restarted with its disk cache replays only what it missed.
 */
final class InvalidationProgress {
  private static final Logger LOG = LoggerFactory.getLogger(InvalidationProgress.class);
  /** The file's name in the cache directory (the store scans only its fan-out directories). */
  static final String FILE = "cluster-invalidations";

  private final Path file;
  private String epoch;
  private long sequence;
  private boolean dirty;

  private InvalidationProgress(Path file, String epoch, long sequence) {
    this.file = file;
    this.epoch = epoch;
    this.sequence = sequence;
  }

  /** The progress recorded in {@code dir}, or none yet (also when {@code dir} is {@code null}: nothing is written). */
  static InvalidationProgress load(Path dir) {
    Path f = dir == null ? null : dir.resolve(FILE);
    if (f != null) {
      try {
        String[] parts = Files.readString(f, StandardCharsets.US_ASCII).strip().split(" ");
        if (parts.length == 2) {
          return new InvalidationProgress(f, parts[0], Long.parseLong(parts[1]));
        }
        LOG.warn("ignoring {}: not \"EPOCH SEQUENCE\"", f);
      } catch (NoSuchFileException e) {
        // first start with this cache
      } catch (IOException | NumberFormatException e) {
        LOG.warn("ignoring {}: {}", f, e.toString());
      }
    }
    return new InvalidationProgress(f, "", -1);
  }

  /** The epoch of the log the recorded sequence belongs to ({@code ""} when none is recorded). */
  synchronized String epoch() {
    return epoch;
  }

  /** The highest sequence of {@link #epoch()} applied here, {@code -1} for none. */
  synchronized long sequence() {
    return sequence;
  }

  /** Records that the invalidation at {@code seq} of {@code ofEpoch} was applied here (or made here). */
  synchronized void applied(String ofEpoch, long seq) {
    if (!ofEpoch.equals(epoch)) {
      epoch = ofEpoch;
      sequence = seq;
      dirty = true;
    } else if (seq > sequence) {
      sequence = seq;
      dirty = true;
    }
  }

  /** Writes the record if it changed since the last write (temp file and rename, so it is never half written). Blocks. */
  void flush() {
    String text;
    synchronized (this) {
      if (!dirty || file == null) {
        return;
      }
      dirty = false;
      text = epoch + " " + sequence + "\n";
    }
    Path tmp = file.resolveSibling(FILE + ".tmp");
    try {
      Files.writeString(tmp, text, StandardCharsets.US_ASCII);
      try {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException e) {
      synchronized (this) {
        dirty = true;
      }
      LOG.warn("cannot record the cluster invalidation progress in {}: {}", file, e.toString());
    }
  }
}
