package dev.zcproxy.cache.store;

import static java.util.Objects.requireNonNull;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.RemovalCause;
import dev.zcproxy.cache.Bans;
import dev.zcproxy.cache.CacheKey;
import dev.zcproxy.cache.EntryMeta;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongFunction;
import java.util.function.LongSupplier;
import java.util.function.ToLongFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The on-disk object store: one file per stored response, indexed in memory by Caffeine and bounded
 * by bytes.
 *
 * <p>Methods that return a {@link CompletableFuture} do their disk work on the I/O executor and may be
 * called from an event loop; the others never block.
 *
 * <h2>Files (DESIGN.md §2)</h2>
 * Each stored variant is one file {@code dir/a/bc/<hash>-<generation>}: {@code hash} is
 * {@link CacheKey#hash()}, {@code a}/{@code bc} its first three hex digits (nginx {@code levels=1:2}),
 * and the generation is unique to the file. The file is a versioned header ({@link EntryFormat}), zero
 * padding and the body at a 4 KiB aligned {@code bodyOffset}; a hit is head + {@code sendfile(fd,
 * bodyOffset, bodyLength)}. Bodies are written to {@code dir/tmp/} and renamed into place atomically
 * once complete and of the announced length: a crash, a truncated origin body or a full disk never
 * leaves a file that could be served as complete.
 *
 * <h2>Why unique file names</h2>
 * A new response for a key gets a new file, so publishing it never overwrites the indexed file of
 * the old response, and removal notices (which Caffeine delivers asynchronously) delete exactly the
 * file of the entry that left, never its successor. The index entry carries the generation; an in-place
 * 304 update keeps it, a rewrite gets a new one. After a crash two files of one key can exist; the
 * startup scan keeps the newer response.
 *
 * <h2>Index</h2>
 * {@link StoreIndex}: bounded by {@code maxBytes} on disk and by {@link StoreConfig#indexHeapBytes()}
 * of (estimated) heap, whichever binds first, so many tiny objects cannot exhaust the heap; W-TinyLFU
 * admission (a new entry may be evicted at once: its file is then deleted), expiry at
 * {@code retainUntil(meta)} on a ticker derived from the injected clock. Index lifetime is not
 * freshness: the policy decides fresh or stale at lookup time.
 *
 * <h2>Open files</h2>
 * {@link #open} returns a reference-counted {@link OpenEntry}. Channels are kept in a bounded cache by
 * generation, so a hit usually completes synchronously without {@code open(2)}; a channel is closed
 * when it has left that cache (or its entry left the index) and the last reader closed it. Unlinking
 * an open file is safe: an in-flight sendfile finishes.
 *
 * <h2>Invalidation</h2>
 * Purge ({@link #invalidate}), soft purge ({@link #softInvalidate}: the entry's
 * {@link EntryMeta#invalidatedAt} is set in the index and its file), purge by tag ({@link #purgeTag},
 * through the {@link TagIndex}) and bans ({@link #ban}: tested in {@link #variants}, so lazily at
 * lookup, and by {@link #sweepBans}; the list is the file {@code bans} in the cache directory).
 *
 * <h2>Restart</h2>
 * {@link #open(StoreConfig, Executor, LongSupplier, ToLongFunction)} scans the directory on the I/O
 * executor ({@link StoreScanner}); lookups meanwhile see what was indexed so far. The scan obeys the
 * same bounds: once the index is full it deletes the files it has no room for.
 */
public final class DiskStore implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(DiskStore.class);
  static final int DEFAULT_MAX_OPEN_FILES = 1024;
  /** The most cache files kept open by default, when the process may open twice as many descriptors. */
  static final int MAX_OPEN_FILES_CEILING = 16_384;
  private static final int LOCK_STRIPES = 64;
  private static final long GEN_COUNTER_MASK = (1L << 40) - 1;
  private static final long WRITE_ERROR_LOG_INTERVAL_NANOS = 10_000_000_000L;

  /** Test seam: called on the I/O executor before each body write; may throw to simulate a disk error. */
  interface WriteHook {
    void beforeWrite(Path temp, long position, int length) throws IOException;
  }

  private final StoreConfig config;
  private final StoreLayout layout;
  private final Executor ioExecutor;
  private final LongSupplier clockMillis;
  private final ToLongFunction<EntryMeta> retainUntil;
  private final StoreIndex index;
  private final KeyHasher hasher;
  private final ThreadLocal<KeyMemo> lastKey = ThreadLocal.withInitial(KeyMemo::new);
  /**
   * Stored heads (the meta decoded from entry files) by {@code (generation, fingerprint)}: a changed
   * entry has a new key, so a stale head is never served, it just ages out. Bounded by bytes.
   */
  private final Cache<Key128, EntryMeta> heads;
  private final EntryCompactor compactor = new EntryCompactor();
  /** Test seam: the scan waits for it before reading the directory. */
  private final CompletableFuture<?> scanGate;
  private final Cache<Long, SharedChannel> openFiles;
  private final Set<EntryWriter> writers = ConcurrentHashMap.newKeySet();
  /** Primary key -> the generation counter when it was last invalidated; older writers may not publish. */
  private final com.github.benmanes.caffeine.cache.Cache<String, Long> invalidatedBelow =
      com.github.benmanes.caffeine.cache.Caffeine.newBuilder().maximumSize(100_000)
          .expireAfterWrite(java.time.Duration.ofHours(1)).build();
  private final Object publishLock = new Object();
  /**
   * Set while {@link #publish} runs (on the I/O executor): the file work of entries its writes remove
   * (replaced, evicted) then runs right there instead of as one more task on the pool (each task wakes
   * a pool thread: futex calls per fill).
   */
  private final ThreadLocal<Boolean> inPublish = new ThreadLocal<>();
  /** Where a removed entry's file work runs: inline inside {@link #publish}, the I/O executor everywhere else. */
  private final Executor maintenance;
  /** Bans, persisted in {@link #BANS_FILE} in the cache directory. */
  private final Bans bans;
  private final java.util.concurrent.atomic.LongAdder banMatches = new java.util.concurrent.atomic.LongAdder();
  private final Object bansFileLock = new Object();
  static final String BANS_FILE = "bans";
  private final Set<Path> liveTemps = ConcurrentHashMap.newKeySet();
  private final Object[] locks = new Object[LOCK_STRIPES];
  private final long session;
  private final AtomicLong generations = new AtomicLong();
  private final CompletableFuture<Void> scanned = new CompletableFuture<>();
  /** Completes when the index snapshot has been loaded (or found missing or unusable). */
  private final CompletableFuture<Void> loaded = new CompletableFuture<>();
  /** In-place updates since the last snapshot. */
  private final IndexJournal journal;
  private final Object snapshotLock = new Object();
  private final java.util.concurrent.atomic.AtomicBoolean snapshotQueued = new java.util.concurrent.atomic.AtomicBoolean();
  /** {@link StoreIndex#changes()} when the last snapshot began; -1: none written by this instance. */
  private volatile long snapshotChanges = -1;
  private volatile long snapshotNanos = System.nanoTime();
  /** {@link StoreIndex#changes()} when the snapshot had been loaded. */
  private volatile long changesAtLoad = -1;
  /** How often an index snapshot is written while the index changes (and at a clean stop). */
  static final long SNAPSHOT_INTERVAL_NANOS = 300_000_000_000L;
  private volatile boolean closed;
  private final java.util.concurrent.atomic.AtomicBoolean closing = new java.util.concurrent.atomic.AtomicBoolean();
  private final AtomicLong lastWriteErrorLog = new AtomicLong(System.nanoTime() - WRITE_ERROR_LOG_INTERVAL_NANOS);
  private final AtomicLong suppressedWriteErrors = new AtomicLong();
  volatile WriteHook writeHook = (temp, position, length) -> { };
  /** Told the generation of every file that left the index for good (see {@link #onFileGone}). */
  private volatile java.util.function.LongConsumer goneListener = generation -> { };
  /** Told the meta of every entry a writer published (see {@link #onPublished}). */
  private volatile java.util.function.ObjLongConsumer<EntryMeta> publishedListener = (meta, generation) -> { };
  volatile long failWritesAfter = -1;

  private DiskStore(StoreConfig config, Executor ioExecutor, LongSupplier clockMillis,
      ToLongFunction<EntryMeta> retainUntil, int maxOpenFiles, KeyHasher hasher, CompletableFuture<?> scanGate) {
    this.config = config;
    this.hasher = hasher;
    this.scanGate = scanGate;
    this.layout = new StoreLayout(config.dir());
    this.ioExecutor = ioExecutor;
    this.clockMillis = clockMillis;
    this.retainUntil = retainUntil;
    for (int i = 0; i < locks.length; i++) {
      locks[i] = new Object();
    }
    // The top 24 bits of every generation name this store instance, so that the scan can tell the
    // files this instance is publishing (left alone) from those of earlier runs.
    this.session = (new SecureRandom().nextInt() & 0xFFFFFFL) | 1L;
    this.bans = loadBans(config.dir().resolve(BANS_FILE));
    this.journal = new IndexJournal(config.dir(), config.fsync());
    this.maintenance = task -> {
      if (inPublish.get() != null) {
        task.run();
        return;
      }
      try {
        ioExecutor.execute(task);
      } catch (java.util.concurrent.RejectedExecutionException stopping) {
        task.run(); // the pool is stopping: the file work is done here rather than lost
      }
    };
    // The index's maintenance (draining the read buffers a hit fills, expiry, eviction) and its removal notices
    // run on the caller: in-memory work, not a task to the I/O pool from the event loop every few hits. Only a
    // removed entry's file work (close, delete) goes to the I/O executor (inline inside publish, as before).
    this.index = new StoreIndex(config.maxBytes(), config.indexHeapBytes(), Runnable::run, clockMillis,
        e -> maintenance.execute(() -> fileGone(e)), new TagIndex(config.tagHeaders()));
    this.heads = Caffeine.newBuilder()
        .maximumWeight(headCacheBytes(config))
        .weigher((Key128 k, EntryMeta m) -> HeapEstimate.headBytes(m))
        .executor(Runnable::run) // no removal work: maintenance on the caller, not a task to cache-io every few hits
        .build();
    // Maintenance on the caller too, as openNow promises to schedule nothing: with the I/O executor every few reads of
    // the hit path (openNow, on an event loop) handed a task to the pool (a thread woken, a futex each way) to reorder a
    // few nodes. With 10,000 4 KiB keys that was ~2 us per request in a profile, though no rate moved beyond the noise
    // without it (loadtest/results/KEYS-2026-12-04b.md). A channel evicted for size is then released on the thread that
    // evicted it: a close(2) of a file that stays on disk (a removed entry's file is dropped from this set by fileGone,
    // on the I/O executor, before it is deleted).
    this.openFiles = Caffeine.newBuilder()
        .maximumSize(maxOpenFiles)
        .executor(Runnable::run)
        .removalListener((Long gen, SharedChannel ch, RemovalCause cause) -> {
          if (ch != null) {
            ch.releaseOwner();
          }
        })
        .build();
  }

  /**
   * Opens the store: creates the directory if needed and starts the scan that rebuilds the index on
   * the I/O executor. Lookups during the scan see only what was indexed so far.
   *
   * @param config directory, size bound, fsync
   * @param ioExecutor where blocking disk work runs (open, write, fsync, rename, delete, scan)
   * @param clockMillis the clock (epoch millis) that {@code retainUntil} is compared with
   * @param retainUntil for an entry, the epoch millis after which it may leave the index
   */
  public static DiskStore open(StoreConfig config, Executor ioExecutor, java.util.function.LongSupplier clockMillis,
      ToLongFunction<EntryMeta> retainUntil) {
    return open(config, ioExecutor, clockMillis, retainUntil, maxOpenFilesFor(fileDescriptorLimit()));
  }

  /**
   * How many cache files the store keeps open for a process that may open {@code fdLimit} descriptors
   * ({@code -1}: unknown, then {@value #DEFAULT_MAX_OPEN_FILES}): half the limit stays for client connections
   * ({@code listen.max-connections} is documented as at most half of it) and 1,024 more for origin connections, splice
   * pipes, logs and the JVM's own files; the rest, at most {@value #MAX_OPEN_FILES_CEILING}, and at least a quarter of
   * the limit or {@value #DEFAULT_MAX_OPEN_FILES}, whichever is less. A hit on a file not kept open pays an
   * {@code open(2)} on the I/O pool and cannot take the front path: with 10,000 small objects out of the RAM tier and
   * 1,024 files open, nine hits in ten did (loadtest/results/KEYS-2026-12-03b.md). Each open file costs a descriptor and
   * a few hundred bytes of heap.
   */
  static int maxOpenFilesFor(long fdLimit) {
    if (fdLimit < 0) {
      return DEFAULT_MAX_OPEN_FILES;
    }
    long floor = Math.min(DEFAULT_MAX_OPEN_FILES, fdLimit / 4);
    return (int) Math.max(floor, Math.min(MAX_OPEN_FILES_CEILING, fdLimit / 2 - 1024));
  }

  /**
   * The process's limit on open file descriptors (the JVM raises the soft limit to the hard one), or -1: the one figure
   * the open-file bound here and the proxy's client-connection bound (half of it each) are taken from.
   */
  public static long fileDescriptorLimit() {
    try {
      return java.lang.management.ManagementFactory.getOperatingSystemMXBean()
          instanceof com.sun.management.UnixOperatingSystemMXBean unix ? unix.getMaxFileDescriptorCount() : -1;
    } catch (RuntimeException | LinkageError e) {
      return -1;
    }
  }

  /**
   * As {@link #open(StoreConfig, Executor, LongSupplier, ToLongFunction)}, but the start-up work (loading the index
   * snapshot, then the scan) is handed to {@code startExecutor}, which may hold it (a start that serves before it
   * rebuilds its index); every other task, the lookups that meanwhile find entries on disk among them, goes to
   * {@code ioExecutor}.
   */
  public static DiskStore open(StoreConfig config, Executor ioExecutor, Executor startExecutor, LongSupplier clockMillis,
      ToLongFunction<EntryMeta> retainUntil) {
    return open(config, ioExecutor, requireNonNull(startExecutor, "startExecutor"), clockMillis, retainUntil,
        maxOpenFilesFor(fileDescriptorLimit()), KeyHasher.SHA256, CompletableFuture.completedFuture(null));
  }

  static DiskStore open(StoreConfig config, Executor ioExecutor, LongSupplier clockMillis,
      ToLongFunction<EntryMeta> retainUntil, int maxOpenFiles) {
    return open(config, ioExecutor, clockMillis, retainUntil, maxOpenFiles, KeyHasher.SHA256,
        CompletableFuture.completedFuture(null));
  }

  /** Tests: with another key hash function, and a scan that starts once {@code scanGate} completes. */
  static DiskStore open(StoreConfig config, Executor ioExecutor, LongSupplier clockMillis,
      ToLongFunction<EntryMeta> retainUntil, int maxOpenFiles, KeyHasher hasher, CompletableFuture<?> scanGate) {
    return open(config, ioExecutor, ioExecutor, clockMillis, retainUntil, maxOpenFiles, hasher, scanGate);
  }

  private static DiskStore open(StoreConfig config, Executor ioExecutor, Executor startExecutor, LongSupplier clockMillis,
      ToLongFunction<EntryMeta> retainUntil, int maxOpenFiles, KeyHasher hasher, CompletableFuture<?> scanGate) {
    requireNonNull(config, "config");
    requireNonNull(ioExecutor, "ioExecutor");
    requireNonNull(clockMillis, "clockMillis");
    requireNonNull(retainUntil, "retainUntil");
    DiskStore store = new DiskStore(config, ioExecutor, clockMillis, retainUntil, maxOpenFiles, hasher, scanGate);
    LOG.info("cache index bounded by {} MiB of heap (max heap {} MiB) and {} MiB on disk",
        config.indexHeapBytes() >> 20, Runtime.getRuntime().maxMemory() >> 20, config.maxBytes() >> 20);
    try {
      Files.createDirectories(config.dir()); // the free-space probe needs it; the scan would create it later
    } catch (IOException e) {
      LOG.warn("cannot create the cache directory {}: {}", config.dir(), e.toString());
    }
    store.measureFree();
    startExecutor.execute(() -> {
      try {
        StoreScanner.Loaded loaded = store.loadSnapshot();
        store.scanGate.join();
        new StoreScanner(store, loaded).run(store.scanned);
      } catch (Throwable t) {
        LOG.error("cache scan of {} failed", config.dir(), t);
        store.loaded.complete(null);
        store.scanned.completeExceptionally(t);
      }
    });
    return store;
  }

  /** The head cache's bound: half the index's heap budget, at most 64 MiB, at least 1 MiB. */
  static long headCacheBytes(StoreConfig config) {
    return Math.max(1L << 20, Math.min(64L << 20, config.indexHeapBytes() / 2));
  }

  // ---- lookup ----

  /** The hash naming {@code key} in this store (index key and file name). */
  String hashOf(CacheKey key) {
    return hasher.hash(key.primary(), key.variant());
  }

  /**
   * The index key of a variant, from a one-entry memo per thread: a hit hashes its URL for the lookup and
   * again to find its entry ({@link #indexed}, {@link #open}); the second is then a string comparison, not
   * a SHA-256.
   */
  private Key128 keyOf(String primary, String variant) {
    return keyOf(lastKey.get(), primary, variant);
  }

  private Key128 keyOf(KeyMemo m, String primary, String variant) {
    Key128 k = m.key;
    if (k != null && primary.equals(m.primary) && variant.equals(m.variant)) {
      return k;
    }
    k = hasher.key(primary, variant);
    m.primary = primary;
    m.variant = variant;
    m.key = k;
    return k;
  }

  /** The last key hashed on a thread ({@link #keyOf}), and the last entry {@link #lookup} found there with its head. */
  private static final class KeyMemo {
    String primary;
    String variant;
    Key128 key;
    /** The entry the thread's last lookup answered from the head cache, and that head ({@link #indexed} reuses it). */
    StoreEntry entry;
    EntryMeta head;
    /** The one-head list the last single-entry lookup answered (immutable: handed out again for the same head). */
    List<EntryMeta> found;
    /** The last {@link Indexed} made (immutable: handed out again for the same head and file). */
    Indexed indexed;
    /** The entry whose head-cache key {@link #headKey} is. */
    StoreEntry headOf;
    Key128 headKey;

    /** {@code e}'s key in the head cache: the one made for the thread's last entry while it asks for the same. */
    Key128 headKey(StoreEntry e) {
      if (headOf != e) {
        headKey = DiskStore.headKey(e);
        headOf = e;
      }
      return headKey;
    }
  }

  /** The indexed entries that may be variants of {@code primaryKey} (not yet checked against their heads). */
  private List<StoreEntry> candidates(String primaryKey) {
    Key128 plain = keyOf(primaryKey, "");
    return index.candidates(plain, () -> Key128.of(hasher.primaryHash(primaryKey)));
  }

  private static Key128 headKey(StoreEntry e) {
    return new Key128(e.generation(), e.fingerprint);
  }

  /** The cached head of {@code e}, or null when it is not in the head cache. Never blocks. */
  private EntryMeta cachedHead(StoreEntry e) {
    return heads.getIfPresent(headKey(e));
  }

  /**
   * The head of {@code e}: from the head cache, else read from its file (blocks on disk) and cached.
   * Null when the file cannot be read (gone meanwhile, corrupt).
   */
  EntryMeta head(StoreEntry e) {
    EntryMeta m = cachedHead(e);
    return m != null ? m : loadHead(e, true);
  }

  /** Reads the head of {@code e} from its file; caches it when {@code cache} and it is still {@code e}'s. */
  private EntryMeta loadHead(StoreEntry e, boolean cache) {
    EntryMeta m;
    try {
      m = StoreScanner.readHeader(pathOf(e), null, null);
    } catch (NoSuchFileException | EntryFormat.FormatException x) {
      if (!isOwnGeneration(e.generation())) {
        // Indexed from a snapshot, which does not read the files: gone since (purged, evicted, replaced
        // before a crash) or not valid (damaged, truncated, another format version). The scan would have
        // dropped it; so does its first read. (The file is deleted with the entry.)
        LOG.debug("dropping {}: {}", pathOf(e), x.toString());
        index.removeIf(e);
      }
      return null;
    } catch (IOException x) {
      LOG.debug("cannot read the head of {}: {}", pathOf(e), x.toString());
      return null;
    }
    if (cache && e.isOf(m)) {
      if (!isOwnGeneration(e.generation()) && e.retainUntil != retainUntil(m)) {
        heal(e, m); // the retention policy changed since the snapshot
      }
      heads.put(headKey(e), compactor.compact(m));
    } else if (cache && !isOwnGeneration(e.generation())) {
      heal(e, m);
    }
    return m;
  }

  /**
   * An entry of an earlier run whose file says otherwise than the index (changed in place after the
   * snapshot, or indexed under another retention policy): indexes what the file says.
   */
  private void heal(StoreEntry e, EntryMeta m) {
    String hash = e.hash();
    if (!hashOf(m.key()).equals(hash)) {
      return; // not this entry's file
    }
    StoreEntry fresh = entry(hash, m, e.generation());
    if (index.replaceIfSame(e, fresh)) {
      heads.put(headKey(fresh), compactor.compact(m));
    }
  }

  /**
   * The stored head (status, header fields, times, URL) of the indexed variant {@code key}, for a
   * response written from it: from the head cache, bounded by bytes, else read from the entry file on
   * the I/O executor. Completes with null when {@code key} is not indexed. The hit fast path builds its
   * pre-encoded response heads from this.
   */
  public CompletableFuture<EntryMeta> head(CacheKey key) {
    requireNonNull(key, "key");
    StoreEntry e = index.peek(hashOf(key));
    if (e == null) {
      return CompletableFuture.completedFuture(null);
    }
    EntryMeta m = cachedHead(e);
    if (m != null) {
      return CompletableFuture.completedFuture(m.key().equals(key) ? m : null);
    }
    return CompletableFuture.supplyAsync(() -> {
      EntryMeta loaded = head(e);
      return loaded != null && loaded.key().equals(key) ? loaded : null;
    }, ioExecutor);
  }

  /**
   * Every variant stored for {@code primaryKey}, like {@link #variants}, without blocking: complete at
   * once when their heads are cached (the usual hit), else completed on the I/O executor once the heads
   * are read from their files. While the startup scan runs, a key it has not reached yet is looked up
   * on disk by its hash (its {@code dir/a/bc/} directory) and indexed, so a restart does not turn
   * stored objects into misses (a {@code Vary} variant, named by a hash the URL alone does not give,
   * waits for the scan).
   */
  public CompletableFuture<List<EntryMeta>> lookup(String primaryKey) {
    requireNonNull(primaryKey, "primaryKey");
    List<StoreEntry> es = candidates(primaryKey);
    List<EntryMeta> now = cachedLookup(primaryKey, es);
    if (now != null) {
      return CompletableFuture.completedFuture(now);
    }
    if (es.isEmpty()) {
      return CompletableFuture.supplyAsync(() -> {
        findOnDisk(hasher.hash(primaryKey, ""));
        return variants(primaryKey);
      }, ioExecutor);
    }
    return CompletableFuture.supplyAsync(() -> {
      List<EntryMeta> vs = variants(primaryKey);
      if (vs.isEmpty() && !scanned.isDone() && !closed) {
        // An entry of the snapshot whose file is gone (variants removed it): a newer file of the
        // key may be on disk that the scan has not reached yet.
        findOnDisk(hasher.hash(primaryKey, ""));
        vs = variants(primaryKey);
      }
      return vs;
    }, ioExecutor);
  }

  /**
   * What {@link #lookup} completes with at once, or {@code null} when it would have to read the disk (a head not
   * in memory, or a key the startup scan has not reached): the hit path's lookup, with no future made.
   */
  public List<EntryMeta> lookupNow(String primaryKey) {
    requireNonNull(primaryKey, "primaryKey");
    if (!index.hasVariants()) {
      // no Vary response is indexed: the plain entry is the only candidate (no candidate list or supplier made)
      KeyMemo memo = lastKey.get();
      StoreEntry e = index.get(keyOf(memo, primaryKey, ""));
      if (e == null) {
        return scanned.isDone() || closed ? List.of() : null;
      }
      return cachedOne(memo, primaryKey, e);
    }
    return cachedLookup(primaryKey, candidates(primaryKey));
  }

  /**
   * {@link #cachedLookup} of one candidate: its head from the head cache (remembered for {@link #indexed}), checked
   * as {@link #checked} does, or {@code null} when the head is not in memory.
   */
  private List<EntryMeta> cachedOne(KeyMemo memo, String primaryKey, StoreEntry e) {
    EntryMeta m = heads.getIfPresent(memo.headKey(e));
    if (m == null) {
      return null;
    }
    return checkedOne(memo, primaryKey, e, m);
  }

  /**
   * {@link #lookupNow(String)} where {@code kept} may answer an entry's head instead of the head cache: given the
   * generation of the file the index holds for the key, it returns the {@link Indexed} that a body kept elsewhere by
   * generation (the proxy's RAM tier) was paired with, or {@code null}. That head is used only while its entry is
   * still the very one indexed (a replacement, an update in place and a soft purge each index a new one), so it is
   * the head the head cache would answer; otherwise, and for a key with {@code Vary} responses, the head cache
   * answers as {@link #lookupNow(String)} does. Bans are tested as there. The head cache is not read then: the
   * caller's (recorded) read of {@code kept} tells that cache's eviction policy that the key was asked for, and
   * the index's read tells the index's; a hot entry's head may leave the head cache meanwhile, which costs a read
   * of its file only once its body has left {@code kept} too.
   */
  public List<EntryMeta> lookupNow(String primaryKey, LongFunction<Indexed> kept) {
    requireNonNull(primaryKey, "primaryKey");
    requireNonNull(kept, "kept");
    if (index.hasVariants()) {
      return lookupNow(primaryKey);
    }
    KeyMemo memo = lastKey.get();
    StoreEntry e = index.get(keyOf(memo, primaryKey, ""));
    if (e == null) {
      return scanned.isDone() || closed ? List.of() : null;
    }
    Indexed known = kept.apply(e.generation());
    if (known == null || known.entry != e) {
      return cachedOne(memo, primaryKey, e);
    }
    memo.indexed = known; // indexed() answers it again, as the head of e
    return checkedOne(memo, primaryKey, e, known.meta());
  }

  /** The rest of {@link #cachedOne} once {@code m}, the head of {@code e}, is known. */
  private List<EntryMeta> checkedOne(KeyMemo memo, String primaryKey, StoreEntry e, EntryMeta m) {
    memo.entry = e;
    memo.head = m;
    if (!m.primaryKey().equals(primaryKey)) {
      return new ArrayList<>(0);
    }
    if (!bans.isEmpty()) {
      Bans.Ban b = bans.test(m);
      if (b != null) {
        if (index.removeIf(e)) {
          b.countRemoved();
          banMatches.increment();
        }
        return new ArrayList<>(0);
      }
    }
    List<EntryMeta> found = memo.found;
    if (found == null || found.get(0) != m) {
      found = List.of(m);
      memo.found = found;
    }
    return found;
  }

  /** The variants of {@code es} from the head cache, or {@code null} when one is not there (or none is indexed yet). */
  private List<EntryMeta> cachedLookup(String primaryKey, List<StoreEntry> es) {
    if (es.isEmpty()) {
      return scanned.isDone() || closed ? List.of() : null;
    }
    if (es.size() == 1) { // the usual hit: one entry, no list to build (and its head remembered for indexed)
      return cachedOne(lastKey.get(), primaryKey, es.get(0));
    }
    List<EntryMeta> found = new ArrayList<>(es.size());
    for (int i = 0; i < es.size(); i++) {
      EntryMeta m = cachedHead(es.get(i));
      if (m == null) {
        return null;
      }
      found.add(m);
    }
    return checked(primaryKey, es, found);
  }

  /** Indexes the files of {@code hash} that are on disk and not indexed yet (a lookup while the scan runs). Blocks. */
  void findOnDisk(String hash) {
    Path dir = layout.entryPath(hash, 0).getParent();
    String prefix = hash + '-';
    List<Path> files = new ArrayList<>(1);
    try (java.nio.file.DirectoryStream<Path> ds = Files.newDirectoryStream(dir, prefix + "*")) {
      for (Path p : ds) {
        files.add(p);
      }
    } catch (NoSuchFileException e) {
      return;
    } catch (IOException e) {
      LOG.debug("cannot list {}: {}", dir, e.toString());
      return;
    }
    StoreScanner scanner = new StoreScanner(this);
    for (Path p : files) {
      scanner.scanFile(p);
    }
    if (!files.isEmpty()) {
      foundOnDisk.incrementAndGet();
    }
  }

  private final AtomicLong foundOnDisk = new AtomicLong();

  /** How many lookups found their entry on disk before the startup scan reached it. */
  public long foundOnDisk() {
    return foundOnDisk.get();
  }

  /**
   * The heads of {@code es} that really are variants of {@code primaryKey} (a hash collision is never
   * served) and no ban applies to ({@link Bans#test}; those are removed here, lazily).
   */
  private List<EntryMeta> checked(String primaryKey, List<StoreEntry> es, List<EntryMeta> found) {
    List<EntryMeta> kept = null;
    for (int i = 0; i < found.size(); i++) {
      EntryMeta m = found.get(i);
      boolean drop = m == null || !m.primaryKey().equals(primaryKey);
      if (!drop && !bans.isEmpty()) {
        Bans.Ban b = bans.test(m);
        if (b != null) {
          drop = true;
          if (index.removeIf(es.get(i))) {
            b.countRemoved();
            banMatches.increment();
          }
        }
      }
      if (drop) {
        if (kept == null) {
          kept = new ArrayList<>(found.subList(0, i));
        }
      } else if (kept != null) {
        kept.add(m);
      }
    }
    return kept == null ? found : kept;
  }

  /**
   * Every indexed variant stored for {@code primaryKey}. Never blocks when their heads are in the head
   * cache; otherwise reads them from their files (a short positional read, usually from the page
   * cache): on an event loop prefer {@link #lookup}. A variant that a ban applies to ({@link Bans#test})
   * is removed here, lazily, and not returned.
   */
  public List<EntryMeta> variants(String primaryKey) {
    requireNonNull(primaryKey, "primaryKey");
    List<StoreEntry> es = candidates(primaryKey);
    if (es.isEmpty()) {
      return List.of();
    }
    List<EntryMeta> found = new ArrayList<>(es.size());
    for (StoreEntry e : es) {
      found.add(head(e));
    }
    return checked(primaryKey, es, found);
  }

  /**
   * Up to {@code limit} indexed entries whose URL's host and path ({@link Bans#hostAndPath}) start with
   * {@code hostAndPathPrefix}, in no particular order. Walks the whole index and reads the heads not
   * cached from their files: for the admin API, not the request path (call it off the event loop).
   */
  public List<EntryMeta> list(String hostAndPathPrefix, int limit) {
    requireNonNull(hostAndPathPrefix, "hostAndPathPrefix");
    List<EntryMeta> out = new ArrayList<>();
    for (StoreEntry e : index.all()) {
      if (out.size() >= limit) {
        break;
      }
      EntryMeta m = headQuietly(e);
      if (m != null && Bans.hostAndPath(m.primaryKey()).startsWith(hostAndPathPrefix)) {
        out.add(m);
      }
    }
    return out;
  }

  // ---- tags (surrogate keys) ----

  /** The indexed entries tagged {@code tag} ({@link StoreConfig#tagHeaders()}); never blocks. */
  public List<EntryMeta> tagged(String tag) {
    requireNonNull(tag, "tag");
    List<EntryMeta> out = new ArrayList<>();
    for (Key128 k : index.tags().keys(tag)) {
      StoreEntry e = index.peek(k);
      EntryMeta m = e == null ? null : headQuietly(e);
      if (m != null) {
        out.add(m);
      }
    }
    return out;
  }

  /** Removes every entry tagged {@code tag}; returns how many. Costs O(entries with that tag), reads no file. */
  public int purgeTag(String tag) {
    requireNonNull(tag, "tag");
    int n = 0;
    for (Key128 k : index.tags().keys(tag)) {
      StoreEntry e = index.peek(k);
      if (e != null && e.tags().contains(tag) && index.removeIf(e)) {
        n++;
      }
    }
    return n;
  }

  /** The head of {@code e} from the cache or its file, without caching it (sweeps and listings). */
  private EntryMeta headQuietly(StoreEntry e) {
    EntryMeta m = cachedHead(e);
    return m != null ? m : loadHead(e, false);
  }

  /** Soft-purges every entry tagged {@code tag} ({@link #softInvalidate}); completes with how many were marked. */
  public CompletableFuture<Integer> softPurgeTag(String tag, long atMillis) {
    List<CompletableFuture<Boolean>> marks = new ArrayList<>();
    for (EntryMeta m : tagged(tag)) {
      marks.add(softInvalidate(m, atMillis));
    }
    return CompletableFuture.allOf(marks.toArray(CompletableFuture[]::new))
        .thenApply(v -> (int) marks.stream().filter(CompletableFuture::join).count());
  }

  /** The number of distinct tags indexed. */
  public int tagCount() {
    return index.tags().tagCount();
  }

  // ---- bans (Varnish-style, applied lazily at lookup and by the background sweep) ----

  /** The ban list (read it for listing; add bans with {@link #ban}). */
  public Bans bans() {
    return bans;
  }

  /** Entries removed because a ban matched them, since start. */
  public long banMatches() {
    return banMatches.sum();
  }

  /**
   * Adds a ban created now (it applies to entries stored until now) and writes the ban list; completes
   * once it is on disk. Throws {@link IllegalArgumentException} for a bad expression (nothing added).
   */
  public CompletableFuture<Bans.Ban> ban(Bans.Kind kind, String expression, String value) {
    return ban(kind, expression, value, now());
  }

  /**
   * Adds a ban created at {@code createdMillis} (a ban another cluster node made: it applies to the
   * entries stored before that time, as on the node it came from) and writes the ban list.
   */
  public CompletableFuture<Bans.Ban> ban(Bans.Kind kind, String expression, String value, long createdMillis) {
    Bans.Ban b = bans.add(kind, expression, value, createdMillis);
    return CompletableFuture.supplyAsync(() -> {
      saveBans();
      return b;
    }, ioExecutor);
  }

  /**
   * Applies the bans to every indexed entry, then drops the bans older than every entry (indexed or
   * being written) and writes the list if it changed. Blocks on disk: call it on the I/O executor,
   * periodically. Does nothing without bans; drops none before the startup scan finished.
   */
  public void sweepBans() {
    if (bans.isEmpty() || closed) {
      return;
    }
    long oldest = now();
    long matched = 0;
    for (StoreEntry e : index.all()) {
      EntryMeta m = headQuietly(e);
      if (m == null) {
        continue;
      }
      Bans.Ban b = bans.test(m);
      if (b != null) {
        if (index.removeIf(e)) {
          b.countRemoved();
          banMatches.increment();
          matched++;
        }
      } else {
        oldest = Math.min(oldest, m.responseTime());
      }
    }
    for (EntryWriter w : writers) {
      oldest = Math.min(oldest, w.meta().responseTime());
    }
    int expired = scanned.isDone() && !scanned.isCompletedExceptionally() ? bans.expireBefore(oldest) : 0;
    if (matched > 0 || expired > 0) {
      LOG.debug("ban sweep removed {} entries and dropped {} bans ({} left)", matched, expired, bans.size());
      saveBans();
    }
  }

  private static Bans loadBans(Path file) {
    try {
      return Bans.decode(Files.readString(file));
    } catch (NoSuchFileException e) {
      return new Bans();
    } catch (IOException | IllegalArgumentException e) {
      LOG.warn("cannot read the ban list {}, starting without bans: {}", file, e.toString());
      return new Bans();
    }
  }

  /** Writes the ban list atomically (temp file + rename). Blocks on disk. */
  void saveBans() {
    synchronized (bansFileLock) {
      Path file = config.dir().resolve(BANS_FILE);
      Path temp = config.dir().resolve(BANS_FILE + ".new");
      try {
        Files.createDirectories(config.dir());
        Files.writeString(temp, bans.encode());
        if (config.fsync()) {
          try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.WRITE)) {
            ch.force(true);
          }
        }
        Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (IOException e) {
        LOG.warn("cannot write the ban list {}: {}", file, e.toString());
        throw new UncheckedIOException(e);
      }
    }
  }

  /** Completes when the startup scan has finished. */
  public CompletableFuture<Void> scanned() {
    return scanned.copy();
  }

  // ---- index snapshot (IndexSnapshot, IndexJournal) ----

  private volatile long loadedFromSnapshot;

  /** How many entries the start indexed from the index snapshot (not from reading their files). */
  public long loadedFromSnapshot() {
    return loadedFromSnapshot;
  }

  /** Completes when the index snapshot has been loaded (at once when there is none); the scan follows. */
  public CompletableFuture<Void> indexLoaded() {
    return loaded.copy();
  }

  /**
   * Indexes the entries of the snapshot, except those the journals name (changed in place since: the
   * scan reads their files) and those past their retention (their files are deleted), within the
   * index's bounds like the scan. Returns what the scan needs to reconcile. Blocks; completes
   * {@link #indexLoaded()}.
   */
  StoreScanner.Loaded loadSnapshot() {
    long start = System.nanoTime();
    long cpuStart = threadCpuNanos();
    GenerationSet known = new GenerationSet();
    GenerationSet journaled = new GenerationSet();
    for (long[] r : IndexJournal.replay(config.dir())) {
      if (r[2] != 0) {
        journaled.add(r[2]);
      }
    }
    long[] counts = new long[4]; // indexed, expired, no room, other file indexed
    long now = now();
    IndexSnapshot.Result result;
    try {
      result = IndexSnapshot.read(config.dir(), config.tagHeaders(), r -> {
        if (closed || r.generation() == 0 || journaled.contains(r.generation())) {
          return;
        }
        StoreEntry e = new StoreEntry(r);
        if (r.retainUntil() <= now) {
          deleteQuietly(pathOf(e));
          counts[1]++;
          return;
        }
        if ((counts[0] & 255) == 0) {
          index.cleanUp(); // evictions settle: weightedSize is current
        }
        if (index.peek(e) == null && !index.hasRoomFor(e)) {
          deleteQuietly(pathOf(e));
          counts[2]++;
          return;
        }
        StoreEntry prev = index.putIfAbsent(e);
        if (prev == null) {
          known.add(e.generation());
          counts[0]++;
        } else if (prev.generation() != e.generation()) {
          // Indexed meanwhile from another file of the key (published now, or found on disk): that one won.
          deleteQuietly(pathOf(e));
          counts[3]++;
        }
      });
    } catch (IOException | RuntimeException e) {
      result = new IndexSnapshot.Result(counts[0], false, e.toString());
    }
    long ms = (System.nanoTime() - start) / 1_000_000;
    long cpuMs = (threadCpuNanos() - cpuStart) / 1_000_000;
    if (result.records() > 0 || result.complete()) {
      LOG.info("cache index of {}: {} entries loaded from the snapshot in {} ms ({} ms of CPU; {} expired, {} over"
          + " the bounds deleted){}", config.dir(), counts[0], ms, cpuMs, counts[1], counts[2],
          result.complete() ? "" : "; the snapshot is damaged (" + result.problem() + "), the scan reads the rest");
    } else if (!"no snapshot".equals(result.problem())) {
      LOG.warn("cache index snapshot of {} not used: {}; the scan reads every file", config.dir(), result.problem());
    }
    changesAtLoad = index.changes();
    loadedFromSnapshot = counts[0];
    loaded.complete(null);
    return new StoreScanner.Loaded(known, result.complete());
  }

  /** This thread's CPU time so far (ns), or 0 when the JVM cannot tell: the load's cost on a busy machine. */
  private static long threadCpuNanos() {
    java.lang.management.ThreadMXBean t = java.lang.management.ManagementFactory.getThreadMXBean();
    return t.isCurrentThreadCpuTimeSupported() ? t.getCurrentThreadCpuTime() : 0;
  }

  /**
   * Writes the index snapshot now (temp file and atomic rename), then deletes the journals it makes
   * redundant. Blocks on disk: on the I/O executor or at stop.
   */
  void writeSnapshot() throws IOException {
    synchronized (snapshotLock) {
      long start = System.nanoTime();
      long changes = index.changes();
      long keepFrom = journal.rotate();
      long n = IndexSnapshot.write(config.dir(), index.all(), config.tagHeaders(), now(), config.fsync());
      journal.deleteBelow(keepFrom);
      snapshotChanges = changes;
      snapshotNanos = System.nanoTime();
      LOG.info("cache index snapshot of {}: {} entries written in {} ms", config.dir(), n, (snapshotNanos - start) / 1_000_000);
    }
  }

  /** The index is what the snapshot on disk says (loaded whole, nothing found to reconcile). */
  void snapshotIsCurrent() {
    synchronized (snapshotLock) {
      if (snapshotChanges == -1) {
        snapshotChanges = changesAtLoad;
        snapshotNanos = System.nanoTime();
      }
    }
  }

  /** Writes a snapshot unless nothing changed since the last one; logs a failure. */
  void writeSnapshotIfChanged() {
    if (index.changes() == snapshotChanges
        || (index.entryCount() == 0 && !Files.exists(config.dir().resolve(IndexSnapshot.FILE)))) {
      return; // nothing new, or nothing to say (an empty cache directory stays empty)
    }
    try {
      writeSnapshot();
    } catch (IOException | RuntimeException e) {
      LOG.warn("cannot write the cache index snapshot of {}: {}", config.dir(), e.toString());
    }
  }

  /** From {@link #cleanUp}: queues a snapshot on the I/O executor when it is due and the index changed. */
  private void snapshotIfDue() {
    if (closed || !scanned.isDone() || index.changes() == snapshotChanges
        || System.nanoTime() - snapshotNanos < SNAPSHOT_INTERVAL_NANOS || !snapshotQueued.compareAndSet(false, true)) {
      return;
    }
    try {
      ioExecutor.execute(() -> {
        try {
          if (!closed) {
            writeSnapshotIfChanged();
          }
        } finally {
          snapshotQueued.set(false);
        }
      });
    } catch (RuntimeException e) { // shut down
      snapshotQueued.set(false);
    }
  }

  /**
   * Starts writing a new entry for {@code meta} (its body offset and length are filled in at commit).
   * Never blocks: the temp file is created on the I/O executor. After {@link #close} the writer is
   * already failed.
   *
   * @param expectedLength the body length the origin announced, or -1 when unknown
   */
  public EntryWriter newWriter(EntryMeta meta, long expectedLength) {
    return newWriter(meta, expectedLength, true);
  }

  /**
   * As {@link #newWriter}, but nothing happens on the I/O executor until the writer is used: give a
   * body held whole to {@link EntryWriter#commitWhole} (one task for the whole file), or stream as usual.
   */
  public EntryWriter newDeferredWriter(EntryMeta meta, long expectedLength) {
    return newWriter(meta, expectedLength, false);
  }

  private EntryWriter newWriter(EntryMeta meta, long expectedLength, boolean start) {
    requireNonNull(meta, "meta");
    String hash = hashOf(meta.key());
    long gen = nextGeneration();
    EntryWriter w = new EntryWriter(this, meta, expectedLength, hash, gen, layout.tempPath(hash, gen));
    if (closed) {
      w.failClosed();
      return w;
    }
    writers.add(w);
    liveTemps.add(w.tempPath());
    if (start) {
      w.start();
    }
    if (closed) { // close() may have missed it
      w.abort();
    }
    return w;
  }

  /**
   * Opens the file of an indexed entry for reading; the caller must close the result. When the file's
   * channel is cached the returned future is already complete (no executor hop). Fails with
   * {@link NoSuchFileException} when the entry is no longer indexed (treat as a miss).
   */
  public CompletableFuture<OpenEntry> open(EntryMeta meta) {
    requireNonNull(meta, "meta");
    if (closed) {
      return CompletableFuture.failedFuture(new IllegalStateException("store closed"));
    }
    StoreEntry e = index.peek(keyOf(meta.primaryKey(), meta.variant()));
    if (e == null) {
      return CompletableFuture.failedFuture(notIndexed(meta));
    }
    EntryMeta head = cachedHead(e);
    if (head != null && !head.key().equals(meta.key())) {
      return CompletableFuture.failedFuture(notIndexed(meta)); // a hash collision: another URL's file
    }
    SharedChannel cached = head == null ? null : openFiles.getIfPresent(e.generation());
    if (cached != null && cached.retain()) {
      return CompletableFuture.completedFuture(new OpenEntry(head, cached));
    }
    return CompletableFuture.supplyAsync(() -> openSlow(e, meta), ioExecutor);
  }

  /**
   * The open file of an indexed entry when the open-file cache already holds its channel, or {@code null} when
   * opening it would need the disk ({@link #open} then does it on the I/O pool), the entry is no longer indexed, or
   * its head is not in memory; never blocks and schedules nothing. The caller must close the result.
   */
  public OpenEntry openNow(EntryMeta meta) {
    requireNonNull(meta, "meta");
    if (closed) {
      return null;
    }
    StoreEntry e = index.peek(keyOf(meta.primaryKey(), meta.variant()));
    if (e == null) {
      return null;
    }
    KeyMemo memo = lastKey.get();
    EntryMeta head = memo.entry == e ? memo.head : cachedHead(e);
    if (head == null || !head.key().equals(meta.key())) {
      return null; // not in memory, or a hash collision: another URL's file
    }
    SharedChannel cached = openFiles.getIfPresent(e.generation());
    return cached != null && cached.retain() ? new OpenEntry(head, cached) : null;
  }

  /**
   * The index's current meta of {@code meta}'s entry and the generation of its file, or {@code null} when
   * it is not indexed or its head is not in memory; never blocks and opens nothing (for bodies kept
   * elsewhere by generation).
   */
  public Indexed indexed(EntryMeta meta) {
    requireNonNull(meta, "meta");
    KeyMemo memo = lastKey.get();
    StoreEntry e = closed ? null : index.peek(keyOf(memo, meta.primaryKey(), meta.variant()));
    if (e == null) {
      return null;
    }
    // the entry a lookup on this thread just found (still the one indexed): its head is the one read then
    EntryMeta head = memo.entry == e ? memo.head : cachedHead(e);
    if (head == null || !head.primaryKey().equals(meta.primaryKey()) || !head.variant().equals(meta.variant())) {
      return null;
    }
    Indexed last = memo.indexed;
    if (last != null && last.meta() == head && last.generation() == e.generation()) {
      return last;
    }
    last = new Indexed(head, e.generation(), e);
    memo.indexed = last;
    return last;
  }

  /** The estimated heap an {@link EntryMeta} takes with its strings and header fields (for caches bounded by bytes). */
  public static int metaHeapBytes(EntryMeta meta) {
    return HeapEstimate.metaBytes(meta);
  }

  /**
   * An indexed entry's current meta and its file's {@link OpenEntry#generation}. Immutable; it also names the index
   * entry it was read from, so that {@link #lookupNow(String, LongFunction)} can tell whether it is still current.
   */
  public static final class Indexed {
    private final EntryMeta meta;
    private final long generation;
    /** The index's entry {@link #meta} is the head of (identity: a changed entry is a new object). */
    final StoreEntry entry;

    Indexed(EntryMeta meta, long generation, StoreEntry entry) {
      this.meta = meta;
      this.generation = generation;
      this.entry = entry;
    }

    /** The entry's current meta (its head). */
    public EntryMeta meta() {
      return meta;
    }

    /** Its file's {@link OpenEntry#generation}. */
    public long generation() {
      return generation;
    }

    /**
     * The estimated heap this object and its meta take (the meta's strings and header fields), which whoever keeps it
     * pins: the index entry itself is the index's.
     */
    public int heapBytes() {
      return HeapEstimate.align(HeapEstimate.HEADER + 2 * HeapEstimate.REF + 8) + HeapEstimate.metaBytes(meta);
    }

    /** Whether {@code other} was read from the same index entry with the same meta (perhaps as another object). */
    public boolean sameAs(Indexed other) {
      return other == this || other != null && other.entry == entry && other.meta == meta;
    }

    @Override
    public String toString() {
      return "Indexed[" + meta.key() + ", generation " + generation + "]";
    }
  }

  private OpenEntry openSlow(StoreEntry e, EntryMeta requested) {
    EntryMeta head = head(e);
    if (head == null || !head.key().equals(requested.key())) {
      throw new CompletionException(notIndexed(requested));
    }
    FileChannel ch;
    try {
      ch = FileChannel.open(pathOf(e), StandardOpenOption.READ);
    } catch (NoSuchFileException x) {
      throw new CompletionException(notIndexed(requested));
    } catch (IOException x) {
      throw new CompletionException(x);
    }
    SharedChannel sc = new SharedChannel(ch, e.generation());
    sc.retain(); // the reader's reference
    SharedChannel prev = openFiles.asMap().putIfAbsent(e.generation(), sc);
    if (prev != null) {
      sc.releaseOwner(); // raced with another opener: ours stays uncached
    } else {
      StoreEntry now = index.peek(e.hash());
      if (now == null || now.generation() != e.generation()) {
        // The entry left the index meanwhile and its removal may have missed our channel.
        openFiles.asMap().remove(e.generation(), sc);
        sc.releaseOwner();
      } else if (closed && openFiles.asMap().remove(e.generation(), sc)) {
        // The store closed meanwhile (an open queued before close, e.g. a RAM-tier load after a fill):
        // close() has already emptied the cache of open files, so nothing else would release ours.
        sc.releaseOwner();
      }
    }
    return new OpenEntry(head, sc);
  }

  private static NoSuchFileException notIndexed(EntryMeta meta) {
    return new NoSuchFileException(meta.primaryKey(), null, "not in the cache index (variant '" + meta.variant() + "')");
  }

  /**
   * Replaces the stored headers and times of an entry (after a 304) in the index and in its file.
   * The metadata is rewritten in place when it fits before the body; otherwise the file is copied to a
   * new one (temp + rename) and the old one deleted (open readers keep reading it).
   *
   * <p>{@code updated} must keep the body offset and length of the stored entry it was derived from
   * ({@link EntryMeta#withHeaders} does): if the entry has meanwhile been replaced or rewritten (another
   * offset or length), the update fails with {@link IllegalStateException} rather than put one
   * response's headers on another's body. {@link #update(EntryMeta, EntryMeta)} checks exactly. Fails
   * with {@link NoSuchFileException} when the entry is no longer indexed. Completes with the new meta.
   */
  public CompletableFuture<EntryMeta> update(EntryMeta updated) {
    requireNonNull(updated, "updated");
    return updateAsync(null, updated);
  }

  /**
   * Like {@link #update(EntryMeta)}, but applies {@code updated} only while the indexed entry is still
   * exactly {@code stored} (the meta that was revalidated, as returned by {@link #variants} or
   * {@link OpenEntry#meta}); otherwise fails with {@link IllegalStateException}. Prefer this one.
   */
  public CompletableFuture<EntryMeta> update(EntryMeta stored, EntryMeta updated) {
    requireNonNull(stored, "stored");
    requireNonNull(updated, "updated");
    if (!stored.key().equals(updated.key())) {
      throw new IllegalArgumentException("updated: key " + updated.key() + " (expected: " + stored.key() + ")");
    }
    return updateAsync(stored, updated);
  }

  private CompletableFuture<EntryMeta> updateAsync(EntryMeta stored, EntryMeta updated) {
    if (closed) {
      return CompletableFuture.failedFuture(new IllegalStateException("store closed"));
    }
    return CompletableFuture.supplyAsync(() -> {
      try {
        return doUpdate(stored, updated);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }, ioExecutor).handle((m, t) -> {
      if (t == null) {
        return m;
      }
      Throwable cause = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
      if (cause instanceof UncheckedIOException u) {
        cause = u.getCause();
      }
      throw new CompletionException(cause);
    });
  }

  private EntryMeta doUpdate(EntryMeta stored, EntryMeta updated) throws IOException {
    String hash = hashOf(updated.key());
    synchronized (lockFor(hash)) {
      StoreEntry cur = index.peek(hash);
      EntryMeta curMeta = cur == null ? null : head(cur);
      if (cur == null || curMeta == null || !curMeta.key().equals(updated.key())) {
        throw notIndexed(updated);
      }
      boolean same = stored != null
          ? cur.isOf(stored) && curMeta.equals(stored)
          : curMeta.bodyOffset() == updated.bodyOffset() && curMeta.bodyLength() == updated.bodyLength();
      if (!same) {
        throw new IllegalStateException("entry " + updated.primaryKey() + " was replaced or updated since it was read");
      }
      long bodyLength = curMeta.bodyLength();
      EntryMeta meta = updated.withBody(bodyLength, curMeta.bodyOffset());
      byte[] metaBytes = EntryFormat.encodeMeta(meta);
      StoreEntry next;
      var updating = journal.updating();
      boolean inPlace = EntryFormat.fits(metaBytes.length, curMeta.bodyOffset());
      if (inPlace) {
        // Journaled first: a snapshot taken before this update cannot tell the file changed.
        updating.lock();
        try {
          journal.append(cur, cur.generation());
          try (FileChannel ch = FileChannel.open(pathOf(cur), StandardOpenOption.WRITE)) {
            writeFully(ch, EntryFormat.encodeHeader(metaBytes, meta.bodyOffset(), bodyLength), 0);
            if (config.fsync()) {
              ch.force(true);
            }
          }
        } catch (IOException | RuntimeException x) {
          updating.unlock();
          throw x;
        }
        next = entry(hash, meta, cur.generation());
      } else {
        long gen = nextGeneration();
        meta = meta.withBody(bodyLength, EntryFormat.bodyOffsetFor(metaBytes.length));
        Path temp = layout.tempPath(hash, gen);
        Path target = layout.entryPath(hash, gen);
        liveTemps.add(temp);
        try {
          rewrite(cur, curMeta, temp, metaBytes, meta);
          Files.createDirectories(target.getParent());
          Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
          deleteQuietly(temp);
          throw e;
        } finally {
          liveTemps.remove(temp);
        }
        next = entry(hash, meta, gen);
      }
      heads.put(headKey(next), compactor.compact(meta));
      boolean replaced;
      try {
        replaced = index.replaceIfGeneration(cur.generation(), next);
      } finally {
        if (inPlace) {
          updating.unlock();
        }
      }
      if (!replaced) {
        if (next.generation() != cur.generation()) {
          deleteQuietly(pathOf(next));
        }
        throw new IllegalStateException("entry " + updated.primaryKey() + " changed during update");
      }
      return meta;
    }
  }

  private void rewrite(StoreEntry cur, EntryMeta curMeta, Path temp, byte[] metaBytes, EntryMeta meta) throws IOException {
    Files.createDirectories(temp.getParent());
    try (FileChannel src = FileChannel.open(pathOf(cur), StandardOpenOption.READ);
        FileChannel dst = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      writeFully(dst, EntryFormat.encodeHeader(metaBytes, meta.bodyOffset(), meta.bodyLength()), 0);
      if (meta.bodyLength() == 0) {
        writeFully(dst, ByteBuffer.allocate(1), meta.bodyOffset() - 1);
      }
      dst.position(meta.bodyOffset());
      long from = curMeta.bodyOffset();
      long left = meta.bodyLength();
      while (left > 0) {
        long n = src.transferTo(from, left, dst);
        if (n <= 0) {
          throw new IOException("short copy of " + pathOf(cur) + ": " + left + " bytes missing");
        }
        from += n;
        left -= n;
      }
      if (config.fsync()) {
        dst.force(true);
      }
    }
  }

  /** Removes one variant from the index and deletes its file. */
  public void remove(CacheKey key) {
    requireNonNull(key, "key");
    index.remove(hashOf(key));
  }

  /** Removes every variant of {@code primaryKey}; returns how many were removed. */
  public int invalidate(String primaryKey) {
    requireNonNull(primaryKey, "primaryKey");
    int n = 0;
    synchronized (publishLock) {
      // Writers of this key that started before now must not publish afterwards: their response
      // predates the invalidating request (RFC 9111 §4.4).
      invalidatedBelow.put(primaryKey, nextGeneration());
      for (StoreEntry e : candidates(primaryKey)) {
        if (index.remove(e) != null) {
          n++;
        }
      }
    }
    if (!scanned.isDone()) {
      // The scan has not reached every file yet: one of an earlier run must not come back after the purge.
      String plain = hasher.hash(primaryKey, "");
      try {
        ioExecutor.execute(() -> purgeOnDisk(plain));
      } catch (RuntimeException e) { // shut down
        LOG.debug("cannot purge {} on disk: {}", primaryKey, e.toString());
      }
    }
    return n;
  }

  /** Removes the entry of {@code hash} left by an earlier run, indexing it from disk first if needed, and deletes its file now. Blocks. */
  private void purgeOnDisk(String hash) {
    synchronized (lockFor(hash)) { // the scan indexes under the same lock: it cannot bring the file back
      findOnDisk(hash);
      StoreEntry e = index.peek(hash);
      if (e != null && !isOwnGeneration(e.generation()) && index.removeIf(e)) {
        fileGone(e);
      }
    }
  }

  /**
   * Soft purge: marks every variant of {@code primaryKey} stale from {@code atMillis} on
   * ({@link EntryMeta#withInvalidatedAt}), in the index and in its file, so that the next request
   * revalidates it and {@code stale-if-error} can still serve it. Completes with how many were marked.
   */
  public CompletableFuture<Integer> softInvalidate(String primaryKey, long atMillis) {
    requireNonNull(primaryKey, "primaryKey");
    List<CompletableFuture<Boolean>> marks = new ArrayList<>();
    for (EntryMeta m : variants(primaryKey)) {
      marks.add(softInvalidate(m, atMillis));
    }
    return CompletableFuture.allOf(marks.toArray(CompletableFuture[]::new))
        .thenApply(v -> (int) marks.stream().filter(CompletableFuture::join).count());
  }

  /** Soft-purges one stored variant; completes with false when it left the index or changed meanwhile. */
  CompletableFuture<Boolean> softInvalidate(EntryMeta stored, long atMillis) {
    return update(stored, stored.withInvalidatedAt(atMillis)).handle((m, t) -> t == null);
  }

  /**
   * Fault injection for tests of the layers above: from now on, a body write that would take an entry
   * past {@code bodyBytes} fails as a full disk would ({@code -1} turns it off). Never used in production.
   */
  public void failWritesAfter(long bodyBytes) {
    this.failWritesAfter = bodyBytes;
  }

  /**
   * The free bytes of the cache's file system as last measured, less the body bytes written since (at
   * most about a second old); never blocks: a stale value triggers a new measurement on the I/O executor.
   */
  public long usableBytes() {
    long now = System.nanoTime();
    if (now - usableCheckedAt > 1_000_000_000L && usableChecking.compareAndSet(false, true)) {
      usableCheckedAt = now;
      try {
        ioExecutor.execute(() -> {
          try {
            measureFree();
          } finally {
            usableChecking.set(false);
          }
        });
      } catch (RuntimeException e) { // executor shut down
        usableChecking.set(false);
      }
    }
    return freeEstimate.get();
  }

  // ---- free space (nginx's min_free) ----
  //
  // The store never writes a body into the last minFreeBytes of its file system. freeEstimate is the
  // file system's free space as last measured (statfs) less the body bytes written since; reserved
  // is space promised to writers that write behind the store's back (a spliced fill) and not written
  // yet. A copy writer claims each chunk before writing it; when there is no room the coldest entries
  // are evicted (their files deleted at once), and a body that could not fit even in an empty cache
  // is not stored at all. Deleting a file does not add to freeEstimate (an evicted file's space comes
  // back only when its last reader closes it), so the estimate is low until measured again: every
  // refusal measures first. A write that fails with ENOSPC anyway (another process filled the disk)
  // evicts and is retried once.

  private final AtomicLong freeEstimate = new AtomicLong(Long.MAX_VALUE);
  private final AtomicLong reserved = new AtomicLong();
  private final Object spaceLock = new Object();
  private final AtomicLong evictedForSpace = new AtomicLong();
  private volatile long usableCheckedAt = System.nanoTime();
  private final java.util.concurrent.atomic.AtomicBoolean usableChecking = new java.util.concurrent.atomic.AtomicBoolean();

  /** Test seam: the free bytes of the file system, instead of asking it. */
  volatile java.util.function.LongSupplier freeSpaceProbe;

  /**
   * The cache directory's file store, found once: finding it reads and parses the mount table (on Linux),
   * while asking it for the usable space is one statfs of the directory's path each time, so a store
   * mounted over the directory later is still measured right. Written only by {@link #measureFree}.
   */
  private volatile java.nio.file.FileStore fileStore;

  /** Measures the file system's free space now (blocks: a statfs). */
  void measureFree() {
    try {
      java.util.function.LongSupplier probe = freeSpaceProbe;
      freeEstimate.set(probe != null ? probe.getAsLong() : fileStore().getUsableSpace());
    } catch (IOException | RuntimeException e) {
      LOG.debug("cannot measure the free space of {}: {}", config.dir(), e.toString());
    }
  }

  private java.nio.file.FileStore fileStore() throws IOException {
    java.nio.file.FileStore fs = fileStore;
    if (fs == null) {
      fs = Files.getFileStore(config.dir());
      fileStore = fs;
    }
    return fs;
  }

  /** Bytes a writer may still put on disk without going below {@code minFreeBytes} or into reserved space. */
  private long room() {
    return freeEstimate.get() - reserved.get() - config.minFreeBytes();
  }

  private boolean take(long n) {
    while (true) {
      long f = freeEstimate.get();
      if (f - reserved.get() - config.minFreeBytes() < n) {
        return false;
      }
      if (freeEstimate.compareAndSet(f, f - n)) {
        return true;
      }
    }
  }

  /**
   * Claims room for the next {@code n} body bytes of a writer that still wants {@code wanted} bytes
   * in all; evicts the coldest entries when there is not enough. False when the room cannot be made:
   * the body is then not stored. On the I/O executor (may delete files).
   */
  boolean claim(long n, long wanted) {
    if (take(n)) {
      return true;
    }
    synchronized (spaceLock) {
      if (take(n)) {
        return true;
      }
      makeRoom(Math.max(n, wanted));
      return take(n);
    }
  }

  /**
   * Whether {@code bytes} could be written if every entry were evicted (ignores space other writers will
   * free). A no is measured again before it is given: the estimate learns of freed space (a failed
   * writer's temp file deleted, an evicted file closed by its last reader) only when it is measured. On
   * the I/O executor (may stat the file system).
   */
  boolean couldFit(long bytes) {
    if (bytes <= roomIfEmpty()) {
      return true;
    }
    synchronized (spaceLock) {
      measureFree();
      return bytes <= roomIfEmpty();
    }
  }

  /** {@link #room()} plus the indexed bytes, saturated (the free space is Long.MAX_VALUE until measured). */
  private long roomIfEmpty() {
    long r = room();
    long sum = r + index.diskBytes();
    return r > 0 && sum < 0 ? Long.MAX_VALUE : sum;
  }

  /** Measures, then evicts the coldest entries until {@code bytes} fit (unless they could not fit even in an empty cache). */
  private void makeRoom(long bytes) {
    measureFree();
    long missing = bytes - room();
    if (missing <= 0 || (bytes > 0 && bytes > roomIfEmpty())) {
      return;
    }
    long freed = 0;
    for (StoreEntry e : index.coldest(missing)) {
      if (index.remove(e) != null) {
        fileGone(e); // now, not when Caffeine's removal notice runs: the space is needed at once
        freed += (long) e.diskKiB() << 10;
        evictedForSpace.incrementAndGet();
      }
    }
    LOG.debug("evicted {} bytes to make room for {} (free: {}, min-free: {})", freed, bytes, freeEstimate.get(), config.minFreeBytes());
    measureFree();
  }

  /** After a write failed for lack of space: measures and evicts to make room for {@code wanted}. On the I/O executor. */
  void noSpace(long wanted) {
    synchronized (spaceLock) {
      makeRoom(wanted);
    }
  }

  /**
   * Reserves {@code n} bytes for a writer that writes outside the store's accounting (a spliced fill);
   * never blocks. False when the room is not known to be free: when evicting could make it, that is
   * started on the I/O executor (for the next writer).
   */
  boolean reserve(long n) {
    while (true) {
      long r = reserved.get();
      if (freeEstimate.get() - r - config.minFreeBytes() < n) {
        try {
          ioExecutor.execute(() -> noSpace(n));
        } catch (RuntimeException e) {
          // shut down
        }
        return false;
      }
      if (reserved.compareAndSet(r, r + n)) {
        return true;
      }
    }
  }

  /** {@code n} body bytes were written by a reserved writer, {@code fromReservation} of them out of its reservation. */
  void wroteReserved(long n, long fromReservation) {
    freeEstimate.addAndGet(-n);
    reserved.addAndGet(-fromReservation);
  }

  /** Gives back the unused part of a reservation. */
  void release(long n) {
    if (n > 0) {
      reserved.addAndGet(-n);
    }
  }

  /** How many entries were evicted to make room on the file system (not for {@code max-size}). */
  public long evictedForSpace() {
    return evictedForSpace.get();
  }

  /** Entries evicted because the cache was full ({@code max-size} or the index heap bound). */
  public long evictedForSize() {
    return index.removals(RemovalCause.SIZE) + index.removals(RemovalCause.COLLECTED);
  }

  /** Entries dropped because they outlived their retention (stale past {@code keep}). */
  public long evictedExpired() {
    return index.removals(RemovalCause.EXPIRED);
  }

  /**
   * Entries removed on purpose: purges, bans, invalidation by an unsafe method, a body that failed to
   * read, and evictions for free space ({@link #evictedForSpace()} counts those alone).
   */
  public long removedExplicitly() {
    return index.removals(RemovalCause.EXPLICIT);
  }

  /** The configured bound on the bytes on disk ({@code cache.max-size}). */
  public long maxBytes() {
    return config.maxBytes();
  }

  /** The bound on the heap the index entries may take ({@code cache.index-heap}). */
  public long maxIndexHeapBytes() {
    return config.indexHeapBytes();
  }

  /** The number of indexed entries. */
  public long entryCount() {
    return index.entryCount();
  }

  /** The bytes on disk of all indexed entries (each file's size rounded up to KiB). */
  public long weightedBytes() {
    return index.diskBytes();
  }

  /** The estimated heap taken by the index entries (bounded by {@link StoreConfig#indexHeapBytes()}). */
  public long indexHeapBytes() {
    return index.heapBytes();
  }

  /**
   * Runs pending index maintenance now: expiry and size eviction (the files of removed entries are
   * deleted on the I/O executor). Caffeine otherwise does it as a side effect of reads and writes; call
   * it periodically so that expired entries leave the disk without traffic. Never blocks on disk.
   */
  public void cleanUp() {
    index.cleanUp();
    openFiles.cleanUp();
    usableBytes();
    snapshotIfDue();
  }

  /**
   * Measures the free space of the file system and evicts the coldest entries while it is below
   * {@code minFreeBytes} (nginx's cache manager and {@code min_free}). Blocks on disk: call it on the
   * I/O executor, periodically.
   */
  public void keepFree() {
    if (closed) {
      return;
    }
    synchronized (spaceLock) {
      makeRoom(0);
    }
  }

  /**
   * Stops accepting writes, aborts in-flight writers (their temp files are deleted on the I/O
   * executor) and closes cached channels (open readers keep theirs until they close). Published
   * entries stay on disk for the next start, and the index snapshot is written for it (blocks on
   * disk: about a second per million entries) unless nothing changed since the last one.
   */
  @Override
  public void close() {
    closed = true;
    for (EntryWriter w : new ArrayList<>(writers)) {
      w.abort();
    }
    for (SharedChannel ch : openFiles.asMap().values()) {
      ch.releaseOwner();
    }
    openFiles.invalidateAll();
    if (closing.compareAndSet(false, true)) {
      if (loaded.isDone()) { // a snapshot cut short by the stop would only replace a better one
        writeSnapshotIfChanged();
      }
      journal.close();
    }
  }

  // ---- package-private: used by EntryWriter, StoreScanner and tests ----

  StoreConfig config() {
    return config;
  }

  Executor ioExecutor() {
    return ioExecutor;
  }

  StoreLayout layout() {
    return layout;
  }

  StoreIndex index() {
    return index;
  }

  KeyHasher hasher() {
    return hasher;
  }

  /** A new index entry for {@code meta}, stored in the file {@code hash}-{@code generation}. */
  StoreEntry entry(String hash, EntryMeta meta, long generation) {
    List<String> tags = index.tags().isEnabled() ? index.tags().tagsOf(meta.headers()) : List.of();
    StoreEntry.Extra extra = null;
    if (!meta.variant().isEmpty() || !tags.isEmpty()) {
      extra = new StoreEntry.Extra(meta.variant().isEmpty() ? null : Key128.of(hasher.primaryHash(meta.primaryKey())),
          List.copyOf(tags));
    }
    return new StoreEntry(hash, meta, generation, retainUntil(meta), extra);
  }

  /** The file of an entry. */
  Path pathOf(StoreEntry e) {
    return layout.entryPath(e.hash(), e.generation());
  }

  boolean isClosed() {
    return closed;
  }

  long now() {
    return clockMillis.getAsLong();
  }

  long retainUntil(EntryMeta meta) {
    return retainUntil.applyAsLong(meta);
  }

  Object lockFor(String hash) {
    return locks[hash.hashCode() & (LOCK_STRIPES - 1)];
  }

  /** Empties the head cache (tests, measurements of the index alone). */
  void dropHeads() {
    heads.invalidateAll();
    heads.cleanUp();
  }

  /** The number of heads in the head cache (tests, diagnostics). */
  long cachedHeadCount() {
    heads.cleanUp();
    return heads.estimatedSize();
  }

  /** The head cache's bound in bytes. */
  public long headCacheBytes() {
    return heads.policy().eviction().orElseThrow().getMaximum();
  }

  long nextGeneration() {
    return (session << 40) | (generations.getAndIncrement() & GEN_COUNTER_MASK);
  }

  /** Whether {@code generation} was handed out by this store instance. */
  boolean isOwnGeneration(long generation) {
    return (generation >>> 40) == session;
  }

  boolean isLiveTemp(Path temp) {
    return liveTemps.contains(temp);
  }

  void writerDone(EntryWriter w) {
    writers.remove(w);
    liveTemps.remove(w.tempPath());
  }

  /**
   * Logs a failed entry write: at WARN at most once per 10 s for the whole store (a full disk fails
   * every writer), with the count of those suppressed meanwhile, otherwise at DEBUG.
   */
  void logWriteError(String primaryKey, Exception e) {
    long now = System.nanoTime();
    long last = lastWriteErrorLog.get();
    if (now - last >= WRITE_ERROR_LOG_INTERVAL_NANOS && lastWriteErrorLog.compareAndSet(last, now)) {
      long suppressed = suppressedWriteErrors.getAndSet(0);
      LOG.warn("cache write of {} failed, entry not stored: {}{}", primaryKey, e.toString(),
          suppressed > 0 ? " (" + suppressed + " more write errors not logged)" : "");
    } else {
      suppressedWriteErrors.incrementAndGet();
      LOG.debug("cache write of {} failed, entry not stored: {}", primaryKey, e.toString());
    }
  }

  /**
   * Indexes a just-renamed file (replacing, and so deleting, an older file of the same key), unless
   * its primary key was invalidated after the write began: then the file is deleted and false returned.
   */
  boolean publish(StoreEntry e, EntryMeta meta) {
    boolean indexed = false;
    boolean outer = inPublish.get() == null;
    inPublish.set(Boolean.TRUE);
    try {
      synchronized (publishLock) {
        Long below = invalidatedBelow.getIfPresent(meta.primaryKey());
        if (below == null || e.generation() > below) {
          heads.put(headKey(e), compactor.compact(meta)); // a new entry is likely asked for soon
          index.put(e);
          indexed = true;
        }
      }
    } finally {
      if (outer) {
        inPublish.remove();
      }
    }
    if (indexed) {
      try {
        publishedListener.accept(meta, e.generation());
      } catch (RuntimeException x) {
        LOG.debug("published-entry listener failed for {}: {}", meta.primaryKey(), x.toString());
      }
      return true;
    }
    deleteQuietly(pathOf(e)); // called on the I/O executor
    return false;
  }

  /**
   * Calls {@code listener} with the meta of every entry a writer published (its file complete and indexed),
   * e.g. to keep a copy of a small body right away. Runs on the I/O executor; one listener, the last one set.
   */
  public void onPublished(java.util.function.Consumer<EntryMeta> listener) {
    requireNonNull(listener, "listener");
    this.publishedListener = (meta, generation) -> listener.accept(meta);
  }

  /**
   * As {@link #onPublished(java.util.function.Consumer)}, with the published file's generation (its
   * {@link OpenEntry#generation}, {@link EntryWriter#generation}).
   */
  public void onPublished(java.util.function.ObjLongConsumer<EntryMeta> listener) {
    this.publishedListener = requireNonNull(listener, "listener");
  }

  /**
   * Calls {@code listener} with the {@link OpenEntry#generation} of every file that leaves the index for
   * good (evicted, purged, banned, replaced), so that copies of its body kept elsewhere are dropped.
   * Runs on the I/O executor; one listener, the last one set.
   */
  public void onFileGone(java.util.function.LongConsumer listener) {
    this.goneListener = requireNonNull(listener, "listener");
  }

  /** Called on the I/O executor when an entry left the index for good: drop its channel, delete its file. */
  private void fileGone(StoreEntry e) {
    heads.invalidate(headKey(e));
    goneListener.accept(e.generation());
    SharedChannel ch = openFiles.asMap().remove(e.generation());
    if (ch != null) {
      ch.releaseOwner();
    }
    deleteQuietly(pathOf(e));
  }

  /** The number of channels in the open-file cache (tests). */
  long cachedChannelCount() {
    openFiles.cleanUp();
    return openFiles.estimatedSize();
  }

  /** The channels in the open-file cache (tests). */
  List<SharedChannel> cachedChannels() {
    openFiles.cleanUp();
    return List.copyOf(openFiles.asMap().values());
  }

  static void writeFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
    while (buf.hasRemaining()) {
      position += ch.write(buf, position);
    }
  }

  static void deleteQuietly(Path p) {
    try {
      Files.deleteIfExists(p);
    } catch (IOException e) {
      LOG.warn("cannot delete cache file {}: {}", p, e.toString());
    }
  }
}
