package dev.zcproxy.proxy.server;

import dev.zcproxy.cache.EntryMeta;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;

/**
 * One conditional request revalidating one stale stored variant, which other requests for the same
 * variant wait for instead of sending their own (RFC 9111 §4.3.1 leaves the count to the cache).
 *
 * <p>The request that started it ends it with exactly one outcome: {@link #revalidated} (a 304 was
 * merged: the waiters are served the refreshed entry), {@link #filling} (a new storable response: the
 * waiters read it as it fills), or {@link #release} (anything else: each waiter goes on alone). A
 * request arriving after the outcome finds it removed from the registry and starts its own.
 */
final class Revalidation {
  final String key;
  final EntryMeta stale;
  private final List<Exchange> waiters = new ArrayList<>();
  private boolean ended;

  Revalidation(String key, EntryMeta stale) {
    this.key = key;
    this.stale = stale;
  }

  /** Adds a waiter; false when the outcome is already out (the caller goes on alone). */
  synchronized boolean await(Exchange ex) {
    if (ended) {
      return false;
    }
    waiters.add(ex);
    return true;
  }

  private synchronized List<Exchange> end() {
    ended = true;
    List<Exchange> w = List.copyOf(waiters);
    waiters.clear();
    return w;
  }

  /** The origin confirmed the entry: each waiter is served {@code refreshed}, on its own context. */
  void revalidated(EntryMeta refreshed, BiConsumer<Exchange, EntryMeta> deliver) {
    for (Exchange e : end()) {
      e.context.runOnContext(v -> deliver.accept(e, refreshed));
    }
  }

  /** The origin sent a new storable response: each waiter joins {@code fill}. */
  void filling(Fill fill, BiConsumer<Exchange, Fill> join) {
    for (Exchange e : end()) {
      e.context.runOnContext(v -> join.accept(e, fill));
    }
  }

  /** Any other outcome: each waiter handles its request on its own. */
  void release(java.util.function.Consumer<Exchange> alone) {
    for (Exchange e : end()) {
      e.context.runOnContext(v -> alone.accept(e));
    }
  }
}
