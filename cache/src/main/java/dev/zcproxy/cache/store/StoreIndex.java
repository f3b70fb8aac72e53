package dev.zcproxy.cache.store;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.RemovalCause;
import com.github.benmanes.caffeine.cache.Ticker;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * The in-memory index: Caffeine {@code key hash -> StoreEntry} (each entry its own key, about 160
 * bytes of heap in all), bounded both by the bytes on disk and by the heap the entries take,
 * expiring each entry at its {@code retainUntil}, plus {@code primary hash -> variant hashes} for the
 * entries of a {@code Vary} response. An entry without a variant needs no link: its hash is computed
 * from the primary key alone. Stored heads are not here: {@link DiskStore} reads them from the
 * entry files (and keeps hot ones in its head cache).
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
 * every put and every removal of a variant entry and decides from the index itself (inside the set's
 * map compute), so a late removal notice cannot hide an entry that was put again meanwhile, and no
 * hash outlives its entry.
 */
final class StoreIndex {
  /** Caffeine's longest expiry is about 150 years; stay well below. */
  private static final long MAX_EXPIRY_NANOS = Long.MAX_VALUE >> 2;

  private final Cache<Key128, StoreEntry> cache;
  /** Primary hash -> the key of its only variant entry, or a concurrent Set of keys (Vary'd responses only). */
  private final ConcurrentHashMap<Key128, Object> variants = new ConcurrentHashMap<>();
  private final Consumer<StoreEntry> fileGone;
  private final TagIndex tags;
  private final long maxKiB;
  private final long heapBudget;
  /** R: weight KiB per estimated heap byte. */
  private final double kibPerHeapByte;
  private final LongAdder diskKiB = new LongAdder();
  private final LongAdder heapBytes = new LongAdder();
  /** Puts and removal notices so far (a snapshot is written only when the index changed). */
  private final LongAdder changes = new LongAdder();
  /** Removal notices by {@link RemovalCause} ordinal (for the eviction metrics). */
  private final LongAdder[] removals = newAdders(RemovalCause.values().length);

  /**
   * @param maxBytes the bound on the bytes on disk
   * @param heapBudget the bound on the estimated heap of all entries (bytes)
   */
  StoreIndex(long maxBytes, long heapBudget, Executor executor, LongSupplier clockMillis, Consumer<StoreEntry> fileGone) {
    this(maxBytes, heapBudget, executor, clockMillis, fileGone, new TagIndex(List.of()));
  }

  StoreIndex(long maxBytes, long heapBudget, Executor executor, LongSupplier clockMillis,
      Consumer<StoreEntry> fileGone, TagIndex tags) {
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
        .weigher((Key128 key, StoreEntry e) -> weightKiB(e))
        .expireAfter(new RetainExpiry())
        .ticker(ticker)
        .executor(executor)
        .removalListener((Key128 key, StoreEntry e, RemovalCause cause) -> {
          removals[cause.ordinal()].increment();
          onRemoval(e);
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

  private static final class RetainExpiry implements Expiry<Key128, StoreEntry> {
    private static long nanosLeft(StoreEntry e, long nowNanos) {
      long leftMillis = e.retainUntil - nowNanos / 1_000_000L;
      if (leftMillis <= 0) {
        return 0;
      }
      return leftMillis >= MAX_EXPIRY_NANOS / 1_000_000L ? MAX_EXPIRY_NANOS : leftMillis * 1_000_000L;
    }

    @Override
    public long expireAfterCreate(Key128 key, StoreEntry e, long currentTime) {
      return nanosLeft(e, currentTime);
    }

    @Override
    public long expireAfterUpdate(Key128 key, StoreEntry e, long currentTime, long currentDuration) {
      return nanosLeft(e, currentTime);
    }

    @Override
    public long expireAfterRead(Key128 key, StoreEntry e, long currentTime, long currentDuration) {
      return currentDuration;
    }
  }

  private void onRemoval(StoreEntry removed) {
    if (removed == null) {
      return;
    }
    diskKiB.add(-removed.diskKiB());
    heapBytes.add(-removed.heapBytes());
    changes.increment();
    StoreEntry current = peek(removed);
    if (current == null || current.generation() != removed.generation()) {
      fileGone.accept(removed);
    }
    if (removed.primary() != null) {
      syncVariant(removed.primary(), removed);
    }
    tags.removed(removed, current);
  }

  /** Makes {@code key}'s membership in the variants of {@code primary} match the index. */
  private void syncVariant(Key128 primary, Key128 key) {
    Key128 k = key.key(); // never keep an entry alive from the variant map
    variants.compute(primary.key(), (pk, cur) -> {
      StoreEntry now = peek(k);
      boolean indexed = now != null && primary.equals(now.primary());
      if (cur == null) {
        return indexed ? k : null;
      }
      if (cur instanceof Key128 only) {
        if (only.equals(k)) {
          return indexed ? only : null;
        }
        if (!indexed) {
          return only;
        }
        Set<Key128> set = ConcurrentHashMap.newKeySet(4);
        set.add(only);
        set.add(k);
        return set;
      }
      @SuppressWarnings("unchecked")
      Set<Key128> set = (Set<Key128>) cur;
      if (indexed) {
        set.add(k);
      } else {
        set.remove(k);
      }
      return set.isEmpty() ? null : set;
    });
  }

  /** The variant keys listed for {@code primary}: a live view or a one-element list. */
  @SuppressWarnings("unchecked")
  private Collection<Key128> variantKeys(Key128 primary) {
    Object v = variants.get(primary);
    if (v == null) {
      return List.of();
    }
    return v instanceof Key128 only ? List.of(only) : (Set<Key128>) v;
  }

  /** The entry for {@code key}, recording the access for admission and eviction. */
  StoreEntry get(Key128 key) {
    return cache.getIfPresent(key);
  }

  StoreEntry get(String hash) {
    return get(Key128.of(hash));
  }

  /** The entry for {@code key} without recording an access. */
  StoreEntry peek(Key128 key) {
    return cache.policy().getIfPresentQuietly(key);
  }

  StoreEntry peek(String hash) {
    return peek(Key128.of(hash));
  }

  /** Indexes {@code e}, replacing any entry of the same hash (whose file is then deleted). */
  void put(StoreEntry e) {
    cache.put(e, e);
    added(e);
  }

  /** Indexes {@code e} unless an entry of its hash exists; returns that entry, or null when {@code e} went in. */
  StoreEntry putIfAbsent(StoreEntry e) {
    StoreEntry prev = cache.asMap().putIfAbsent(e, e);
    if (prev == null) {
      added(e);
    }
    return prev;
  }

  /** Replaces the entry of {@code e}'s hash by {@code e} only if the current one has {@code generation}. */
  boolean replaceIfGeneration(long generation, StoreEntry e) {
    return replaceIf(e, cur -> cur.generation() == generation);
  }

  /**
   * Replaces {@code expected} by {@code e} (same hash) only while the index holds an entry of the same
   * generation and fingerprint as {@code expected}; whether it did.
   */
  boolean replaceIfSame(StoreEntry expected, StoreEntry e) {
    return replaceIf(e, cur -> cur.generation() == expected.generation() && cur.fingerprint == expected.fingerprint);
  }

  /** Replaces the entry of {@code e}'s hash by {@code e} if there is one and {@code current} accepts it; whether it did. */
  private boolean replaceIf(StoreEntry e, java.util.function.Predicate<StoreEntry> current) {
    boolean[] done = new boolean[1];
    cache.asMap().computeIfPresent(e, (h, cur) -> {
      if (!current.test(cur)) {
        return cur;
      }
      done[0] = true;
      return e;
    });
    if (done[0]) {
      added(e);
    }
    return done[0];
  }

  /** How many puts and removal notices the index has seen. */
  long changes() {
    return changes.sum();
  }

  private void added(StoreEntry e) {
    changes.increment();
    diskKiB.add(e.diskKiB());
    heapBytes.add(e.heapBytes());
    if (e.primary() != null) {
      syncVariant(e.primary(), e);
    }
    tags.added(e);
    StoreEntry now = peek(e);
    if (now != e) { // left (or was replaced) at once: its removal notice may have run before the tags went in
      tags.removed(e, now);
    }
  }

  /** The tag index (surrogate keys). */
  TagIndex tags() {
    return tags;
  }

  /** Removes the entry of {@code key}; returns it or null. */
  StoreEntry remove(Key128 key) {
    return cache.asMap().remove(key);
  }

  StoreEntry remove(String hash) {
    return remove(Key128.of(hash));
  }

  /** Removes the entry {@code e} only while it is still the one indexed (same generation and meta); whether it did. */
  boolean removeIf(StoreEntry e) {
    boolean[] done = new boolean[1];
    cache.asMap().computeIfPresent(e, (h, cur) -> {
      if (cur.generation() != e.generation() || cur.fingerprint != e.fingerprint) {
        return cur;
      }
      done[0] = true;
      return null;
    });
    return done[0];
  }

  /** A weakly consistent live view of every indexed entry (background sweeps). */
  Collection<StoreEntry> all() {
    return cache.asMap().values();
  }

  /**
   * The indexed entries that may hold a variant of the primary key: the one of {@code plainKey} (the
   * hash of the primary key with no variant) and those linked to {@code primary} (computed only when
   * some {@code Vary} variant is indexed at all). Records an access to each.
   */
  List<StoreEntry> candidates(Key128 plainKey, java.util.function.Supplier<Key128> primary) {
    StoreEntry plain = get(plainKey);
    if (variants.isEmpty()) {
      return plain == null ? List.of() : List.of(plain);
    }
    Collection<Key128> keys = variantKeys(primary.get());
    if (keys.isEmpty()) {
      return plain == null ? List.of() : List.of(plain);
    }
    List<StoreEntry> out = new ArrayList<>(keys.size() + 1);
    if (plain != null) {
      out.add(plain);
    }
    for (Key128 k : keys) {
      StoreEntry e = get(k);
      if (e != null && !k.equals(plainKey)) {
        out.add(e);
      }
    }
    return out;
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

  /** Whether some primary key has a variant set (a {@code Vary} response is indexed): else a key's only candidate is its plain entry. */
  boolean hasVariants() {
    return !variants.isEmpty();
  }

  /** The number of primary keys with a variant set (tests: no leak). */
  int primaryKeyCount() {
    return variants.size();
  }
}
