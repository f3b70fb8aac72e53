package dev.zcproxy.proxy;

import dev.zcproxy.proxy.admin.Lifecycle;
import dev.zcproxy.proxy.config.ConfigDiff;
import dev.zcproxy.proxy.config.ConfigException;
import dev.zcproxy.proxy.config.ConfigLoader;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reloads, drain and the health state of one {@link ProxyServer}.
 *
 * <p>A reload reads the config again with the same file and flags, validates all of it (a bad file is
 * refused with the loader's message, which names the key and line, and nothing changes), sorts the
 * changed keys into live and restart-required ({@link ReloadPlan}), keeps the restart-required ones
 * at their old value and hands the rest to {@link ProxyServer#apply}. Reloads run one after the other;
 * each is counted in the metrics and logged on one line, like nginx's {@code reconfiguring}.
 */
final class ProxyLifecycle implements Lifecycle {
  private static final Logger LOG = LoggerFactory.getLogger(ProxyLifecycle.class);

  private final ProxyServer server;
  private final Supplier<ConfigLoader.Loaded> source;
  /** The configuration in effect, with the values it came from; {@code null} when there is no source. */
  private volatile ConfigLoader.Loaded current;
  private volatile boolean draining;
  private volatile boolean stopping;
  /** The last reload asked for: the next one starts when it ended. */
  private Future<JsonObject> last = Future.succeededFuture();

  /**
   * @param initial what the proxy started with, or {@code null} (then {@code source} is too: no reload)
   * @param source reads the config file and flags again
   */
  ProxyLifecycle(ProxyServer server, ConfigLoader.Loaded initial, Supplier<ConfigLoader.Loaded> source) {
    this.server = server;
    this.current = initial;
    this.source = source;
  }

  @Override
  public State state() {
    return stopping ? State.STOPPING : draining ? State.DRAINING : State.OK;
  }

  @Override
  public void drain(boolean on) {
    if (on != draining) {
      LOG.info(on ? "draining: /health answers 503 while requests are still served" : "drain ended: /health answers ok");
    }
    draining = on;
  }

  /** The graceful stop has begun. */
  void stopping() {
    stopping = true;
  }

  @Override
  public synchronized Future<JsonObject> reload() {
    Future<JsonObject> next = last.transform(ar -> reloadNow());
    last = next;
    return next;
  }

  private Future<JsonObject> reloadNow() {
    if (source == null) {
      return Lifecycle.NONE.reload();
    }
    if (stopping || server.vertx() == null) {
      return refused(stopping ? "the proxy is stopping" : "the proxy is not started", null);
    }
    ConfigLoader.Loaded was = current;
    // reading the file and binding it again per changed key: off the event loop
    return server.vertx().executeBlocking(() -> prepare(was), false).transform(ar -> {
      if (ar.failed()) {
        Throwable t = ar.cause();
        return refused(t instanceof ConfigException ? t.getMessage() : t.toString(), t);
      }
      return apply(ar.result());
    });
  }

  /** The new config read and validated, what changed, and the config to apply (restart-required keys kept). */
  private record Prepared(ConfigLoader.Loaded effective, ReloadPlan plan) {}

  private Prepared prepare(ConfigLoader.Loaded was) {
    ConfigLoader.Loaded next = source.get();
    ReloadPlan plan = ReloadPlan.of(ConfigDiff.changedKeys(was, next));
    return new Prepared(ConfigDiff.keeping(next, was, plan.restartRequired()), plan);
  }

  private Future<JsonObject> apply(Prepared prepared) {
    ReloadPlan plan = prepared.plan();
    ConfigLoader.Loaded effective = prepared.effective();
    JsonObject answer = new JsonObject()
        .put("changed", new JsonArray(List.copyOf(plan.changed())))
        .put("restartRequired", new JsonArray(List.copyOf(plan.restartRequired())))
        .put("unchanged", ConfigDiff.knownKeys() - plan.changed().size() - plan.restartRequired().size());
    Future<Void> applied;
    try {
      applied = plan.changed().isEmpty() ? Future.succeededFuture() : server.apply(effective.config(), plan);
    } catch (RuntimeException e) {
      applied = Future.failedFuture(e);
    }
    return applied.transform(ar -> {
      if (ar.failed()) {
        return refused(ar.cause().getMessage(), ar.cause());
      }
      current = effective;
      server.metrics().reloaded(true);
      LOG.info("reloaded: changed {}{}", plan.changed(),
          plan.restartRequired().isEmpty() ? "" : ", restart required for " + plan.restartRequired() + " (kept as they were)");
      return Future.succeededFuture(answer);
    });
  }

  private Future<JsonObject> refused(String message, Throwable cause) {
    server.metrics().reloaded(false);
    LOG.error("reload refused, nothing changed: {}", message);
    return Future.failedFuture(new Refused(message, cause));
  }
}
