package dev.zcproxy.proxy.internal;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.util.AttributeKey;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.impl.Http1xServerConnection;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Corks a client connection ({@code TCP_CORK}) while a file hit's head and body are written, so that the head leaves in
 * the body's first segment instead of a segment of its own and a large body leaves in full segments, as nginx's
 * {@code tcp_nopush} does.
 *
 * <p>Why (loadtest/results/LARGE-2026-12-03.md): with the head alone in a segment, each 256 KiB hit made the client
 * send 10-13 ACKs and spend 0.22-0.27 ms of CPU; corked, 2 ACKs and 0.14-0.17 ms, and the proxy woke up less often.
 * The price is two {@code setsockopt} per hit. Bodies of {@code belowBytes} and more (up to {@code fromBytes}) are not
 * corked: at 1 MiB the proxy then sent about twice as many segments per body and the A/B leaned against it. Off by default
 * ({@code transfer.cork-hits-below: 0}): on a quiet machine the proxy spent 1.3-1.8x the CPU per GB on corked 256 KiB
 * hits and the machine as a whole saved nothing (loadtest/results/QUIET-2026-12-03.md). Hits under 1 MiB now send
 * the body's first bytes with the head without a cork ({@link HeadPrefix}, loadtest/results/LARGE-2026-12-03d.md).
 *
 * <p>Bodies of {@code fromBytes} and more are corked too, for the whole body (on by default, 4 MiB), as nginx keeps
 * {@code tcp_nopush} for a whole sendfile body: on loopback a 16 MiB body is limited by the client's receive window, and
 * corked, the client's (wrk's) receive buffers autotuned 6-20x larger, it sent 0.6-0.75x the ACKs per GB, spent
 * 0.75-0.86x the CPU and read 1.14-1.3x the bytes (loadtest/results/LARGE-2026-12-03g.md; why, below).
 * On loopback the cork also moves the receiver's TCP work into our {@code sendfile}: at 16 connections that is what lets
 * the client read more (1.14-1.3x the MB/s of 16 MiB hits), at 128 connections the client gained nothing and the proxy
 * paid 1.2-1.7x nginx's CPU per GB. So a large body is corked only while at most {@link #LARGE_READERS} open connections
 * of this listener read large bodies (a connection counts from its first large hit until it closes or takes a hit
 * below {@code fromBytes}). Counting bodies under way instead (as before) did not tell 16 connections from 128 for
 * 1 MiB hits ({@code cork-hits-from: 1MiB}): once the cork has grown the client's receive window, a 1 MiB body leaves
 * in one {@code sendfile} and is no longer under way, so at 128 connections every 1 MiB hit was corked, at 1.37x nginx's
 * CPU per GB (loadtest/results/LARGE-2026-12-04a.md). 1 MiB is not the default: at 16 connections it read 1.33x the
 * bytes (1.11x nginx's) but the proxy's CPU per GB rose from 0.26x to 1.08x nginx's.
 *
 * <p>Why the receive window grows (the same results, {@code ss -tmi} of wrk's sockets at 1 MiB, 16 connections): the
 * client's kernel sizes its buffer from what the application copied per receiver-measured RTT ({@code rcv_rtt}, the
 * time one advertised window takes to arrive). Uncorked, with {@code TCP_NODELAY}, our queued bytes leave as soon as
 * the client's window opens, from inside the client's own ACK processing: a window arrives within 10-40 us, so the
 * client's buffer stays at 0.3-0.7 MB ({@code rcv_space} 87-174 KB) and the connection is receive-window limited 78-91%
 * of the time. Corked, bytes leave in full segments from our {@code sendfile}: {@code rcv_rtt} 1.5-2.9 ms, buffers of
 * 9.5-11.9 MB (nginx 0.3-0.8 ms, 2.9-6.4 MB), and the client sends 0.13x the ACKs.
 *
 * <p>Bodies from {@link #FIRST_FROM} (1 MiB) up to {@code fromBytes} are corked only for a connection's first
 * {@link #FIRST_BUDGET} (16 MiB) of such bodies, under the same bound of connections, and count as large: the client's
 * kernel only ever grows its receive buffer, and once the cork has grown it, it stays large with the cork off
 * (loadtest/results/LARGE-2026-12-04b.md, {@code ss -tmi} of wrk's sockets at 1 MiB, 16 connections: after the
 * budget its buffer went on growing from 0.5-3.7 MB to 8 MB, {@code rcv_rtt} from 0.05 to 1 ms, and our side was
 * receive-window limited 2-4% of the time instead of 94-97%). In the A/B that read 1.17x main's bytes at 0.27 s of
 * proxy CPU per GB (main 0.10 s), where corking every 1 MiB body read 1.08x at 0.43 s, and a 64 MiB budget 1.13x at
 * 0.32 s. Above {@code fromBytes} the budget lost (16 MiB bodies:
 * 0.77x the bytes): one corked body per connection does not grow the window, so those stay corked whole.
 *
 * <p>Only on Netty's native epoll transport ({@code EpollSocketChannel}); elsewhere (NIO) nothing is done and the head
 * leaves on its own as before. Several bodies under way on one connection (pipelined) share one cork, lifted when the
 * last of them was written or failed, so nothing stays corked behind them.
 *
 * <p>Threads: the bounds are immutable; the count of connections reading large bodies is shared by the listener's
 * event loops (atomic); a connection's cork is a channel attribute read and written on that connection's event loop
 * only.
 */
public final class HitCork {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(HitCork.class);
  private static final AttributeKey<Cork> CORK = AttributeKey.valueOf("zcproxy.hit-cork");

  /** Most open connections (of one listener) reading large bodies for a large body to be corked. */
  public static final int LARGE_READERS = 32;

  /** Bodies of this size and more (below {@code fromBytes}) are corked for a connection's first {@link #FIRST_BUDGET}. */
  static final long FIRST_FROM = 1L << 20;

  /** How many bytes of bodies from {@link #FIRST_FROM} to {@code fromBytes} a connection gets corked. */
  static final long FIRST_BUDGET = 16L << 20;

  private final long belowBytes;
  private final long fromBytes;
  private final int largeReaders;
  private final long firstFrom;
  private final long firstBudget;
  private final AtomicInteger largeReading = new AtomicInteger();

  /**
   * @param belowBytes bodies shorter than this are corked with their head; 0 = never
   * @param fromBytes bodies of this size and more are corked with their head; 0 = never
   */
  public HitCork(long belowBytes, long fromBytes) {
    this(belowBytes, fromBytes, LARGE_READERS);
  }

  /** @param largeReaders a large body is corked while at most this many connections (its own included) read large bodies */
  HitCork(long belowBytes, long fromBytes, int largeReaders) {
    this(belowBytes, fromBytes, largeReaders, FIRST_FROM, FIRST_BUDGET);
  }

  /**
   * @param firstFrom bodies from this size up to {@code fromBytes} are corked for a connection's first
   *     {@code firstBudget} bytes of them (none when {@code fromBytes} is 0)
   */
  HitCork(long belowBytes, long fromBytes, int largeReaders, long firstFrom, long firstBudget) {
    if (belowBytes < 0 || fromBytes < 0 || largeReaders < 1 || firstFrom < 1 || firstBudget < 0) {
      throw new IllegalArgumentException("belowBytes " + belowBytes + ", fromBytes " + fromBytes + ", largeReaders "
          + largeReaders + ", firstFrom " + firstFrom + ", firstBudget " + firstBudget);
    }
    this.belowBytes = belowBytes;
    this.fromBytes = fromBytes;
    this.largeReaders = largeReaders;
    this.firstFrom = firstFrom;
    this.firstBudget = firstBudget;
  }

  /** Whether a body of {@code length} counts its connection among the large readers. */
  boolean large(long length) {
    return whole(length) || firstBand(length);
  }

  /** Whether a body of {@code length} is corked whole (under the bound of connections). */
  private boolean whole(long length) {
    return fromBytes > 0 && length >= fromBytes;
  }

  /** Whether a body of {@code length} is one of those corked for a connection's first {@code firstBudget} bytes. */
  private boolean firstBand(long length) {
    return length >= firstFrom && length < fromBytes;
  }

  /**
   * Whether a body of {@code length} is corked on a connection that had {@code firstCorked} bytes of bodies from
   * {@code firstFrom} to {@code fromBytes} corked, while {@code reading} open connections (its own included, when the
   * body is {@link #large}) read large bodies. Pure.
   */
  boolean corks(long length, long firstCorked, int reading) {
    boolean whole = whole(length);
    if (length < belowBytes && !whole) {
      return true;
    }
    boolean first = firstBand(length) && firstCorked < firstBudget; // once grown, the window stays grown uncorked
    return (whole || first) && reading <= largeReaders; // how many connections share the client's reading, corked or not
  }

  /** Whether a corked body of {@code length} spends its connection's budget (not one corked for being short). */
  private boolean spendsBudget(long length) {
    return firstBand(length) && length >= belowBytes;
  }

  /** How many open connections read large bodies now (for tests). */
  int largeReaders() {
    return largeReading.get();
  }

  /** Whether any hit may be corked. */
  public boolean enabled() {
    return belowBytes > 0 || fromBytes > 0;
  }

  /**
   * Lets file hits written to {@code conn}'s channel cork it ({@link #around}). Does nothing when off, when {@code conn}
   * is not a plain HTTP/1.x connection, or when its channel is not epoll's (no {@code TCP_CORK} to set).
   */
  public void install(HttpConnection conn) {
    if (enabled() && conn instanceof Http1xServerConnection c) {
      install(c.channel());
    }
  }

  /** {@link #install(HttpConnection)} for a channel. */
  void install(Channel ch) {
    if (enabled() && ch instanceof EpollSocketChannel) {
      ch.attr(CORK).set(new Cork(this));
    }
  }

  /**
   * Corks {@code ch} for a file hit whose body of {@code length} bytes completes {@code written}, when the connection
   * was {@link #install installed} and the body is short enough, or long enough while few large bodies are under way;
   * lifts the cork when {@code written} completes (written or failed) and no other corked body is under way. On {@code ch}'s event loop, before the head is written.
   *
   * @return whether the connection is corked for this body
   */
  public static boolean around(Channel ch, long length, ChannelFuture written) {
    Cork cork = ch.attr(CORK).get();
    return cork != null && cork.cork((EpollSocketChannel) ch, length, written);
  }

  /**
   * A connection's cork: its listener's bounds, how many bodies under way hold it, whether the connection counts as
   * reading large bodies, and how many bytes of its first large bodies were corked. Its event loop's only.
   */
  private static final class Cork {
    final HitCork bounds;
    int bodies;
    boolean largeReader;
    boolean closeWatched;
    long firstCorked;

    Cork(HitCork bounds) {
      this.bounds = bounds;
    }

    boolean cork(EpollSocketChannel ch, long length, ChannelFuture written) {
      if (!ch.isActive()) {
        return false;
      }
      readsLarge(ch, bounds.large(length));
      if (!bounds.corks(length, firstCorked, bounds.largeReading.get())) {
        return false;
      }
      if (bodies == 0) {
        try {
          ch.config().setTcpCork(true);
        } catch (RuntimeException e) {
          LOG.debug("{} not corked", ch, e);
          return false;
        }
      }
      bodies++;
      if (bounds.spendsBudget(length)) {
        firstCorked += length;
      }
      written.addListener(f -> uncork(ch));
      return true;
    }

    /** Counts this connection among the large readers from its first large hit until a smaller hit or its close. */
    private void readsLarge(EpollSocketChannel ch, boolean large) {
      if (large == largeReader) {
        return;
      }
      largeReader = large;
      if (large) {
        bounds.largeReading.incrementAndGet();
        if (!closeWatched) {
          closeWatched = true;
          ch.closeFuture().addListener(f -> readsLarge(ch, false)); // on the event loop
        }
      } else {
        bounds.largeReading.decrementAndGet();
      }
    }

    private void uncork(EpollSocketChannel ch) {
      if (--bodies > 0 || !ch.isOpen()) {
        return;
      }
      try {
        ch.config().setTcpCork(false); // sends the last partial segment now, not after the kernel's 200 ms
      } catch (RuntimeException e) {
        LOG.debug("{} not uncorked", ch, e);
      }
    }
  }
}
