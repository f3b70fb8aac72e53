package dev.zcproxy.proxy.internal;

import dev.zcproxy.proxy.internal.TunnelResult.End;
import dev.zcproxy.proxy.internal.TunnelResult.Mode;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.unix.UnixChannel;
import io.netty.channel.epoll.AbstractEpollStreamChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.epoll.EpollTcpInfo;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.unix.FileDescriptor;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.ScheduledFuture;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.net.NetSocketInternal;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.impl.ConnectionBase;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * Moves bytes both ways between two Vert.x sockets, with kernel splice(2) or a user-space copy as its caller's
 * plan says ({@code TransferPlanner.forTunnel}, which asks {@link #whyNotSplice} about the sockets).
 */
public final class Splicer {

  private static final long MIN_CHECK_MS = 50;
  private static final int TAIL_CHUNK = 64 * 1024;

  private final long idleTimeoutMs;
  private final long maxLifetimeMs;

  /** A splicer without idle timeout or maximum lifetime. */
  public Splicer() {
    this(Duration.ZERO, Duration.ZERO);
  }

  /**
   * @param idleTimeout close a tunnel with no traffic either way for this long; zero disables. Under splice
   *     the traffic is observed through {@code TCP_INFO} (time since last data sent/received on each socket),
   *     because spliced bytes never reach Vert.x or the Netty pipeline
   * @param maxLifetime close a tunnel this long after it started, whatever its traffic; zero disables
   */
  public Splicer(Duration idleTimeout, Duration maxLifetime) {
    this.idleTimeoutMs = nonNegativeMillis(idleTimeout, "idleTimeout");
    this.maxLifetimeMs = nonNegativeMillis(maxLifetime, "maxLifetime");
  }

  private static long nonNegativeMillis(Duration d, String name) {
    Objects.requireNonNull(d, name);
    if (d.isNegative()) {
      throw new IllegalArgumentException(name + " must not be negative: " + d);
    }
    return d.toMillis();
  }

  /**
   * Why these two sockets cannot be spliced, for the planner and the logs; {@code null} when they can. Splice
   * needs both sockets native epoll stream channels, on the same event loop, without TLS or traffic shaping
   * (both work on the pipeline, which splice bypasses). Whether splice is wanted at all is the planner's
   * ({@code transfer.splice}).
   */
  public static String whyNotSplice(NetSocket a, NetSocket b) {
    String ra = whyNotSpliceOne(a, "client side");
    if (ra != null) {
      return ra;
    }
    String rb = whyNotSpliceOne(b, "origin side");
    if (rb != null) {
      return rb;
    }
    if (channel(a).eventLoop() != channel(b).eventLoop()) {
      return "sockets are on different event loops";
    }
    return null;
  }

  private static String whyNotSpliceOne(NetSocket s, String side) {
    if (!(s instanceof NetSocketInternal) || !(s instanceof ConnectionBase)) {
      return side + " is not a Vert.x internal socket (" + s.getClass().getName() + ")";
    }
    if (s.isSsl()) {
      return side + " uses TLS";
    }
    if (((ConnectionBase) s).isTrafficShaped()) {
      return side + " is traffic shaped";
    }
    Channel ch = channel(s);
    if (!(ch instanceof AbstractEpollStreamChannel)) {
      return side + " transport is not native epoll (" + ch.getClass().getSimpleName() + ")";
    }
    return null;
  }

  private static Channel channel(NetSocket s) {
    return ((NetSocketInternal) s).channelHandlerContext().channel();
  }

  /**
   * Moves bytes both ways between {@code a} and {@code b} until either side closes, then closes both. Splices
   * when {@code whyCopy} is {@code null} (after forwarding what Vert.x already read into user space), else
   * copies with back-pressure. Takes over the sockets' handlers. May be called from any thread: the work runs
   * on the event loop of {@code a}. The future never fails: errors are reported in the result.
   *
   * @param whyCopy {@code null} to splice, which needs {@link #whyNotSplice} to have found nothing against these
   *     sockets; else why they are copied, reported as the result's {@link TunnelResult#fallbackReason}
   */
  public Future<TunnelResult> tunnel(NetSocket a, NetSocket b, String whyCopy) {
    Objects.requireNonNull(a, "a");
    Objects.requireNonNull(b, "b");
    ContextInternal ctx = a instanceof ConnectionBase
        ? ((ConnectionBase) a).context()
        : (ContextInternal) Vertx.currentContext(); // e.g. an HTTP/2 CONNECT stream: copy only
    if (ctx == null) {
      a.close();
      b.close();
      return Future.failedFuture(new IllegalStateException("no Vert.x context for " + a.getClass().getName()));
    }
    Promise<TunnelResult> promise = ctx.promise();
    Session session = new Session(ctx, a, b, promise, whyCopy);
    if (ctx.nettyEventLoop().inEventLoop()) {
      session.start();
    } else {
      ctx.nettyEventLoop().execute(session::start);
    }
    return promise.future();
  }

  /** One tunnel; all methods run on the event loop of {@code a}. */
  private final class Session {
    private final ContextInternal ctx;
    private final NetSocket a;
    private final NetSocket b;
    private final Promise<TunnelResult> promise;
    private Mode mode;
    private String fallbackReason;
    private long copiedAToB;
    private long copiedBToA;
    private long lastCopyNanos;
    private final long startNanos = System.nanoTime();
    private Future<Void> lastWriteAToB = Future.succeededFuture();
    private Future<Void> lastWriteBToA = Future.succeededFuture();
    private boolean splicingAToB;
    private boolean splicingBToA;
    private End end;
    private Throwable error;
    private int closedCount;
    private ScheduledFuture<?> timer;
    private ByteBuffer tailBuffer;

    Session(ContextInternal ctx, NetSocket a, NetSocket b, Promise<TunnelResult> promise, String whyCopy) {
      this.ctx = ctx;
      this.a = a;
      this.b = b;
      this.promise = promise;
      this.fallbackReason = whyCopy;
      this.lastCopyNanos = startNanos;
    }

    void start() {
      a.pause();
      b.pause();
      mode = fallbackReason == null ? Mode.SPLICE : Mode.COPY;
      a.exceptionHandler(e -> finish(End.ERROR, e));
      b.exceptionHandler(e -> finish(End.ERROR, e));
      a.closeHandler(v -> onClosed(a));
      b.closeHandler(v -> onClosed(b));
      a.endHandler(null);
      b.endHandler(null);
      a.handler(buf -> {
        copiedAToB += buf.length();
        lastCopyNanos = System.nanoTime();
        lastWriteAToB = b.write(buf);
        backPressure(a, b);
      });
      b.handler(buf -> {
        copiedBToA += buf.length();
        lastCopyNanos = System.nanoTime();
        lastWriteBToA = a.write(buf);
        backPressure(b, a);
      });
      if (mode == Mode.SPLICE) {
        // Splice bypasses the pipeline, so Netty/Vert.x idle handlers would see a busy tunnel as idle.
        removeIdleHandlers(channel(a));
        removeIdleHandlers(channel(b));
        // At EOF Netty's splice path shuts the input at once: closing the channel would close the pipe
        // holding bytes not yet written to the peer and drop what is still in the receive queue. With
        // half-closure the channel stays open and we drain the tail ourselves (see drainTail).
        channel(a).config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
        channel(b).config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
        ((NetSocketInternal) a).eventHandler(evt -> onEvent(evt, true));
        ((NetSocketInternal) b).eventHandler(evt -> onEvent(evt, false));
      }
      // Resuming delivers what Vert.x already buffered (synchronously, we are on the loop): it is copied.
      a.resume();
      b.resume();
      if (end != null) {
        return; // closed while draining
      }
      if (mode == Mode.SPLICE) {
        spliceWhenFlushed(true);
        spliceWhenFlushed(false);
      }
      scheduleCheck();
    }

    /** Copy-mode back-pressure; during the splice switch-over the drain is short and not throttled. */
    private void backPressure(NetSocket src, NetSocket dst) {
      if (mode == Mode.COPY && dst.writeQueueFull()) {
        src.pause();
        dst.drainHandler(v -> src.resume());
      }
    }

    /**
     * Queues the splice for one direction once every byte already copied that way has left user space, so
     * that spliced bytes cannot overtake copied ones in the destination's outbound queue.
     */
    private void spliceWhenFlushed(boolean aToB) {
      Future<Void> pending = aToB ? lastWriteAToB : lastWriteBToA;
      pending.onComplete(ar -> {
        if (end != null) {
          return;
        }
        if (pending != (aToB ? lastWriteAToB : lastWriteBToA)) {
          spliceWhenFlushed(aToB); // more was copied meanwhile
          return;
        }
        AbstractEpollStreamChannel src = (AbstractEpollStreamChannel) channel(aToB ? a : b);
        AbstractEpollStreamChannel dst = (AbstractEpollStreamChannel) channel(aToB ? b : a);
        if (aToB) {
          splicingAToB = true;
        } else {
          splicingBToA = true;
        }
        if (!src.config().isAutoRead()) {
          src.config().setAutoRead(true); // splice is driven by epoll read readiness
        }
        // Integer.MAX_VALUE: Netty never counts it down, the splice lasts until the source closes.
        src.spliceTo(dst, Integer.MAX_VALUE).addListener(f -> {
          if (!f.isSuccess()) {
            // ClosedChannelException when either side closed: the close handlers report that.
            if (!(f.cause() instanceof java.nio.channels.ClosedChannelException)) {
              ctx.runOnContext(v -> finish(End.ERROR, f.cause()));
            }
          }
        });
      });
    }

    private void onEvent(Object evt, boolean fromA) {
      if (evt instanceof ChannelInputShutdownEvent && end == null) {
        drainTail(fromA);
      }
    }

    /**
     * The source sent FIN while splicing: everything it sent is now in its receive queue, which Netty will
     * no longer read. Read it (non-blocking, to EOF) and write it to the peer behind the queued splice
     * writes, with back-pressure; then end the tunnel.
     *
     * <p>The tail goes into the destination's outbound buffer directly ({@code unsafe().write}), as Netty's
     * splice-out tasks do. Through Vert.x it could wait in a queue that splice-out tasks bypass: when a
     * splice-out completes, Netty turns auto-read back on and splices more of the same receive queue, and
     * those later bytes overtook tail bytes still queued in Vert.x (seen as 1 MiB moved ahead in an 8 MiB
     * blast). Copied bytes still queued in Vert.x are waited for first, for the same reason.
     */
    private void drainTail(boolean fromA) {
      Future<Void> pending = fromA ? lastWriteAToB : lastWriteBToA;
      if (!pending.isComplete()) {
        pending.onComplete(ar -> drainTailAfter(ar, fromA));
        return;
      }
      NetSocket src = fromA ? a : b;
      Channel out = channel(fromA ? b : a);
      FileDescriptor fd = ((UnixChannel) channel(src)).fd();
      if (tailBuffer == null) {
        tailBuffer = ByteBuffer.allocateDirect(TAIL_CHUNK);
      }
      while (end == null) {
        int n;
        try {
          tailBuffer.clear();
          n = fd.read(tailBuffer, 0, tailBuffer.capacity());
        } catch (IOException e) {
          finish(End.ERROR, e);
          return;
        }
        if (n <= 0) { // -1: EOF; 0 (EAGAIN) cannot follow a FIN, treat it as the end too
          finish(End.CLOSED, null);
          return;
        }
        io.netty.buffer.ByteBuf chunk = out.alloc().directBuffer(n);
        chunk.writeBytes(tailBuffer.slice(0, n));
        io.netty.channel.ChannelPromise written = out.newPromise();
        Promise<Void> done = ctx.promise();
        written.addListener(f -> {
          if (f.isSuccess()) {
            done.tryComplete();
          } else {
            done.tryFail(f.cause());
          }
        });
        out.unsafe().write(chunk, written);
        out.unsafe().flush();
        if (fromA) {
          copiedAToB += n;
          lastWriteAToB = done.future();
        } else {
          copiedBToA += n;
          lastWriteBToA = done.future();
        }
        lastCopyNanos = System.nanoTime();
        if (!out.isWritable()) {
          done.future().onComplete(ar -> drainTailAfter(ar, fromA));
          return;
        }
      }
    }

    private void drainTailAfter(io.vertx.core.AsyncResult<Void> write, boolean fromA) {
      if (write.failed()) {
        finish(End.ERROR, write.cause());
      } else {
        drainTail(fromA);
      }
    }

    private void onClosed(NetSocket which) {
      closedCount++;
      if (end == null) {
        finish(End.CLOSED, null);
      }
      if (closedCount == 2) {
        complete();
      }
    }

    private void finish(End why, Throwable cause) {
      if (end != null) {
        return;
      }
      end = why;
      error = cause;
      if (timer != null) {
        timer.cancel(false);
      }
      // Close each side after what was copied towards it has been written (copy mode and the drain).
      closeAfter(b, lastWriteAToB);
      closeAfter(a, lastWriteBToA);
    }

    private void closeAfter(NetSocket s, Future<Void> lastWrite) {
      lastWrite.onComplete(ar -> {
        Channel ch = mode == Mode.SPLICE ? channel(s) : null;
        if (ch != null && ch.isActive()) {
          // Flush barrier: completes after the splice writes already queued on this channel.
          ch.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(f -> s.close());
        } else {
          s.close();
        }
      });
    }

    private void complete() {
      long total = mode == Mode.COPY ? copiedAToB : -1;
      long totalBack = mode == Mode.COPY ? copiedBToA : -1;
      promise.tryComplete(new TunnelResult(mode, total, totalBack, copiedAToB, copiedBToA, end, error, fallbackReason));
    }

    private void scheduleCheck() {
      if (idleTimeoutMs == 0 && maxLifetimeMs == 0) {
        return;
      }
      long delay = Long.MAX_VALUE;
      if (idleTimeoutMs > 0) {
        delay = Math.max(MIN_CHECK_MS, idleTimeoutMs / 4);
      }
      if (maxLifetimeMs > 0) {
        long left = maxLifetimeMs - elapsedMs(startNanos);
        delay = Math.min(delay, Math.max(1, left));
      }
      timer = ctx.nettyEventLoop().schedule(this::check, delay, TimeUnit.MILLISECONDS);
    }

    private void check() {
      if (end != null) {
        return;
      }
      if (maxLifetimeMs > 0 && elapsedMs(startNanos) >= maxLifetimeMs) {
        finish(End.MAX_LIFETIME, null);
        return;
      }
      if (idleTimeoutMs > 0 && idleMs() >= idleTimeoutMs) {
        finish(End.IDLE_TIMEOUT, null);
        return;
      }
      scheduleCheck();
    }

    /** Milliseconds since the last byte moved either way, as far as it can be observed. */
    private long idleMs() {
      long idle = elapsedMs(lastCopyNanos);
      if (splicingAToB || splicingBToA) {
        idle = Math.min(idle, tcpIdleMs(channel(a)));
        idle = Math.min(idle, tcpIdleMs(channel(b)));
      }
      return idle;
    }
  }

  /**
   * Time since the kernel last sent or received data on this socket ({@code TCP_INFO}); splice moves bytes
   * without any user-space event, so this is the only progress signal. Unobservable sockets (not TCP) count
   * as busy: only the maximum lifetime applies to them.
   */
  private static long tcpIdleMs(Channel ch) {
    if (!(ch instanceof EpollSocketChannel) || !ch.isActive()) {
      return 0;
    }
    try {
      EpollTcpInfo info = ((EpollSocketChannel) ch).tcpInfo();
      return Math.min(info.lastDataRecv(), info.lastDataSent());
    } catch (RuntimeException e) {
      return 0;
    }
  }

  private static long elapsedMs(long sinceNanos) {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sinceNanos);
  }

  private static void removeIdleHandlers(Channel ch) {
    ChannelPipeline p = ch.pipeline();
    List<ChannelHandler> idle = new ArrayList<>();
    for (Map.Entry<String, ChannelHandler> e : p) {
      if (e.getValue() instanceof IdleStateHandler) {
        idle.add(e.getValue());
      }
    }
    for (ChannelHandler h : idle) {
      p.remove(h);
    }
  }
}
