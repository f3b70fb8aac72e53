package dev.zcproxy.proxy.origin;

import dev.zcproxy.proxy.config.ProxyConfig;
import dev.zcproxy.proxy.config.Sites;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * One server of an origin pool: its client, its health (UP, DOWN after failed checks, EJECTED after
 * failed requests) and its counters.
 *
 * <p>Health moves: UP → DOWN after {@code fall} failed checks in a row; UP → EJECTED after
 * {@code eject-after} failed requests in a row (connect errors, resets, timeouts or 5xx), for
 * {@code eject-for}; DOWN or EJECTED → UP after {@code rise} passed checks in a row (for an ejected
 * server, checks count only once its ejection time is over); without active checks an ejected server
 * gets requests again when its ejection time is over.
 */
public final class OriginServer implements Balancer.Member {
  /** A server's health. */
  public enum State { UP, DOWN, EJECTED }

  private final Sites.Server config;
  private final OriginClient client;
  private final Sites.Health health;
  private final boolean ejectable;
  private final String id;
  private final String authority;
  private final AtomicInteger inFlight = new AtomicInteger();
  private final LongAdder requests = new LongAdder();
  private final LongAdder errors = new LongAdder();
  private final LongAdder ejections = new LongAdder();
  private final LongAdder checksFailed = new LongAdder();
  private State state = State.UP;
  private int failedRequests;
  private int passedChecks;
  private int failedChecks;
  private long ejectedUntilNanos;
  private String lastProblem = "";

  /** @param ejectable false for the only server of a pool (nginx never marks a lone server down either) */
  OriginServer(Sites.Server config, OriginClient client, Sites.Health health, boolean ejectable) {
    this.config = config;
    this.client = client;
    this.health = health;
    this.ejectable = ejectable;
    ProxyConfig.OriginUrl url = config.url();
    this.id = url.toString();
    boolean defaultPort = url.port() == (url.tls() ? 443 : 80);
    String host = url.host().contains(":") ? "[" + url.host() + "]" : url.host();
    this.authority = defaultPort ? host : host + ":" + url.port();
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public int weight() {
    return config.weight();
  }

  @Override
  public int inFlight() {
    return inFlight.get();
  }

  /** The {@code Host} this server is asked with when the client's is not kept. */
  public String authority() {
    return authority;
  }

  public OriginClient client() {
    return client;
  }

  public ProxyConfig.OriginUrl url() {
    return config.url();
  }

  /** Whether a request may go to this server now. */
  synchronized boolean usable(long nowNanos) {
    if (state == State.UP) {
      return true;
    }
    if (state == State.EJECTED && !health.active() && nowNanos - ejectedUntilNanos >= 0) {
      state = State.UP; // no checks to pass: back after its time out, as nginx's fail_timeout
      failedRequests = 0;
      return true;
    }
    return false;
  }

  public synchronized State state() {
    return state;
  }

  void started() {
    inFlight.incrementAndGet();
    requests.increment();
  }

  void ended() {
    inFlight.decrementAndGet();
  }

  /** A request's outcome: {@code failed} for a connect error, reset, timeout or 5xx. */
  synchronized void requestResult(boolean failed, String problem, long nowNanos) {
    if (!failed) {
      failedRequests = 0;
      return;
    }
    errors.increment();
    lastProblem = problem;
    failedRequests++;
    if (ejectable && health.ejectAfter() > 0 && failedRequests >= health.ejectAfter() && state == State.UP) {
      state = State.EJECTED;
      ejectedUntilNanos = nowNanos + health.ejectFor().toNanos();
      passedChecks = 0;
      ejections.increment();
    }
  }

  /** An active check's outcome. */
  synchronized void checkResult(boolean passed, String problem, long nowNanos) {
    if (passed) {
      failedChecks = 0;
      if (state == State.EJECTED && nowNanos - ejectedUntilNanos < 0) {
        passedChecks = 0; // checks count once the ejection time is over
        return;
      }
      passedChecks++;
      if (state != State.UP && passedChecks >= health.rise()) {
        state = State.UP;
        failedRequests = 0;
      }
      return;
    }
    checksFailed.increment();
    lastProblem = problem;
    passedChecks = 0;
    failedChecks++;
    if (state == State.UP && failedChecks >= health.fall()) {
      state = State.DOWN;
    }
  }

  long requests() {
    return requests.sum();
  }

  long errors() {
    return errors.sum();
  }

  long ejections() {
    return ejections.sum();
  }

  long checksFailed() {
    return checksFailed.sum();
  }

  synchronized String lastProblem() {
    return lastProblem;
  }
}
