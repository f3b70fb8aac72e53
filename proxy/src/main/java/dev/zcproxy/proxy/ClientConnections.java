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
 * <p>The bound is at most half the process's descriptor limit, the share the cache's open files leave for clients
 * ({@code DiskStore.maxOpenFilesFor}): above it clients would take the descriptors that cache files, origin connections
 * and splice pipes need, and {@code accept} itself failed with {@code EMFILE} (loadtest/results/FDBOUND-2026-12-03c.md).
 *
 * <p>At the bound the listeners stop accepting, as HAProxy's do at {@code maxconn}: new connections wait in the kernel's
 * accept queue, holding no descriptor of the proxy, and are accepted as open ones close. The slot is taken at accept on
 * the listener's loop ({@code ClientChannels.gateListener}), so a burst is never accepted beyond the bound; the
 * listener's first connections, before its gate is in place, are counted here. One accepted without a free slot is
 * closed at once, before a byte is read; the ones already open keep being served. Closing at accept alone was not
 * enough: 300 connections beyond the bound, each holding a descriptor until an event loop closed it, made {@code accept}
 * fail with {@code EMFILE} under {@code ulimit -n 1024} (DescriptorBoundIT). Shared by every event loop's server
 * instance; the count and the pause are guarded by this object's lock.
 */
final class ClientConnections {
  private static final Logger LOG = LoggerFactory.getLogger(ClientConnections.class);

  private volatile int max;
  private volatile long headTimeoutMs;
  private final AtomicInteger open = new AtomicInteger();
  private final AtomicLong rejected = new AtomicLong();
  private final AtomicBoolean full = new AtomicBoolean();
  private final AtomicBoolean headTimerWarned = new AtomicBoolean();
  private final java.util.Set<Object> listeners = java.util.concurrent.ConcurrentHashMap.newKeySet();
  private boolean paused; // guarded by this: some listener may have stopped accepting; the next free slot resumes them

  private final long fdLimit;
  private int configured; // listen.max-connections as last configured; only the start and reloads touch it

  /** What the bound is, for the log: the config key, or the admin listener's fixed bound. */
  private final String bound;
  /** Whose connections, for the log: {@code client} or {@code admin}. */
  private final String kind;

  /** {@code max} is {@code listen.max-connections}; {@code fdLimit} the process's descriptor limit, -1 if unknown. */
  ClientConnections(int max, long headTimeoutMs, long fdLimit) {
    this("listen.max-connections", "client", max, headTimeoutMs, fdLimit);
  }

  private ClientConnections(String bound, String kind, int max, long headTimeoutMs, long fdLimit) {
    this.bound = bound;
    this.kind = kind;
    this.fdLimit = fdLimit;
    this.configured = max;
    this.max = admitted(max, fdLimit);
    this.headTimeoutMs = headTimeoutMs;
  }

  /**
   * The admin listener's: at most {@code max} connections (the rest wait to be accepted), each with the client
   * listener's request-head timer. Without it a client could open admin connections until the process ran out of
   * descriptors, or fill them with heads that never end and keep a load balancer's {@code /health} out.
   */
  static ClientConnections admin(int max, long headTimeoutMs) {
    return new ClientConnections("the admin listener's bound", "admin", max, headTimeoutMs, -1);
  }

  /** After a reload: the bound and the head timeout for connections accepted from now on. */
  void reconfigure(int max, long headTimeoutMs) {
    if (max != configured) {
      configured = max;
      synchronized (this) {
        this.max = admitted(max, fdLimit);
        resumeIfFree();
      }
    }
    this.headTimeoutMs = headTimeoutMs;
  }

  /** {@code configured}, or half of {@code fdLimit} if that is less (then said in the log). */
  private static int admitted(int configured, long fdLimit) {
    int bound = boundFor(configured, fdLimit);
    if (bound < configured) {
      LOG.warn("listen.max-connections ({}) is more than half the descriptor limit ({}): at most {} client connections are"
          + " admitted, the other half is for cache files, origin connections and pipes (raise ulimit -n to {} or more)",
          configured, fdLimit, bound, 2L * configured);
    }
    return bound;
  }

  /**
   * The client connections admitted for {@code listen.max-connections} = {@code configured} in a process that may open
   * {@code fdLimit} descriptors ({@code -1}: unknown, then {@code configured}): at most half the limit.
   */
  static int boundFor(int configured, long fdLimit) {
    return fdLimit < 0 ? configured : (int) Math.max(1, Math.min(configured, fdLimit / 2));
  }

  /** The bound in force: {@code listen.max-connections}, or half the descriptor limit if that is less. */
  int max() {
    return max;
  }

  /** The server's connection handler. */
  boolean accept(HttpConnection conn) {
    if (!ClientChannels.countedAtAccept(conn)) {
      // the listener's first connections, before its gate is in place, or a listener that cannot be gated
      Object listener = ClientChannels.listener(conn);
      if (listener != null && !listeners.contains(listener)) {
        listeners.add(listener);
        ClientChannels.gateListener(conn, slots);
      }
      int taken = slots.take();
      if (taken == ClientChannels.Slots.REFUSED) {
        ClientChannels.closeNow(conn); // not conn.close(): a graceful close would still serve a request already read
        pauseAll();
        return false;
      }
      // on the channel: a connection that became a CONNECT or WebSocket tunnel gives its slot back too
      ClientChannels.whenClosed(conn, slots::give);
      if (taken == ClientChannels.Slots.FULL) {
        pauseAll();
      }
    }
    // HTTP/2 connections have no HTTP/1 head to time: the TLS handshake timeout and the idle timeout bound them
    if (headTimeoutMs > 0 && !ClientChannels.isHttp2(conn) && !ClientChannels.installHeadTimeout(conn, headTimeoutMs) && headTimerWarned.compareAndSet(false, true)) {
      LOG.warn("listen.request-head-timeout not applied: the connection is not a plain HTTP/1 Vert.x connection");
    }
    return true;
  }

  /** The slots: taken at accept by a listener's gate (on its loop) or by the connection handler; given back at close. */
  private final ClientChannels.Slots slots = new ClientChannels.Slots() {
    @Override
    public int take() {
      synchronized (ClientConnections.this) {
        int n = open.get();
        if (n >= max) {
          paused = true;
          rejected.incrementAndGet();
          return REFUSED;
        }
        open.set(++n);
        if (n < max) {
          return TAKEN;
        }
        paused = true;
      }
      if (full.compareAndSet(false, true)) {
        LOG.warn("{} ({}) reached: new {} connections wait until some close", bound, max, kind);
      }
      return FULL;
    }

    @Override
    public void give() {
      synchronized (ClientConnections.this) {
        if (open.decrementAndGet() < max - max / 10) {
          full.set(false); // warn again only after a tenth of the slots were free: not at every close at the bound
        }
        resumeIfFree();
      }
    }
  };

  /** Stops every listener from accepting (they resume as a slot is given back). */
  private synchronized void pauseAll() {
    paused = true;
    listeners.removeIf(l -> !ClientChannels.accepting(l, this::hasFreeSlot));
  }

  /** Lets the listeners accept again once a slot is free; under the lock. */
  private void resumeIfFree() {
    if (paused && open.get() < max) {
      paused = false;
      listeners.removeIf(l -> !ClientChannels.accepting(l, this::hasFreeSlot)); // a closed one: replaced at a reload
    }
  }

  private boolean hasFreeSlot() {
    return open.get() < max;
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
