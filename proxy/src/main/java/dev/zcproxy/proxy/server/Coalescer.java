package dev.zcproxy.proxy.server;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.zcproxy.cache.EntryMeta;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.LongSupplier;

/**
 * The registries through which requests for the same thing meet: fills under way (misses for a URI
 * join one fetch), revalidations under way (requests for a stale variant wait for one conditional
 * request), background revalidations (one per variant at a time), and the URIs marked hit-for-pass.
 *
 * <p>Thread-safe: every event loop of the proxy uses the same registries. A handler built for a
 * reloaded configuration takes them over ({@link #Coalescer(long, LongSupplier, Coalescer)}), so
 * requests started by the old and the new handler still meet.
 */
final class Coalescer {
  /** How many URIs may be marked hit-for-pass at once (the least recent go first). */
  private static final long MAX_HIT_FOR_PASS = 100_000;

  /** Fetches under way, by primary key, that misses for the same URI join instead of fetching again. */
  private final ConcurrentHashMap<String, Fill> fills;
  /** Revalidations under way, by stored variant, that other requests for it wait for. */
  private final ConcurrentHashMap<String, Revalidation> revalidations;
  /** Stored variants being revalidated in the background (stale-while-revalidate). */
  private final Set<String> backgroundRevalidations;
  /** URIs whose last response could not be stored: misses go straight to the origin for a while. */
  private final Cache<String, Boolean> hitForPass;
  private final long hitForPassMillis;

  /**
   * @param hitForPassMillis how long a URI stays hit-for-pass (0: never marked)
   * @param clock epoch milliseconds, for the hit-for-pass expiry
   * @param previous the registries to take over (a reload), or {@code null} for new ones; their
   *     hit-for-pass marks then expire after {@code hitForPassMillis}
   */
  Coalescer(long hitForPassMillis, LongSupplier clock, Coalescer previous) {
    this.hitForPassMillis = hitForPassMillis;
    Duration expiry = Duration.ofMillis(Math.max(1, hitForPassMillis));
    if (previous == null) {
      this.fills = new ConcurrentHashMap<>();
      this.revalidations = new ConcurrentHashMap<>();
      this.backgroundRevalidations = ConcurrentHashMap.newKeySet();
      this.hitForPass = Caffeine.newBuilder()
          .maximumSize(MAX_HIT_FOR_PASS)
          .expireAfterWrite(expiry)
          .ticker(() -> TimeUnit.MILLISECONDS.toNanos(clock.getAsLong()))
          .build();
    } else {
      this.fills = previous.fills;
      this.revalidations = previous.revalidations;
      this.backgroundRevalidations = previous.backgroundRevalidations;
      this.hitForPass = previous.hitForPass;
      this.hitForPass.policy().expireAfterWrite().ifPresent(e -> e.setExpiresAfter(expiry));
    }
  }

  /** Who got a registered thing: the request that created it leads, the others join. */
  record Joined<T>(T value, boolean leads) {}

  // ---------------------------------------------------------------- fills

  /** The fills under way, by primary key: a {@link Fill} takes itself out when it ends. */
  ConcurrentHashMap<String, Fill> fills() {
    return fills;
  }

  /** The fill under way for {@code key} that a miss may still join, or a new one made by {@code create}, which this request leads. */
  Joined<Fill> fill(String key, Function<String, Fill> create) {
    Fill[] created = new Fill[1];
    Fill fill = fills.compute(key, (k, f) -> f != null && f.joinable() ? f : (created[0] = create.apply(k)));
    return new Joined<>(fill, fill == created[0]);
  }

  // ---------------------------------------------------------------- revalidations

  /** The revalidation under way of {@code stale}'s variant, or a new one, which this request leads. */
  Joined<Revalidation> revalidation(EntryMeta stale) {
    Revalidation[] created = new Revalidation[1];
    Revalidation r = revalidations.computeIfAbsent(stale.key().hash(), k -> created[0] = new Revalidation(k, stale));
    return new Joined<>(r, r == created[0]);
  }

  /** {@code r} has its outcome: later requests start their own. */
  void ended(Revalidation r) {
    revalidations.remove(r.key, r);
  }

  /** Registers a background revalidation of {@code stale}'s variant; false when one is under way. */
  boolean startBackground(EntryMeta stale) {
    return backgroundRevalidations.add(stale.key().hash());
  }

  /** The background revalidation of {@code stale}'s variant ended. */
  void endBackground(EntryMeta stale) {
    backgroundRevalidations.remove(stale.key().hash());
  }

  // ---------------------------------------------------------------- hit-for-pass

  /** Whether misses for {@code key} go straight to the origin: its last response could not be stored. */
  boolean hitForPass(String key) {
    return hitForPass.getIfPresent(key) != null;
  }

  /** Marks {@code key} hit-for-pass for the configured time (not when that is 0). */
  void markHitForPass(String key) {
    markHitForPass(key, false);
  }

  /**
   * Marks {@code key} hit-for-pass, saying whether its passes may go in front of Vert.x ({@link FrontPasses}: the
   * last response was one that path relays as the normal path would).
   */
  void markHitForPass(String key, boolean front) {
    if (hitForPassMillis > 0) {
      hitForPass.put(key, front);
    }
  }

  /** Whether {@code key} is hit-for-pass and its passes may go in front of Vert.x. */
  boolean frontPassable(String key) {
    return hitForPass.getIfPresent(key) == Boolean.TRUE;
  }

  /** A response for {@code key} is being stored: misses coalesce again. */
  void clearHitForPass(String key) {
    hitForPass.invalidate(key);
  }
}
