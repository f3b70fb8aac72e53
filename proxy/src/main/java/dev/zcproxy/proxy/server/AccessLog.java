package dev.zcproxy.proxy.server;

import dev.zcproxy.cache.CacheOutcome;
import dev.zcproxy.proxy.transfer.TransferMode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes one line per response to the {@code zcproxy.access} logger: client address, request line,
 * status, body bytes, duration, cache outcome and transfer mode.
 */
final class AccessLog {
  private static final Logger ACCESS = LoggerFactory.getLogger("zcproxy.access");
  private final boolean enabled;

  AccessLog(boolean enabled) {
    this.enabled = enabled;
  }

  void log(String client, String method, String uri, String version, int status, long bytes, long micros,
      CacheOutcome outcome, TransferMode mode) {
    if (!enabled || !ACCESS.isInfoEnabled()) {
      return;
    }
    ACCESS.info("{} \"{} {} {}\" {} {} {}us {} {}", client, method, uri, version, status, bytes, micros, outcome, mode.name().toLowerCase());
  }
}
