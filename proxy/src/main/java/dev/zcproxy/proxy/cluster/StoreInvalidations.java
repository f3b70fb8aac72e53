package dev.zcproxy.proxy.cluster;

import dev.zcproxy.cache.Bans;
import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.store.DiskStore;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** Applies an {@link Invalidation} from another node to this node's cache, as the admin endpoint would. */
final class StoreInvalidations {
  private StoreInvalidations() {}

  /** Applies {@code inv}; a ban already in the list (same kind, expression, value and time) is not added twice. */
  static synchronized CompletableFuture<?> apply(DiskStore store, Invalidation inv) {
    return switch (inv.kind()) {
      case PURGE -> CompletableFuture.completedFuture(store.invalidate(inv.subject()));
      case SOFT_PURGE -> store.softInvalidate(inv.subject(), inv.atMillis());
      case TAG_PURGE -> CompletableFuture.completedFuture(store.purgeTag(inv.subject()));
      case SOFT_TAG_PURGE -> store.softPurgeTag(inv.subject(), inv.atMillis());
      case BAN -> has(store, inv) ? CompletableFuture.completedFuture(null)
          : store.ban(inv.banKind(), inv.subject(), inv.value(), inv.atMillis());
    };
  }

  /**
   * Applies {@code inv} again, later, to a node that was away when it was made: only to what was stored
   * at or before {@link Invalidation#atMillis} (what was stored since is newer than the purge and stays),
   * so replaying an invalidation twice changes nothing the second time. Bans go through {@link #apply}.
   *
   * @return how many stored variants it removed or marked stale
   */
  static synchronized CompletableFuture<Integer> replay(DiskStore store, Invalidation inv) {
    List<EntryMeta> stored = switch (inv.kind()) {
      case PURGE, SOFT_PURGE -> store.variants(inv.subject());
      case TAG_PURGE, SOFT_TAG_PURGE -> store.tagged(inv.subject());
      case BAN -> List.of();
    };
    if (inv.kind() == Invalidation.Kind.BAN) {
      return apply(store, inv).thenApply(x -> 0);
    }
    boolean soft = inv.kind() == Invalidation.Kind.SOFT_PURGE || inv.kind() == Invalidation.Kind.SOFT_TAG_PURGE;
    List<CompletableFuture<Boolean>> done = new ArrayList<>();
    for (EntryMeta m : stored) {
      if (m.responseTime() > inv.atMillis()) {
        continue; // stored after the invalidation: newer than what it invalidated
      }
      if (!soft) {
        store.remove(m.key());
        done.add(CompletableFuture.completedFuture(true));
      } else if (m.invalidatedAt() == 0 || m.invalidatedAt() > inv.atMillis()) {
        done.add(store.update(m, m.withInvalidatedAt(inv.atMillis())).handle((x, t) -> t == null));
      }
    }
    return CompletableFuture.allOf(done.toArray(CompletableFuture[]::new))
        .thenApply(v -> (int) done.stream().filter(CompletableFuture::join).count());
  }

  /** Whether the store already holds this ban. */
  static boolean has(DiskStore store, Invalidation inv) {
    for (Bans.Ban b : store.bans().list()) {
      if (b.kind() == inv.banKind() && b.created() == inv.atMillis() && b.expression().equals(inv.subject())
          && b.value().equals(inv.value())) {
        return true;
      }
    }
    return false;
  }
}
