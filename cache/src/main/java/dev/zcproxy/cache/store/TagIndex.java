package dev.zcproxy.cache.store;

import dev.zcproxy.cache.Headers;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Tag (surrogate key) to entry hashes, for purge by tag in O(entries with that tag). Kept in step with
 * the index by {@link StoreIndex} on every put and removal notice.
 *
 * <p>Bounded: at most {@link #MAX_TAGS_PER_ENTRY} tags of at most {@link #MAX_TAG_LENGTH} characters
 * are indexed per entry (the rest are ignored), so the index costs at most a fixed multiple of the
 * entry count. Its heap is not part of the index's heap estimate.
 */
final class TagIndex {
  static final int MAX_TAGS_PER_ENTRY = 32;
  static final int MAX_TAG_LENGTH = 256;

  private final List<String> headerNames;
  private final ConcurrentHashMap<String, Set<Key128>> byTag = new ConcurrentHashMap<>();

  TagIndex(List<String> headerNames) {
    this.headerNames = List.copyOf(headerNames);
  }

  /** The tags of a stored response: the space- or comma-separated values of the tag header fields. */
  List<String> tagsOf(Headers h) {
    if (headerNames.isEmpty()) {
      return List.of();
    }
    List<String> out = null;
    for (String name : headerNames) {
      for (String line : h.getAll(name)) {
        for (String t : line.split("[ ,\t]+")) {
          if (t.isEmpty() || t.length() > MAX_TAG_LENGTH) {
            continue;
          }
          if (out == null) {
            out = new ArrayList<>(4);
          }
          if (!out.contains(t)) {
            out.add(t);
            if (out.size() == MAX_TAGS_PER_ENTRY) {
              return out;
            }
          }
        }
      }
    }
    return out == null ? List.of() : out;
  }

  /** Whether tags are indexed at all. */
  boolean isEnabled() {
    return !headerNames.isEmpty();
  }

  void added(StoreEntry e) {
    List<String> ts = e.tags();
    if (ts.isEmpty()) {
      return;
    }
    Key128 key = e.key();
    for (String t : ts) {
      byTag.computeIfAbsent(t, k -> ConcurrentHashMap.newKeySet()).add(key);
    }
  }

  /** {@code removed} left the index; {@code current} is what the index now holds for its hash (or null). */
  void removed(StoreEntry removed, StoreEntry current) {
    List<String> keep = current == null ? List.of() : current.tags();
    for (String t : removed.tags()) {
      if (keep.contains(t)) {
        continue;
      }
      byTag.computeIfPresent(t, (k, set) -> {
        set.remove(removed);
        return set.isEmpty() ? null : set;
      });
    }
  }

  /** A snapshot of the keys of the entries tagged {@code tag}. */
  List<Key128> keys(String tag) {
    Set<Key128> s = byTag.get(tag);
    return s == null ? List.of() : List.copyOf(s);
  }

  int tagCount() {
    return byTag.size();
  }
}
