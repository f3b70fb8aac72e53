package dev.zcproxy.cache.store;

import dev.zcproxy.cache.EntryMeta;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rebuilds the index from the files in the cache directory at startup (on the I/O executor).
 *
 * <p>Deletes temp files left by an earlier run, files whose header is not valid for this format
 * version (bad magic, other version, checksum mismatch, a name that does not match the key) or whose
 * size is not {@code bodyOffset + bodyLength} (truncated), and entries whose {@code retainUntil} has
 * passed. Of two files of one key (a crash between publishing and deleting the old one) the newer
 * response wins; an entry this instance has published since it started always wins. Files of this store instance (published while the scan runs) are left to their
 * writers, and files with names that are not entry names are left alone.
 *
 * <p>The scan obeys the index's bounds (heap and disk, see {@link StoreIndex}): once the index has no
 * room for an entry, its file is deleted rather than indexed. Leaving it on disk unindexed would let
 * the files outgrow {@code maxBytes} (nothing counts or evicts them) and every restart would read them
 * again; indexing it would only make Caffeine evict another entry read moments before (all have the
 * same, zero, frequency), with the removal notices of a whole oversized directory queued on the
 * executor. So after a restart with less heap or a smaller {@code maxBytes}, the entries first met in
 * directory order (effectively random) are kept and the rest are deleted, as eviction would have done.
 * The index is cleaned up every {@value #CLEAN_UP_EVERY} entries so its weighted size stays current.
 *
 * <p>The {@code dir/a/bc} directories are scanned by {@value #WORKERS} tasks on the I/O executor at
 * once (bounded, so live traffic keeps the rest of the executor); {@link #scanFile} also indexes the
 * files of one key on demand, for a lookup that comes before the scan reached them.
 */
final class StoreScanner {
  private static final Logger LOG = LoggerFactory.getLogger(StoreScanner.class);
  private static final int CLEAN_UP_EVERY = 256;
  /** How many scan tasks run at once. */
  static final int WORKERS = 2;
  private static final int FIRST_READ = 4096;

  private final DiskStore store;
  private final StoreLayout layout;
  private final AtomicInteger indexed = new AtomicInteger();
  private final AtomicInteger dropped = new AtomicInteger();
  private final AtomicInteger expired = new AtomicInteger();
  private final AtomicInteger noRoom = new AtomicInteger();
  private final AtomicInteger sinceCleanUp = new AtomicInteger();
  private final AtomicInteger missing = new AtomicInteger();
  /** The generations indexed from the snapshot whose files the scan has not listed yet. */
  private final GenerationSet known;
  private final boolean snapshotComplete;

  /**
   * What the snapshot gave the scan to reconcile.
   *
   * @param known the generations of the entries indexed from the snapshot
   * @param complete whether the snapshot was read whole (else the scan's result is written as a new one)
   */
  record Loaded(GenerationSet known, boolean complete) {}

  /** A scanner for lookups ({@link #scanFile}) with no snapshot to reconcile. */
  StoreScanner(DiskStore store) {
    this(store, new Loaded(new GenerationSet(), false));
  }

  StoreScanner(DiskStore store, Loaded loaded) {
    this.store = store;
    this.layout = store.layout();
    this.known = loaded.known();
    this.snapshotComplete = loaded.complete();
  }

  /** Cleans the temp directory, then scans every entry directory with {@link #WORKERS} tasks; completes {@code done}. */
  void run(CompletableFuture<Void> done) throws IOException {
    long start = System.nanoTime();
    Files.createDirectories(layout.dir());
    Files.createDirectories(layout.tmpDir());
    cleanTemp();
    ConcurrentLinkedQueue<Path> dirs = new ConcurrentLinkedQueue<>(entryDirs());
    AtomicInteger running = new AtomicInteger(WORKERS);
    Runnable worker = () -> {
      try {
        for (Path d; (d = dirs.poll()) != null && !store.isClosed(); ) {
          scanDir(d);
        }
      } catch (RuntimeException | Error t) {
        done.completeExceptionally(t);
        throw t;
      } finally {
        if (running.decrementAndGet() == 0) {
          if (!store.isClosed()) {
            removeMissing();
          }
          finish(start);
          done.complete(null);
          if (!store.isClosed()) {
            snapshotIfChanged();
          }
        }
      }
    };
    for (int i = 1; i < WORKERS; i++) {
      try {
        store.ioExecutor().execute(worker);
      } catch (RuntimeException e) { // shut down: this thread does the work
        running.decrementAndGet();
      }
    }
    worker.run();
  }

  /**
   * Removes the entries indexed from the snapshot whose files the scan did not list: purged, evicted
   * or replaced after the snapshot was written, before a crash. (A lookup never served them meanwhile:
   * it reads the head from the file.)
   */
  private void removeMissing() {
    if (known.size() == 0) {
      return;
    }
    StoreIndex index = store.index();
    for (StoreEntry e : index.all()) {
      if (known.contains(e.generation()) && index.removeIf(e)) {
        missing.incrementAndGet();
      }
    }
  }

  /**
   * After the scan: a snapshot of what it found, unless the scan changed nothing and the loaded one was
   * whole (or there was none and the index is empty).
   */
  private void snapshotIfChanged() {
    boolean changed = indexed.get() > 0 || dropped.get() > 0 || expired.get() > 0 || noRoom.get() > 0 || missing.get() > 0;
    if (!changed && snapshotComplete) {
      store.snapshotIsCurrent();
    } else if (changed || store.index().entryCount() > 0) {
      store.writeSnapshotIfChanged();
    }
  }

  private void finish(long start) {
    LOG.info("cache scan of {}: {} entries indexed, {} invalid and {} expired files deleted{} in {} ms",
        layout.dir(), indexed, dropped, expired,
        missing.get() > 0 ? ", " + missing + " entries of the snapshot whose files were gone removed" : "",
        (System.nanoTime() - start) / 1_000_000);
    if (noRoom.get() > 0) {
      LOG.warn("cache scan of {}: the index was full ({} MiB of heap, {} MiB on disk): {} more entries deleted;"
          + " raise -Xmx, cache.index-heap or cache.max-size to keep more", layout.dir(), store.config().indexHeapBytes() >> 20,
          store.config().maxBytes() >> 20, noRoom);
    }
  }

  /** The {@code dir/a/bc} directories (and any other directory two levels down, scanned the same way). */
  private List<Path> entryDirs() throws IOException {
    List<Path> out = new ArrayList<>(4096);
    try (DirectoryStream<Path> top = Files.newDirectoryStream(layout.dir(), Files::isDirectory)) {
      for (Path a : top) {
        if (a.equals(layout.tmpDir())) {
          continue;
        }
        try (DirectoryStream<Path> mid = Files.newDirectoryStream(a, Files::isDirectory)) {
          for (Path bc : mid) {
            out.add(bc);
          }
        } catch (IOException e) {
          LOG.debug("cache scan: cannot list {}: {}", a, e.toString());
        }
      }
    }
    return out;
  }

  /** Scans one {@code dir/a/bc} directory: a plain listing (no stat per file), then each file. */
  private void scanDir(Path dir) {
    boolean reconcile = known.size() > 0;
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
      for (Path file : ds) {
        if (store.isClosed()) {
          return;
        }
        if (reconcile) {
          StoreLayout.Name name = StoreLayout.parse(file.getFileName().toString());
          if (name != null && known.remove(name.generation())) {
            continue; // indexed from the snapshot: its file is here, no need to read it
          }
        }
        scanFile(file);
      }
    } catch (IOException | java.nio.file.DirectoryIteratorException e) {
      LOG.debug("cache scan: cannot list {}: {}", dir, e.toString());
    }
  }

  private void cleanTemp() throws IOException {
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(layout.tmpDir())) {
      for (Path p : ds) {
        if (!store.isLiveTemp(p) && p.getFileName().toString().endsWith(StoreLayout.TMP_SUFFIX)) {
          DiskStore.deleteQuietly(p);
          dropped.incrementAndGet();
        }
      }
    }
  }

  /** Indexes one entry file (or deletes it: invalid, expired, no room, older than the indexed one). Blocks. */
  void scanFile(Path file) {
    StoreLayout.Name name = StoreLayout.parse(file.getFileName().toString());
    if (name == null || !layout.isInPlace(file, name)) {
      LOG.debug("cache scan: ignoring {}", file);
      return;
    }
    if (store.isOwnGeneration(name.generation())) {
      return; // published by this instance while we scan: its writer indexed it
    }
    StoreIndex index = store.index();
    synchronized (store.lockFor(name.hash())) {
      StoreEntry cur = index.peek(name.hash());
      if (cur != null && cur.generation() == name.generation()) {
        return;
      }
      EntryMeta meta;
      try {
        meta = readHeader(file, name, store.hasher());
      } catch (NoSuchFileException e) {
        return;
      } catch (IOException e) {
        LOG.warn("cache scan: cannot read {}: {}", file, e.toString());
        return;
      } catch (EntryFormat.FormatException e) {
        LOG.debug("cache scan: deleting {}: {}", file, e.getMessage());
        DiskStore.deleteQuietly(file);
        dropped.incrementAndGet();
        return;
      }
      if (store.retainUntil(meta) <= store.now()) {
        DiskStore.deleteQuietly(file);
        expired.incrementAndGet();
        return;
      }
      StoreEntry e = store.entry(name.hash(), meta, name.generation());
      if (sinceCleanUp.incrementAndGet() >= CLEAN_UP_EVERY) {
        sinceCleanUp.set(0);
        index.cleanUp(); // evictions of live traffic and our own writes settle: weightedSize is current
      }
      StoreEntry existing = index.peek(e);
      if (existing == null && !index.hasRoomFor(e)) {
        DiskStore.deleteQuietly(file);
        noRoom.incrementAndGet();
        return;
      }
      existing = index.putIfAbsent(e);
      if (existing == null) {
        indexed.incrementAndGet();
      } else if (existing.generation() == e.generation()) {
        return; // this very file, indexed meanwhile from the snapshot (the loader takes no lock)
      } else if (!store.isOwnGeneration(existing.generation()) && isNewer(meta, e, existing)
          && index.replaceIfGeneration(existing.generation(), e)) {
        dropped.incrementAndGet(); // the older file is deleted by the index
      } else {
        DiskStore.deleteQuietly(file);
        dropped.incrementAndGet();
      }
    }
  }

  /** Whether the entry {@code a} (with meta {@code ma}) holds a newer response than the indexed {@code b}. */
  private boolean isNewer(EntryMeta ma, StoreEntry a, StoreEntry b) {
    EntryMeta mb = store.head(b);
    if (mb == null) {
      return true; // the indexed one is unreadable
    }
    long ra = ma.responseTime();
    long rb = mb.responseTime();
    return ra > rb || (ra == rb && Long.compareUnsigned(a.generation(), b.generation()) > 0);
  }

  /**
   * Reads and validates the header of {@code file}; when {@code name} is given, also that the key in it
   * hashes ({@code hasher}) to the file's name.
   */
  static EntryMeta readHeader(Path file, StoreLayout.Name name, KeyHasher hasher) throws IOException, EntryFormat.FormatException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      long size = ch.size();
      // One read of the first page holds the whole header of almost every entry.
      ByteBuffer first = ByteBuffer.allocate((int) Math.min(FIRST_READ, Math.max(size, EntryFormat.FIXED_SIZE)));
      readFully(ch, first, 0);
      first.flip();
      int metaLength = EntryFormat.metaLength(first.duplicate());
      ByteBuffer header;
      if (EntryFormat.FIXED_SIZE + metaLength <= first.limit()) {
        header = first.limit(EntryFormat.FIXED_SIZE + metaLength);
      } else {
        header = ByteBuffer.allocate(EntryFormat.FIXED_SIZE + metaLength);
        header.put(first);
        readFully(ch, header, header.position());
        header.flip();
      }
      EntryMeta meta = EntryFormat.decode(header).meta();
      if (name != null && !hasher.hash(meta.primaryKey(), meta.variant()).equals(name.hash())) {
        throw new EntryFormat.FormatException("key does not match file name");
      }
      if (size != meta.bodyOffset() + meta.bodyLength()) {
        throw new EntryFormat.FormatException(
            "file size " + size + " (expected: " + (meta.bodyOffset() + meta.bodyLength()) + ")");
      }
      return meta;
    } catch (java.io.EOFException e) {
      throw new EntryFormat.FormatException("truncated header");
    }
  }

  private static void readFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
    while (buf.hasRemaining()) {
      int n = ch.read(buf, position);
      if (n < 0) {
        throw new java.io.EOFException();
      }
      position += n;
    }
  }
}
