package dev.zcproxy.proxy;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * What a reload does with each changed key: applied live, or named as needing a restart and kept as
 * it was.
 *
 * <p>Live is an allow-list: a key not listed here (a new section, or a key that shapes the store, the
 * event loops or the transport) needs a restart until someone teaches the reload to apply it, so a
 * reload never claims to have applied what it did not. The listener's socket options apply only when
 * the listener is rebound anyway, because its address changed.
 *
 * @param changed the keys applied live, in key order
 * @param restartRequired the keys that differ but keep their old value until a restart
 */
record ReloadPlan(List<String> changed, List<String> restartRequired) {

  /** Every key of these sections is applied live. */
  private static final List<String> LIVE_SECTIONS = List.of("origin.", "logging.");

  private static final Set<String> LIVE_KEYS = Set.of(
      "listen.address",
      "listen.shutdown-grace",
      "listen.drain-time",
      "listen.max-connections",
      "listen.request-head-timeout",
      "listen.trusted-proxies",
      "listen.max-body-size",
      "listen.body-buffer-size",
      "listen.body-buffer-total",
      "listen.body-timeout",
      "listen.body-temp-dir",
      // policy knobs: the store's directory, size, index and file format stay
      "cache.max-object-size",
      "cache.heuristic-fraction",
      "cache.heuristic-max",
      "cache.keep",
      "cache.cdn-cache-control",
      "cache.surrogate-control",
      "cache.max-variants",
      "cache.coalesce",
      "cache.hit-for-pass",
      "cache.set-cookie",
      "cache.invalidate-methods",
      "cache.key-headers",
      "cache.strip-tag-headers",
      "transfer.sendfile",
      "transfer.splice",
      "transfer.splice-min-size",
      "transfer.websocket",
      "transfer.connect-ports",
      "admin.enabled",
      "admin.address",
      "admin.token");

  /** Options of the client listener's sockets and codec: applied when it is rebound. */
  private static final Set<String> LISTENER_OPTIONS = Set.of(
      "listen.max-header-size", "listen.max-initial-line", "listen.idle-timeout", "listen.send-buffer");

  ReloadPlan {
    changed = List.copyOf(changed);
    restartRequired = List.copyOf(restartRequired);
  }

  /** Sorts {@code changedKeys} (dotted key paths) into live and restart-required. */
  static ReloadPlan of(List<String> changedKeys) {
    boolean rebind = changedKeys.contains("listen.address");
    List<String> live = new ArrayList<>();
    List<String> restart = new ArrayList<>();
    for (String key : changedKeys) {
      if (LIVE_KEYS.contains(key) || LIVE_SECTIONS.stream().anyMatch(key::startsWith)
          || (rebind && LISTENER_OPTIONS.contains(key))) {
        live.add(key);
      } else {
        restart.add(key);
      }
    }
    return new ReloadPlan(live, restart);
  }

  /** Whether the client listener moves to a new address (bound before the old one is let go). */
  boolean rebindListener() {
    return changed.contains("listen.address");
  }

  /** Whether the admin listener is started, stopped or moved. */
  boolean rebindAdmin() {
    return changed.contains("admin.address") || changed.contains("admin.enabled");
  }

  /** Whether any key of {@code section} (e.g. {@code "logging"}) is applied. */
  boolean touches(String section) {
    return changed.stream().anyMatch(k -> k.startsWith(section + "."));
  }
}
