package dev.zcproxy.proxy;

import dev.zcproxy.proxy.admin.Lifecycle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Installs the process signal handlers that are not the JVM's own: {@code SIGHUP} reloads the config. */
final class Signals {
  private static final Logger LOG = LoggerFactory.getLogger(Signals.class);

  private Signals() {}

  /**
   * Reloads on every {@code SIGHUP} ({@code kill -HUP <pid>}, systemd's {@code ExecReload}), as nginx and
   * HAProxy do; the reload logs its own line, applied or refused.
   *
   * @return whether the handler was installed; where it cannot be (no {@code sun.misc.Signal}, signal
   *     reserved, {@code -Xrs}), a warning says to use {@code POST /reload} instead
   */
  static boolean reloadOnSighup(Lifecycle lifecycle) {
    try {
      sun.misc.Signal.handle(new sun.misc.Signal("HUP"), sig -> lifecycle.reload());
      return true;
    } catch (LinkageError | IllegalArgumentException | UnsupportedOperationException e) {
      LOG.warn("SIGHUP cannot reload the config here ({}); use POST /reload on the admin listener", e.toString());
      return false;
    }
  }
}
