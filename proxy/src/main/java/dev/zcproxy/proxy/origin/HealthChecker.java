package dev.zcproxy.proxy.origin;

import dev.zcproxy.proxy.config.Sites;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Active health checks of one pool: every {@code interval}, a {@code GET path} to each server through its
 * own {@link OriginClient} (so an https server is checked with the same TLS settings as its requests);
 * a status in the expected range within {@code timeout} passes.
 *
 * <p>One periodic timer per pool, cancelled by {@link #stop}; at most one check per server in flight
 * (a check still running at the next tick counts as failed and no second one starts).
 */
final class HealthChecker {
  private final Vertx vertx;
  private final List<OriginServer> servers;
  private final Sites.Health health;
  private final Set<OriginServer> running = ConcurrentHashMap.newKeySet();
  private long timer = -1;
  private volatile boolean stopped;

  HealthChecker(Vertx vertx, List<OriginServer> servers, Sites.Health health) {
    this.vertx = vertx;
    this.servers = servers;
    this.health = health;
  }

  synchronized void start() {
    if (timer < 0 && !stopped) {
      timer = vertx.setPeriodic(1, health.interval().toMillis(), id -> checkAll());
    }
  }

  synchronized void stop() {
    stopped = true;
    if (timer >= 0) {
      vertx.cancelTimer(timer);
      timer = -1;
    }
  }

  private void checkAll() {
    for (OriginServer s : servers) {
      if (stopped) {
        return;
      }
      if (!running.add(s)) {
        s.checkResult(false, "check still running after " + health.timeout().toMillis() + " ms", System.nanoTime());
        continue;
      }
      check(s);
    }
  }

  private void check(OriginServer s) {
    Promise<String> outcome = Promise.promise(); // null = passed, else the problem
    long timeoutTimer = vertx.setTimer(health.timeout().toMillis(),
        id -> outcome.tryComplete("no answer within " + health.timeout().toMillis() + " ms"));
    outcome.future().onComplete(ar -> {
      vertx.cancelTimer(timeoutTimer);
      if (!stopped) {
        s.checkResult(ar.result() == null, ar.result(), System.nanoTime());
      }
    });
    MultiMap headers = HttpHeaders.headers()
        .set(HttpHeaders.HOST, s.authority())
        .set(HttpHeaders.USER_AGENT, "zcproxy-health-check")
        .set(HttpHeaders.ACCEPT, "*/*");
    s.client().send(HttpMethod.GET, health.path(), headers, null).onComplete(ar -> {
      if (ar.failed()) {
        running.remove(s);
        outcome.tryComplete(String.valueOf(ar.cause().getMessage()));
        return;
      }
      var cres = ar.result();
      int status = cres.statusCode();
      // The body is read and dropped so the connection goes back to its pool.
      cres.body().onComplete(b -> {
        running.remove(s);
        boolean ok = status >= health.expectMin() && status <= health.expectMax();
        outcome.tryComplete(ok ? null : "status " + status);
      });
    });
  }
}
