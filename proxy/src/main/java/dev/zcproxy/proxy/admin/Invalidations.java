package dev.zcproxy.proxy.admin;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.function.LongSupplier;

/**
 * The most recent purges, soft purges, tag purges and bans served by the admin listener, with what
 * each removed (for a ban, read live: bans remove lazily), for the dashboard. Bounded; thread-safe.
 */
final class Invalidations {
  /** One invalidation: {@code removed} is read whenever the list is shown. */
  record Entry(long atMillis, String kind, String target, LongSupplier removed) {}

  private final int capacity;
  private final ArrayDeque<Entry> recent = new ArrayDeque<>();

  Invalidations(int capacity) {
    this.capacity = capacity;
  }

  /** @param kind purge, soft-purge, tag-purge, soft-tag-purge or ban */
  synchronized void add(long atMillis, String kind, String target, LongSupplier removed) {
    if (recent.size() == capacity) {
      recent.removeLast();
    }
    recent.addFirst(new Entry(atMillis, kind, target, removed));
  }

  void add(long atMillis, String kind, String target, long removed) {
    add(atMillis, kind, target, () -> removed);
  }

  /** Newest first: {@code [{time, kind, target, removed}]}. */
  synchronized JsonArray toJson() {
    JsonArray a = new JsonArray();
    for (Iterator<Entry> it = recent.iterator(); it.hasNext(); ) {
      Entry e = it.next();
      a.add(new JsonObject().put("time", Instant.ofEpochMilli(e.atMillis()).toString()).put("kind", e.kind())
          .put("target", e.target()).put("removed", e.removed().getAsLong()));
    }
    return a;
  }
}
