package dev.zcproxy.cache.store;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.RemovalCause;
import com.github.benmanes.caffeine.cache.Ticker;
import dev.zcproxy.cache.EntryMeta;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import java.util.function.ToLongFunction;

/**
 * The in-memory index: Caffeine {@code hash -> StoreEntry}, bounded by the KiB on disk, expiring each
 * entry at its {@code retainUntil}, plus {@code primaryKey -> hashes} for variant lookup.
 *
 * <p>Every removal (size, expiry, explicit, replacement) reaches {@link #onRemoval} on the executor. The
 * removed entry's file is gone unless the entry that replaced it has the same generation (an in-place
 * 304 update of the same file); {@code fileGone} then deletes it and drops its cached channel.
 *
 * <p>The variant sets are made consistent with the index by {@link #syncVariant}, which runs after
 * every put and every removal and decides from the index itself (inside the set's map compute), so a
 * late removal notice cannot hide an entry that was put again meanwhile, and no hash outlives its
 * entry.
 */
final class StoreIndex {
  /** Caffeine's longest expiry is about 150 years; stay well below. */
  private static final long MAX_EXPIRY_NANOS = Long.MAX_VALUE >> 2;

  private final Cache<String, StoreEntry> cache;
  private final ConcurrentHashMap<String, Set<String>> variants = new ConcurrentHashMap<>();
  private final Consumer<StoreEntry> fileGone;

  StoreIndex(long maxBytes, Executor executor, LongSupplier clockMillis, ToLongFunction<EntryMeta> retainUntil,
      Consumer<StoreEntry> fileGone) {
    this.fileGone = fileGone;
    Ticker ticker = () -> clockMillis.getAsLong() * 1_000_000L;
    this.cache = Caffeine.newBuilder()
        .maximumWeight(Math.max(1, (maxBytes + 1023) >>> 10))
        .weigher((String hash, StoreEntry e) -> e.weightKiB())
        .expireAfter(new RetainExpiry(retainUntil))
        .ticker(ticker)
        .executor(executor)
        .removalListener((String hash, StoreEntry e, RemovalCause cause) -> onRemoval(hash, e))
        .build();
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
    StoreEntry current = peek(hash);
    if (current == null || current.generation() != removed.generation()) {
      fileGone.accept(removed);
    }
    syncVariant(removed.meta().primaryKey(), hash);
  }

  /** Makes {@code hash}'s membership in the variant set of {@code primaryKey} match the index. */
  private void syncVariant(String primaryKey, String hash) {
    variants.compute(primaryKey, (pk, set) -> {
      if (peek(hash) != null) {
        if (set == null) {
          set = ConcurrentHashMap.newKeySet();
        }
        set.add(hash);
      } else if (set != null) {
        set.remove(hash);
      }
      return set == null || set.isEmpty() ? null : set;
    });
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
    syncVariant(e.meta().primaryKey(), e.hash());
  }

  /** Indexes {@code e} unless an entry of its hash exists; returns that entry, or null when {@code e} went in. */
  StoreEntry putIfAbsent(StoreEntry e) {
    StoreEntry prev = cache.asMap().putIfAbsent(e.hash(), e);
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
    syncVariant(e.meta().primaryKey(), e.hash());
    return done[0];
  }

  /** Removes the entry of {@code hash}; returns it or null. */
  StoreEntry remove(String hash) {
    return cache.asMap().remove(hash);
  }

  /** The current variants of {@code primaryKey} (recording an access to each). */
  List<EntryMeta> variants(String primaryKey) {
    Set<String> hashes = variants.get(primaryKey);
    if (hashes == null) {
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
    Set<String> hashes = variants.get(primaryKey);
    return hashes == null ? List.of() : List.copyOf(hashes);
  }

  long entryCount() {
    return cache.estimatedSize();
  }

  long weightedBytes() {
    return cache.policy().eviction().orElseThrow().weightedSize().orElse(0) << 10;
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
        sum += e.weightKiB();
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
