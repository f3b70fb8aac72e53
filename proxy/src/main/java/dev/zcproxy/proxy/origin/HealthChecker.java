package dev.zcproxy.proxy.origin;

import dev.zcproxy.proxy.config.Sites;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Active health checks of one pool: every {@code interval}, a {@code GET path} to each server through its
 * own {@link OriginClient} (so an https server is checked with the same TLS settings as its requests);
 * a status in the expected range within {@code timeout} passes.
 *
 * <p>One periodic timer per pool, cancelled by {@link #stop}. A check unanswered within its timeout fails;
 * no new check starts while the last one is within its timeout, and at most {@value #MAX_PENDING} per
 * server are in flight (beyond, each tick counts one more failure and starts none).
 */
final class HealthChecker {
  private final Vertx vertx;
  private final List<OriginServer> servers;
  private final Sites.Health health;
  /** Checks started and not answered yet, per server (a timed-out one stays until its request ends). */
  private final java.util.Map<OriginServer, Integer> running = new ConcurrentHashMap<>();
  private final java.util.Map<OriginServer, Long> lastStart = new ConcurrentHashMap<>();
  /** Unanswered checks a server may have before no more are started. */
  private static final int MAX_PENDING = 2;
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
      long now = System.nanoTime();
      int pending = running.getOrDefault(s, 0);
      if (pending > 0 && now - lastStart.getOrDefault(s, now) < health.timeout().toNanos()) {
        continue; // the last check is within its timeout: its own outcome counts
      }
      if (pending >= MAX_PENDING) {
        // checks that timed out still wait for their connection: count one more failure, start none
        s.checkResult(false, pending + " checks unanswered", now);
        continue;
      }
      running.merge(s, 1, Integer::sum);
      lastStart.put(s, now);
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
        running.merge(s, -1, Integer::sum);
        outcome.tryComplete(String.valueOf(ar.cause().getMessage()));
        return;
      }
      var cres = ar.result();
      int status = cres.statusCode();
      // The body is read and dropped so the connection goes back to its pool.
      cres.body().onComplete(b -> {
        running.merge(s, -1, Integer::sum);
        boolean ok = status >= health.expectMin() && status <= health.expectMax();
        outcome.tryComplete(ok ? null : "status " + status);
      });
    });
  }
}
