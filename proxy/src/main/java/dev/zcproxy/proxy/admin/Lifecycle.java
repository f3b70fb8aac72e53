package dev.zcproxy.proxy.admin;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.util.Locale;

/** What the admin listener asks of the running proxy: reload its config, drain it, and say its state. */
public interface Lifecycle {

  /** What {@code /health} says: serving, draining for the load balancers, or stopping. */
  enum State {
    OK, DRAINING, STOPPING;

    /** The lower-case name {@code /health} answers with. */
    public String label() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** A reload that changed nothing: a bad config file, or a listener that could not be bound. */
  final class Refused extends RuntimeException {
    public Refused(String message, Throwable cause) {
      super(message, cause, false, false);
    }
  }

  /** The state now. */
  State state();

  /**
   * Reads the config again and applies it; completes with {@code {"changed":[...],"restartRequired":[...],
   * "unchanged":N}}, or fails with {@link Refused} when nothing was changed.
   */
  Future<JsonObject> reload();

  /** Starts draining ({@code /health} answers 503 while requests are still served), or stops it. */
  void drain(boolean on);

  /** A proxy that can neither reload nor drain (an admin listener on its own, in tests). */
  Lifecycle NONE = new Lifecycle() {
    @Override
    public State state() {
      return State.OK;
    }

    @Override
    public Future<JsonObject> reload() {
      return Future.failedFuture(new Refused("this proxy was not started from a config file: nothing to reload", null));
    }

    @Override
    public void drain(boolean on) {
      // nothing to drain
    }
  };
}
