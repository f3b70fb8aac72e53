package dev.zcproxy.proxy.internal;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;
import io.netty.util.AttributeKey;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.impl.Http1xServerConnection;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Raises a client connection's send buffer ({@code SO_SNDBUF}) while a large hit's body is written to it by sendfile,
 * for at most a bounded number of connections at once, and sets it back when the body was written.
 *
 * <p>Why: a larger send buffer lets each {@code sendfile} call and each wake-up move more of a large body
 * (loadtest/results/LARGE-2026-12-02c.md, -02d.md, LARGE-2026-12-03.md). Spliced passes do not ask for it: their
 * splice calls are bounded by what the origin socket holds at each wake-up, not by the client's send buffer, and in
 * the A/Bs they gained nothing for the kernel memory the raise holds (LARGE-2026-12-03.md). A fixed buffer for every
 * connection ({@code listen.send-buffer}) lets every connection queue that much in the kernel, and at 128 connections of 100 MiB bodies it ran into the
 * kernel's TCP memory pressure. Here only bodies of {@code fromBytes} and more ask for it, and only {@code maxConnections}
 * connections hold a raised buffer at any time: the kernel memory it adds is bounded by
 * {@code maxConnections x 2 x bytes}. A body that finds every slot taken is written with the connection's buffer as it is.
 *
 * <p>Linux never hands a socket back to autotuning once {@code SO_SNDBUF} was set ({@code SOCK_SNDBUF_LOCK} stays): when
 * the body is written the buffer is set back to the size it had just before the raise, and stays at that size for the connection's life. On loopback a socket starts at
 * {@code net.ipv4.tcp_wmem}'s max already, so nothing is lost there.
 *
 * <p>No buffer is raised while the kernel's TCP memory in use plus the raise would pass {@code net.ipv4.tcp_mem}'s first
 * threshold (read from {@code /proc} for a raise that found a free slot, at most every 50 ms, {@link TcpMemory}): from there the kernel squeezes sockets, and raised
 * buffers made most sendfile calls fail with EAGAIN. A fixed slot count cannot know how much other sockets hold.
 *
 * <p>A connection whose buffer is that large already (the kernel's autotuning reached it, or {@code listen.send-buffer})
 * is left alone, and the size asked for is capped at {@code net.core.wmem_max}, where the kernel caps it.
 *
 * <p>Threads: the slot count is shared by every event loop (an {@link AtomicInteger}); a connection's raised state is a
 * channel attribute read and written on that connection's event loop only.
 * Uses only Netty's public channel options: a channel that refuses the option is simply not raised.
 */
public final class LargeSendBuffers {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(LargeSendBuffers.class);
  private static final AttributeKey<LargeSendBuffers> OWNER = AttributeKey.valueOf("zcproxy.large-send-buffers");
  private static final AttributeKey<Raised> RAISED = AttributeKey.valueOf("zcproxy.large-send-buffers.raised");

  private final int bytes;
  private final long fromBytes;
  private final int maxConnections;
  private final AtomicInteger inUse = new AtomicInteger();
  private final java.util.function.LongPredicate roomy;
  private final Runnable raised;

  /**
   * @param bytes the {@code SO_SNDBUF} asked for while a large body is written (the kernel doubles it, and caps it at
   *     {@code net.core.wmem_max}); 0 = off
   * @param fromBytes bodies of this length and more ask for it
   * @param maxConnections the most connections with a raised buffer at once
   * @param raised told of each raise (a metric), on the connection's event loop
   */
  public LargeSendBuffers(int bytes, long fromBytes, int maxConnections, Runnable raised) {
    this(bytes, fromBytes, maxConnections, kernelMax(), tcpMemoryBelowLow(), raised);
  }

  /** With {@code net.core.wmem_max} read, no TCP-memory guard and no metric (tests). */
  LargeSendBuffers(int bytes, long fromBytes, int maxConnections) {
    this(bytes, fromBytes, maxConnections, kernelMax(), pages -> true, () -> {});
  }

  /** With the kernel's limits given (tests). */
  LargeSendBuffers(int bytes, long fromBytes, int maxConnections, int kernelMax) {
    this(bytes, fromBytes, maxConnections, kernelMax, pages -> true, () -> {});
  }

  /** With the kernel's limits given and no metric (tests). */
  LargeSendBuffers(int bytes, long fromBytes, int maxConnections, int kernelMax, java.util.function.LongPredicate roomy) {
    this(bytes, fromBytes, maxConnections, kernelMax, roomy, () -> {});
  }

  /**
   * @param kernelMax what the kernel grants at most ({@code net.core.wmem_max})
   * @param roomy whether the kernel's TCP memory stays below the point where it starts to squeeze sockets when this many
   *     more pages are queued
   */
  LargeSendBuffers(int bytes, long fromBytes, int maxConnections, int kernelMax, java.util.function.LongPredicate roomy,
      Runnable raised) {
    this.roomy = roomy;
    this.raised = raised;
    if (bytes < 0 || fromBytes < 1 || maxConnections < 0) {
      throw new IllegalArgumentException("bytes " + bytes + ", fromBytes " + fromBytes + ", maxConnections " + maxConnections);
    }
    if (bytes > kernelMax) {
      LOG.info("transfer.large-send-buffer {} is capped by net.core.wmem_max at {}", bytes, kernelMax);
    }
    this.bytes = Math.min(bytes, kernelMax);
    this.fromBytes = fromBytes;
    this.maxConnections = maxConnections;
  }

  /** Whether any body may raise a buffer. */
  public boolean enabled() {
    return bytes > 0 && maxConnections > 0;
  }

  /** How many connections hold a raised buffer now. */
  public int inUse() {
    return inUse.get();
  }

  /**
   * Lets large bodies written to {@code conn}'s channel raise its send buffer ({@link #around}). Does nothing when off
   * or when {@code conn} is not a plain HTTP/1.x connection.
   */
  public void install(HttpConnection conn) {
    if (enabled() && conn instanceof Http1xServerConnection c) {
      c.channel().attr(OWNER).set(this);
    }
  }

  /**
   * Raises {@code ch}'s send buffer for a hit's body of {@code length} bytes, written by sendfile, whose write completes
   * {@code written}, when the
   * connection was {@link #install installed}, the body is large enough and a slot is free; sets it back when
   * {@code written} completes (written or failed). On {@code ch}'s event loop, before the body's first byte is
   * written. Several bodies on one connection (pipelined) share one raise.
   *
   * @return whether the buffer is raised for this body
   */
  public static boolean around(Channel ch, long length, ChannelFuture written) {
    LargeSendBuffers owner = ch.attr(OWNER).get();
    return owner != null && owner.raise(ch, length, written);
  }

  boolean raise(Channel ch, long length, ChannelFuture written) {
    if (length < fromBytes || !ch.isActive()) {
      return false;
    }
    Raised raised = ch.attr(RAISED).get();
    if (raised == null) {
      if (!take()) {
        return false;
      }
      if (!roomy.test(2L * bytes / 4096)) { // after the slot: with every slot taken, no /proc read (LARGE-2026-12-03c)
        inUse.decrementAndGet();
        return false;
      }
      try {
        int before = ch.config().getOption(ChannelOption.SO_SNDBUF);
        if (before >= reported(ch) * (long) bytes) {
          inUse.decrementAndGet(); // already as large (autotuned, or listen.send-buffer): setting it would only lock it
          return false;
        }
        if (!ch.config().setOption(ChannelOption.SO_SNDBUF, bytes)) {
          inUse.decrementAndGet();
          return false;
        }
        raised = new Raised(before / reported(ch)); // what to ask for to get it back
        this.raised.run();
      } catch (RuntimeException e) {
        inUse.decrementAndGet();
        LOG.debug("send buffer of {} not raised", ch, e);
        return false;
      }
      ch.attr(RAISED).set(raised);
    }
    raised.bodies++;
    written.addListener(f -> lower(ch));
    return true;
  }

  /** After a raised body's write ended: the last one sets the buffer back and frees the slot. */
  private void lower(Channel ch) {
    Raised raised = ch.attr(RAISED).get();
    if (raised == null || --raised.bodies > 0) {
      return;
    }
    ch.attr(RAISED).set(null);
    inUse.decrementAndGet();
    if (!ch.isOpen()) {
      return;
    }
    try {
      ch.config().setOption(ChannelOption.SO_SNDBUF, Math.max(1, raised.before));
    } catch (RuntimeException e) {
      LOG.debug("send buffer of {} not set back", ch, e);
    }
  }

  /**
   * How many times the size asked for {@code ch} reports once set: Linux doubles {@code SO_SNDBUF} and Netty's native
   * transports report the kernel's figure (2), while the JDK's sockets (NIO) halve it back to what was asked (1).
   */
  private static int reported(Channel ch) {
    return ch instanceof io.netty.channel.socket.nio.NioSocketChannel ? 1 : 2;
  }

  /** {@code net.core.wmem_max}, the most {@code SO_SNDBUF} grants (then doubled), or no bound when it cannot be read. */
  static int kernelMax() {
    try {
      // one read of the whole value: a sysctl file answers a read at an offset with end of file, and
      // Files.readString on JDK 17 may read a size-0 file's first byte alone (it returned "4" for 4194304)
      return Integer.parseInt(java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/sys/net/core/wmem_max")).get(0).trim());
    } catch (java.io.IOException | RuntimeException e) {
      return Integer.MAX_VALUE;
    }
  }

  /**
   * Whether the TCP memory in use ({@code /proc/net/sockstat}, pages) plus a given number of pages stays below
   * {@code net.ipv4.tcp_mem}'s first threshold, above which the kernel starts to squeeze sockets and a raised buffer
   * turns into EAGAIN storms (LARGE-2026-12-02d: other processes held 245,000 of the 288,000 pages, and 32 raised buffers
   * at 128 connections of 100 MiB made 96% of sendfile calls EAGAIN). True when either file cannot be read.
   */
  static java.util.function.LongPredicate tcpMemoryBelowLow() {
    long low;
    try {
      low = Long.parseLong(java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/sys/net/ipv4/tcp_mem")).get(0)
          .trim().split("\\s+")[0]);
    } catch (java.io.IOException | RuntimeException e) {
      return pages -> true;
    }
    return new TcpMemory(low, LargeSendBuffers::tcpPagesInUse, System::nanoTime, READ_EVERY_NANOS);
  }

  /** How long a reading of {@code /proc/net/sockstat} stands for the raises after it. */
  static final long READ_EVERY_NANOS = 50_000_000L;

  /**
   * Whether the TCP memory in use plus a raise stays below {@code low}, from a reading of it taken at most
   * {@code everyNanos} ago plus the pages of the raises it let through since: each raise of a 16-100 MiB hit read
   * {@code /proc/net/sockstat} (open, read, close: 160-180 reads per GB served at 128 connections, about 2% of the proxy's
   * CPU in a profile, LARGE-2026-12-03c), and a burst of connections starting large bodies at once read it once each.
   * Counting the pages let through keeps a stale reading from letting more through than a fresh one would, short of
   * what other sockets queued meanwhile.
   *
   * <p>Threads: called from every event loop; its state is guarded by its monitor (one call per large body).
   */
  static final class TcpMemory implements java.util.function.LongPredicate {
    private final long low;
    private final java.util.function.LongSupplier pagesInUse;
    private final java.util.function.LongSupplier nanoClock;
    private final long everyNanos;
    private boolean read;
    private long readAt;
    private long used;
    private long letThrough;

    /**
     * @param low the kernel's first threshold ({@code net.ipv4.tcp_mem}), pages
     * @param pagesInUse reads the TCP memory in use in pages, or -1 when it cannot
     */
    TcpMemory(long low, java.util.function.LongSupplier pagesInUse, java.util.function.LongSupplier nanoClock, long everyNanos) {
      this.low = low;
      this.pagesInUse = pagesInUse;
      this.nanoClock = nanoClock;
      this.everyNanos = everyNanos;
    }

    @Override
    public synchronized boolean test(long pages) {
      long now = nanoClock.getAsLong();
      if (!read || now - readAt >= everyNanos) {
        used = pagesInUse.getAsLong();
        readAt = now;
        read = true;
        letThrough = 0;
      }
      if (used < 0) {
        return true; // no figure: the slot bound alone
      }
      if (used + letThrough + pages >= low) {
        return false;
      }
      letThrough += pages;
      return true;
    }
  }

  /** The TCP memory in use in pages ({@code /proc/net/sockstat}, "TCP: ... mem N"), or -1. */
  static long tcpPagesInUse() {
    try {
      for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/net/sockstat"))) {
        if (line.startsWith("TCP:")) {
          String[] f = line.trim().split("\\s+");
          for (int i = 1; i + 1 < f.length; i++) {
            if (f[i].equals("mem")) {
              return Long.parseLong(f[i + 1]);
            }
          }
        }
      }
    } catch (java.io.IOException | RuntimeException e) {
      // no figure: the slot bound alone
    }
    return -1;
  }

  private boolean take() {
    for (;;) {
      int n = inUse.get();
      if (n >= maxConnections) {
        return false;
      }
      if (inUse.compareAndSet(n, n + 1)) {
        return true;
      }
    }
  }

  /** A connection's raise: the size to ask for after it, and how many bodies under way share it. Its event loop's only. */
  private static final class Raised {
    final int before;
    int bodies;

    Raised(int before) {
      this.before = before;
    }
  }
}
