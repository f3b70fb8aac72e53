package dev.zcproxy.cache.store;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.RemovalCause;
import com.github.benmanes.caffeine.cache.Ticker;
import dev.zcproxy.cache.EntryMeta;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import java.util.function.ToLongFunction;

/**
 * The in-memory index: Caffeine {@code hash -> StoreEntry}, bounded both by the bytes on disk and by
 * the heap the entries take, expiring each entry at its {@code retainUntil}, plus
 * {@code primaryKey -> hash(es)} for variant lookup.
 *
 * <h2>Two bounds, one maximum</h2>
 * Caffeine has one {@code maximumWeight}. Each entry weighs (in KiB)
 * {@code max(diskKiB, heapBytes * R)} with {@code R = maxKiB / heapBudget} fixed at construction
 * ({@code heapBytes} from {@link HeapEstimate}). Since every weight is at least each scaled measure,
 * total weight {@code <= maximum} bounds both: the disk bytes by {@code maxKiB} KiB and the estimated
 * heap by {@code maximum / R = heapBudget}. So the number of entries is bounded by the heap actually
 * available, however small the objects: many tiny objects are evicted like a few big ones, never an
 * OutOfMemoryError. Lowering the maximum later ({@link #setMaximumKiB}, e.g. to cap the disk bytes by
 * the free space of the file system) keeps both bounds, the heap one scaled down in proportion.
 * Heavier entries are not evicted first: W-TinyLFU still picks victims by frequency and recency.
 *
 * <p>Every removal (size, expiry, explicit, replacement) reaches {@link #onRemoval} on the executor. The
 * removed entry's file is gone unless the entry that replaced it has the same generation (an in-place
 * 304 update of the same file); {@code fileGone} then deletes it and drops its cached channel.
 *
 * <p>The variant sets are made consistent with the index by {@link #syncVariant}, which runs after
 * every put and every removal and decides from the index itself (inside the set's map compute), so a
 * late removal notice cannot hide an entry that was put again meanwhile, and no hash outlives its
 * entry. A primary key with one variant (the usual case) maps to that hash itself, not to a set: a
 * one-element concurrent set costs about 200 bytes of heap.
 */
final class StoreIndex {
  /** Caffeine's longest expiry is about 150 years; stay well below. */
  private static final long MAX_EXPIRY_NANOS = Long.MAX_VALUE >> 2;

  private final Cache<String, StoreEntry> cache;
  /** Primary key -> the hash (a String) of its only variant, or a concurrent Set of hashes. */
  private final ConcurrentHashMap<String, Object> variants = new ConcurrentHashMap<>();
  private final Consumer<StoreEntry> fileGone;
  private final TagIndex tags;
  private final long maxKiB;
  private final long heapBudget;
  /** R: weight KiB per estimated heap byte. */
  private final double kibPerHeapByte;
  private final LongAdder diskKiB = new LongAdder();
  private final LongAdder heapBytes = new LongAdder();
  /** Removal notices by {@link RemovalCause} ordinal (for the eviction metrics). */
  private final LongAdder[] removals = newAdders(RemovalCause.values().length);

  /**
   * @param maxBytes the bound on the bytes on disk
   * @param heapBudget the bound on the estimated heap of all entries (bytes)
   */
  StoreIndex(long maxBytes, long heapBudget, Executor executor, LongSupplier clockMillis,
      ToLongFunction<EntryMeta> retainUntil, Consumer<StoreEntry> fileGone) {
    this(maxBytes, heapBudget, executor, clockMillis, retainUntil, fileGone, new TagIndex(List.of()));
  }

  StoreIndex(long maxBytes, long heapBudget, Executor executor, LongSupplier clockMillis,
      ToLongFunction<EntryMeta> retainUntil, Consumer<StoreEntry> fileGone, TagIndex tags) {
    this.tags = tags;
    if (heapBudget <= 0) {
      throw new IllegalArgumentException("heapBudget: " + heapBudget + " (expected: > 0)");
    }
    this.fileGone = fileGone;
    this.maxKiB = Math.max(1, (maxBytes + 1023) >>> 10);
    this.heapBudget = heapBudget;
    this.kibPerHeapByte = (double) maxKiB / heapBudget;
    Ticker ticker = () -> clockMillis.getAsLong() * 1_000_000L;
    this.cache = Caffeine.newBuilder()
        .maximumWeight(maxKiB)
        .weigher((String hash, StoreEntry e) -> weightKiB(e))
        .expireAfter(new RetainExpiry(retainUntil))
        .ticker(ticker)
        .executor(executor)
        .removalListener((String hash, StoreEntry e, RemovalCause cause) -> {
          removals[cause.ordinal()].increment();
          onRemoval(hash, e);
        })
        .build();
  }

  private static LongAdder[] newAdders(int n) {
    LongAdder[] a = new LongAdder[n];
    for (int i = 0; i < n; i++) {
      a[i] = new LongAdder();
    }
    return a;
  }

  /** How many entries left the index for {@code cause} (counted when Caffeine's removal notice ran). */
  long removals(RemovalCause cause) {
    return removals[cause.ordinal()].sum();
  }

  /** The weight of {@code e}: {@code max(diskKiB, heapBytes * R)}, rounded up, clamped to an int. */
  int weightKiB(StoreEntry e) {
    long heapKiB = (long) Math.ceil(e.heapBytes() * kibPerHeapByte);
    return (int) Math.min(Integer.MAX_VALUE, Math.max(e.diskKiB(), heapKiB));
  }

  private static final class RetainExpiry implements Expiry<String, StoreEntry> {
    private final ToLongFunction<EntryMeta> retainUntil;

    RetainExpiry(ToLongFunction<EntryMeta> retainUntil) {
      this.retainUntil = retainUntil;
    }

    private long nanosLeft(StoreEntry e, long nowNanos) {
      long leftMillis = retainUntil.applyAsLong(e.meta()) - nowNanos / 1_000_000L;
      if (leftMillis <= 0) {
        return 0;
      }
      return leftMillis >= MAX_EXPIRY_NANOS / 1_000_000L ? MAX_EXPIRY_NANOS : leftMillis * 1_000_000L;
    }

    @Override
    public long expireAfterCreate(String hash, StoreEntry e, long currentTime) {
      return nanosLeft(e, currentTime);
    }

    @Override
    public long expireAfterUpdate(String hash, StoreEntry e, long currentTime, long currentDuration) {
      return nanosLeft(e, currentTime);
    }

    @Override
    public long expireAfterRead(String hash, StoreEntry e, long currentTime, long currentDuration) {
      return currentDuration;
    }
  }

  private void onRemoval(String hash, StoreEntry removed) {
    if (hash == null || removed == null) {
      return;
    }
    diskKiB.add(-removed.diskKiB());
    heapBytes.add(-removed.heapBytes());
    StoreEntry current = peek(hash);
    if (current == null || current.generation() != removed.generation()) {
      fileGone.accept(removed);
    }
    syncVariant(removed.meta().primaryKey(), hash);
    tags.removed(removed, peek(hash));
  }

  /** Makes {@code hash}'s membership in the variants of {@code primaryKey} match the index. */
  private void syncVariant(String primaryKey, String hash) {
    variants.compute(primaryKey, (pk, cur) -> {
      boolean indexed = peek(hash) != null;
      if (cur == null) {
        return indexed ? hash : null;
      }
      if (cur instanceof String only) {
        if (only.equals(hash)) {
          return indexed ? only : null;
        }
        if (!indexed) {
          return only;
        }
        Set<String> set = ConcurrentHashMap.newKeySet(4);
        set.add(only);
        set.add(hash);
        return set;
      }
      @SuppressWarnings("unchecked")
      Set<String> set = (Set<String>) cur;
      if (indexed) {
        set.add(hash);
      } else {
        set.remove(hash);
      }
      return set.isEmpty() ? null : set;
    });
  }

  /** The hashes listed for {@code primaryKey}: a live view or a one-element list. */
  @SuppressWarnings("unchecked")
  private Collection<String> hashesView(String primaryKey) {
    Object v = variants.get(primaryKey);
    if (v == null) {
      return List.of();
    }
    return v instanceof String only ? List.of(only) : (Set<String>) v;
  }

  /** The entry for {@code hash}, recording the access for admission and eviction. */
  StoreEntry get(String hash) {
    return cache.getIfPresent(hash);
  }

  /** The entry for {@code hash} without recording an access. */
  StoreEntry peek(String hash) {
    return cache.policy().getIfPresentQuietly(hash);
  }

  /** Indexes {@code e}, replacing any entry of the same hash (whose file is then deleted). */
  void put(StoreEntry e) {
    cache.put(e.hash(), e);
    added(e);
    syncVariant(e.meta().primaryKey(), e.hash());
  }

  /** Indexes {@code e} unless an entry of its hash exists; returns that entry, or null when {@code e} went in. */
  StoreEntry putIfAbsent(StoreEntry e) {
    StoreEntry prev = cache.asMap().putIfAbsent(e.hash(), e);
    if (prev == null) {
      added(e);
    }
    syncVariant(e.meta().primaryKey(), e.hash());
    return prev;
  }

  /** Replaces the entry of {@code e.hash()} by {@code e} only if the current one has {@code generation}. */
  boolean replaceIfGeneration(long generation, StoreEntry e) {
    boolean[] done = new boolean[1];
    cache.asMap().computeIfPresent(e.hash(), (h, cur) -> {
      if (cur.generation() != generation) {
        return cur;
      }
      done[0] = true;
      return e;
    });
    if (done[0]) {
      added(e);
    }
    syncVariant(e.meta().primaryKey(), e.hash());
    return done[0];
  }

  private void added(StoreEntry e) {
    diskKiB.add(e.diskKiB());
    heapBytes.add(e.heapBytes());
    tags.added(e);
    StoreEntry now = peek(e.hash());
    if (now != e) { // left (or was replaced) at once: its removal notice may have run before the tags went in
      tags.removed(e, now);
    }
  }

  /** The tag index (surrogate keys). */
  TagIndex tags() {
    return tags;
  }

  /** Removes the entry of {@code hash}; returns it or null. */
  StoreEntry remove(String hash) {
    return cache.asMap().remove(hash);
  }

  /** Removes the entry of {@code hash} only while its meta is still {@code meta}; whether it did. */
  boolean removeIf(String hash, EntryMeta meta) {
    boolean[] done = new boolean[1];
    cache.asMap().computeIfPresent(hash, (h, cur) -> {
      if (!cur.meta().equals(meta)) {
        return cur;
      }
      done[0] = true;
      return null;
    });
    return done[0];
  }

  /** A weakly consistent live view of every indexed entry (background sweeps). */
  java.util.Collection<StoreEntry> all() {
    return cache.asMap().values();
  }

  /** The current variants of {@code primaryKey} (recording an access to each). */
  List<EntryMeta> variants(String primaryKey) {
    Collection<String> hashes = hashesView(primaryKey);
    if (hashes.isEmpty()) {
      return List.of();
    }
    List<EntryMeta> out = new ArrayList<>(hashes.size());
    for (String h : hashes) {
      StoreEntry e = get(h);
      if (e != null) {
        out.add(e.meta());
      }
    }
    return out;
  }

  /** A snapshot of the hashes listed for {@code primaryKey}. */
  List<String> hashesOf(String primaryKey) {
    return List.copyOf(hashesView(primaryKey));
  }

  long entryCount() {
    return cache.estimatedSize();
  }

  /** The bytes on disk of the indexed entries (each file rounded up to KiB), as of the last removal notice. */
  long diskBytes() {
    return diskKiB.sum() << 10;
  }

  /** The estimated heap of the indexed entries, as of the last removal notice. */
  long heapBytes() {
    return heapBytes.sum();
  }

  long heapBudget() {
    return heapBudget;
  }

  /** The current maximum total weight (KiB). */
  long maximumKiB() {
    return cache.policy().eviction().orElseThrow().getMaximum();
  }

  /** The maximum total weight as configured (KiB): the disk bound {@code maxBytes}. */
  long configuredMaximumKiB() {
    return maxKiB;
  }

  /**
   * Sets the maximum total weight, clamped to {@code 1..configuredMaximumKiB()}, evicting at once if
   * needed. Lowering it lowers the disk bound to {@code kib} KiB and the heap bound in proportion.
   */
  void setMaximumKiB(long kib) {
    cache.policy().eviction().orElseThrow().setMaximum(Math.max(1, Math.min(maxKiB, kib)));
  }

  /**
   * Whether {@code e} fits without evicting anything, as of the last maintenance (the startup scan
   * indexes only while this holds; Caffeine's eviction enforces the bound either way).
   */
  boolean hasRoomFor(StoreEntry e) {
    var eviction = cache.policy().eviction().orElseThrow();
    return eviction.weightedSize().orElse(0) + weightKiB(e) <= eviction.getMaximum();
  }

  void cleanUp() {
    cache.cleanUp();
  }

  /**
   * The entries the size policy would evict first, coldest first, until their files add up to at
   * least {@code bytes} (or every entry).
   */
  List<StoreEntry> coldest(long bytes) {
    long kib = (bytes + 1023) >>> 10;
    return cache.policy().eviction().orElseThrow().coldest(entries -> {
      List<StoreEntry> out = new ArrayList<>();
      long sum = 0;
      for (var it = entries.iterator(); it.hasNext() && sum < kib; ) {
        StoreEntry e = it.next().getValue();
        out.add(e);
        sum += e.diskKiB();
      }
      return out;
    });
  }

  /** A snapshot of every indexed entry (tests and diagnostics). */
  List<StoreEntry> entries() {
    return List.copyOf(cache.asMap().values());
  }

  /** The number of primary keys with a variant set (tests: no leak). */
  int primaryKeyCount() {
    return variants.size();
  }
}
