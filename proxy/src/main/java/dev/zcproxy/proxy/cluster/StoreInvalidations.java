package dev.zcproxy.proxy.cluster;

import dev.zcproxy.cache.Bans;
import dev.zcproxy.cache.store.DiskStore;
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
