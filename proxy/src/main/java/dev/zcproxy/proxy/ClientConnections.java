package dev.zcproxy.proxy;

import dev.zcproxy.proxy.internal.ClientChannels;
import io.vertx.core.http.HttpConnection;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Admits client connections up to {@code listen.max-connections} (like HAProxy's {@code maxconn} and
 * nginx's {@code worker_connections}) and puts the request-head timer on each admitted one.
 *
 * <p>A connection beyond the bound is closed as soon as it is accepted, before a byte is read; the ones
 * already open keep being served. Shared by every event loop's server instance.
 */
final class ClientConnections {
  private static final Logger LOG = LoggerFactory.getLogger(ClientConnections.class);

  private volatile int max;
  private volatile long headTimeoutMs;
  private final AtomicInteger open = new AtomicInteger();
  private final AtomicLong rejected = new AtomicLong();
  private final AtomicBoolean full = new AtomicBoolean();
  private final AtomicBoolean headTimerWarned = new AtomicBoolean();

  ClientConnections(int max, long headTimeoutMs) {
    this.max = max;
    this.headTimeoutMs = headTimeoutMs;
  }

  /** After a reload: the bound and the head timeout for connections accepted from now on. */
  void reconfigure(int max, long headTimeoutMs) {
    this.max = max;
    this.headTimeoutMs = headTimeoutMs;
  }

  /** The server's connection handler. */
  boolean accept(HttpConnection conn) {
    if (open.incrementAndGet() > max) {
      open.decrementAndGet();
      rejected.incrementAndGet();
      if (full.compareAndSet(false, true)) {
        LOG.warn("listen.max-connections ({}) reached: closing new client connections until some close", max);
      }
      ClientChannels.closeNow(conn); // not conn.close(): a graceful close would still serve a request already read
      return false;
    }
    // on the channel: a connection that became a CONNECT or WebSocket tunnel gives its slot back too
    ClientChannels.whenClosed(conn, () -> {
      if (open.decrementAndGet() < max) {
        full.set(false);
      }
    });
    // HTTP/2 connections have no HTTP/1 head to time: the TLS handshake timeout and the idle timeout bound them
    if (headTimeoutMs > 0 && !ClientChannels.isHttp2(conn) && !ClientChannels.installHeadTimeout(conn, headTimeoutMs) && headTimerWarned.compareAndSet(false, true)) {
      LOG.warn("listen.request-head-timeout not applied: the connection is not a plain HTTP/1 Vert.x connection");
    }
    return true;
  }

  /** Client connections open now. */
  int open() {
    return open.get();
  }

  /** Connections closed at accept because the bound was reached, since start. */
  long rejected() {
    return rejected.get();
  }
}
