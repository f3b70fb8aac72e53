package dev.zcproxy.proxy.config;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Which keys differ between two loaded configurations, by dotted key path, and a configuration with
 * some keys kept as they were: what a reload applies and what it reports.
 *
 * <p>Generic over the key tree: a key is changed when the text it was written with differs (or it
 * was added or removed) and putting back the old text changes the bound {@link ProxyConfig}, so
 * {@code 30s} to {@code 30 s}, or removing a key that had its default, is not a change. Every key
 * {@link ConfigLoader} knows takes part, whichever section it is in.
 */
public final class ConfigDiff {
  private ConfigDiff() {}

  /** The key paths whose values differ between {@code old} and {@code next}, in {@code next}'s key order. */
  public static List<String> changedKeys(ConfigLoader.Loaded old, ConfigLoader.Loaded next) {
    requireNonNull(old, "old");
    requireNonNull(next, "next");
    Set<String> candidates = new LinkedHashSet<>(next.values.keySet());
    candidates.addAll(old.values.keySet());
    List<String> changed = new ArrayList<>();
    for (String key : candidates) {
      ConfigLoader.Value a = old.values.get(key);
      ConfigLoader.Value b = next.values.get(key);
      if (a != null && b != null && a.text().equals(b.text())) {
        continue;
      }
      ProxyConfig reverted;
      try {
        reverted = ConfigLoader.bind(revert(next.values, old.values, List.of(key)), next.source);
      } catch (ConfigException | IllegalArgumentException e) {
        changed.add(key); // only valid together with other changes: changed
        continue;
      }
      if (!reverted.equals(next.config())) {
        changed.add(key);
      }
    }
    return changed;
  }

  /**
   * {@code next} with {@code keys} as they were in {@code old} (set to the old value, or unset where
   * the old file did not have them), bound and validated again.
   *
   * @throws ConfigException when the mix is not a valid configuration
   */
  public static ConfigLoader.Loaded keeping(ConfigLoader.Loaded next, ConfigLoader.Loaded old, Collection<String> keys) {
    requireNonNull(next, "next");
    requireNonNull(old, "old");
    if (keys.isEmpty()) {
      return next;
    }
    Map<String, ConfigLoader.Value> values = revert(next.values, old.values, keys);
    return new ConfigLoader.Loaded(ConfigLoader.bind(values, next.source), values, next.source);
  }

  /** How many keys the loader knows, in every section. */
  public static int knownKeys() {
    return ConfigLoader.KEYS.values().stream().mapToInt(List::size).sum();
  }

  private static Map<String, ConfigLoader.Value> revert(Map<String, ConfigLoader.Value> next,
      Map<String, ConfigLoader.Value> old, Collection<String> keys) {
    Map<String, ConfigLoader.Value> values = new LinkedHashMap<>(next);
    for (String key : keys) {
      ConfigLoader.Value was = old.get(key);
      if (was == null) {
        values.remove(key);
      } else {
        values.put(key, was);
      }
    }
    return values;
  }
}
