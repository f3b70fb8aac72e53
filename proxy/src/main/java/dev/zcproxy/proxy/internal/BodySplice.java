package dev.zcproxy.proxy.internal;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.epoll.AbstractEpollStreamChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.epoll.EpollTcpInfo;
import io.netty.handler.timeout.IdleStateHandler;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.impl.ConnectionBase;
import java.io.FileDescriptor;
import java.lang.reflect.Field;
import java.nio.channels.FileChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.LongConsumer;

/**
 * Moves the rest of an origin response body with {@code splice(2)}: socket to client socket for
 * pass-through, socket to cache file for fills, never through the Java heap.
 *
 * <p>How (DESIGN.md §3): the caller has taken every byte Vert.x already decoded through the normal
 * handlers; this class stops Vert.x reading the origin socket (auto-read off), then queues Netty's
 * {@code AbstractEpollStreamChannel.spliceTo} for exactly the remaining length, and turns auto-read on.
 * The origin connection's HTTP decoder never sees those bytes: after a splice to the client,
 * {@link OriginCodec#bodySpliced} ends the response in its place and the connection goes back to the
 * pool (or is closed when bytes beyond the body wait on it), after a splice to a client and after a
 * fill alike. Spliced bytes also bypass idle timers, so the sockets' idle handlers are taken out during
 * the transfer and progress is watched through {@code TCP_INFO}.
 *
 * <p>Preconditions, checked by {@link #whyNotToClient} and {@link #whyNotToFile}: native epoll on both
 * legs, no TLS, HTTP/1.x, and for socket-to-socket both channels on one event loop. Anything else takes
 * the copy path in the caller. Offsets and lengths of one splice are {@code int}s: a file fill beyond
 * 2 GiB is not spliced.
 */
public final class BodySplice {
  private static final int FILE_CHUNK = 1 << 20;
  private static final long MAX_FILE_OFFSET = Integer.MAX_VALUE;
  private static final Field FD_FIELD = fdField();
  private static final Field CHANNEL_FD_FIELD = channelFdField();

  private BodySplice() {}

  private static Field fdField() {
    try {
      Field f = FileDescriptor.class.getDeclaredField("fd");
      f.setAccessible(true); // needs --add-opens java.base/java.io=ALL-UNNAMED (the jar's manifest has it)
      return f;
    } catch (ReflectiveOperationException | RuntimeException e) {
      return null;
    }
  }

  private static Field channelFdField() {
    try {
      Field f = Class.forName("sun.nio.ch.FileChannelImpl").getDeclaredField("fd");
      f.setAccessible(true); // needs --add-opens java.base/sun.nio.ch=ALL-UNNAMED (the jar's manifest has it)
      return f;
    } catch (ReflectiveOperationException | RuntimeException e) {
      return null;
    }
  }

  /**
   * Why the descriptor of an open {@link FileChannel} cannot be reached on this JDK (fills then take the
   * copy path); {@code null} when it can.
   */
  public static String whyNoFileDescriptors() {
    if (FD_FIELD == null) {
      return "java.io.FileDescriptor.fd not accessible (needs --add-opens java.base/java.io=ALL-UNNAMED)";
    }
    if (CHANNEL_FD_FIELD == null) {
      return "sun.nio.ch.FileChannelImpl.fd not accessible (needs --add-opens java.base/sun.nio.ch=ALL-UNNAMED)";
    }
    return null;
  }

  /**
   * Why the descriptor of this open file cannot be reached (a fill into it then copies); {@code null}
   * when it can. The static probe can pass while a particular channel is of another implementation.
   */
  public static String whyNotInto(FileChannel file) {
    String noFds = whyNoFileDescriptors();
    if (noFds != null) {
      return noFds;
    }
    try {
      return nettyFd(file).intValue() >= 0 ? null : "no file descriptor";
    } catch (ReflectiveOperationException | RuntimeException e) {
      return "file descriptor not reachable: " + e;
    }
  }

  private static Channel originChannel(HttpClientResponse cres) {
    return cres.request().connection() instanceof ConnectionBase c ? c.channel() : null;
  }

  private static Channel clientChannel(HttpServerRequest req) {
    return req.connection() instanceof ConnectionBase c ? c.channel() : null;
  }

  /** Why the rest of {@code cres}'s body cannot be spliced to {@code req}'s socket; {@code null} when it can. */
  public static String whyNotToClient(HttpClientResponse cres, HttpServerRequest req, long length) {
    if (length > Integer.MAX_VALUE) {
      return "beyond 2 GiB"; // one spliceTo moves at most an int's worth
    }
    Channel o = originChannel(cres);
    Channel c = clientChannel(req);
    if (!(o instanceof AbstractEpollStreamChannel) || !(c instanceof AbstractEpollStreamChannel)) {
      return "not native epoll";
    }
    if (req.isSSL() || cres.request().connection().isSsl()) {
      return "tls";
    }
    if (req.version() == HttpVersion.HTTP_2 || cres.version() == HttpVersion.HTTP_2) {
      return "http/2";
    }
    if (o.eventLoop() != c.eventLoop()) {
      return "different event loops";
    }
    return null;
  }

  /** Why the rest of {@code cres}'s body cannot be spliced into a file at {@code offset}; {@code null} when it can. */
  public static String whyNotToFile(HttpClientResponse cres, long offset, long length) {
    if (!(originChannel(cres) instanceof AbstractEpollStreamChannel)) {
      return "not native epoll";
    }
    if (cres.request().connection().isSsl()) {
      return "tls";
    }
    if (cres.version() == HttpVersion.HTTP_2) {
      return "http/2";
    }
    String noFds = whyNoFileDescriptors();
    if (noFds != null) {
      return noFds;
    }
    if (offset + length > MAX_FILE_OFFSET) {
      return "beyond 2 GiB";
    }
    return null;
  }

  /**
   * Stops Vert.x from reading more of the origin socket. Call in the response handler, after setting
   * the data handler that takes the bytes Vert.x already decoded.
   */
  public static void holdOrigin(HttpClientResponse cres) {
    Channel o = originChannel(cres);
    if (o != null) {
      o.config().setAutoRead(false);
    }
    // The request's first-byte timer was cancelled when the head arrived; the connection's idle
    // handler, which never sees spliced bytes, is taken out when the splice starts and the Watchdog
    // watches the socket instead.
  }

  /** Undoes {@link #holdOrigin}: Vert.x reads and decodes the origin socket again (the splice was not started). */
  public static void releaseOrigin(HttpClientResponse cres) {
    Channel o = originChannel(cres);
    if (o != null) {
      o.config().setAutoRead(true);
    }
  }

  /**
   * Splices the next {@code length} body bytes from the origin socket to the client socket, on the
   * origin's event loop. The response head and the bytes already decoded must have been written
   * (their write futures completed). Completes when the bytes moved; the origin connection then goes
   * back to the pool ({@link OriginCodec#bodySpliced}) or, when it cannot, is closed. Fails when the
   * origin closes early or stays silent longer than {@code idleMillis}.
   */
  public static Future<Void> toClient(HttpClientResponse cres, HttpServerRequest req, long length, long idleMillis) {
    AbstractEpollStreamChannel o = (AbstractEpollStreamChannel) originChannel(cres);
    AbstractEpollStreamChannel c = (AbstractEpollStreamChannel) clientChannel(req);
    Promise<Void> done = Promise.promise();
    o.eventLoop().execute(() -> {
      List<ChannelHandler> originIdle = removeIdleHandlers(o);
      List<ChannelHandler> idle = removeIdleHandlers(c);
      Watchdog dog = new Watchdog(o, idleMillis);
      io.netty.channel.ChannelPromise spliced = o.newPromise();
      ChannelFuture f = o.spliceTo(c, (int) Math.min(length, Integer.MAX_VALUE), spliced);
      o.config().setAutoRead(true);
      f.addListener(x -> {
        restoreIdleHandlers(c, idle);
        if (x.isSuccess()) {
          handBack(o, dog, originIdle, done);
          return;
        }
        finish(x, dog, o, done);
      });
    });
    return done.future();
  }

  /**
   * After a whole body was spliced: stops the watchdog, puts the origin's idle handlers back (before the pool may
   * hand the connection out again), returns the connection to the pool ({@link OriginCodec#bodySpliced}) or, when
   * it cannot go back, closes it, and completes {@code done}. On the origin's event loop.
   */
  private static void handBack(AbstractEpollStreamChannel o, Watchdog dog, List<ChannelHandler> originIdle,
      Promise<Void> done) {
    dog.cancel();
    restoreIdleHandlers(o, originIdle);
    if (!OriginCodec.bodySpliced(o)) {
      o.close();
    }
    done.tryComplete();
  }

  /**
   * Splices the next {@code length} body bytes from the origin socket into {@code file} at
   * {@code offset} (1 MiB at a time, all queued at once), calling {@code chunkDone} with each finished
   * chunk's length, in order, on the origin's event loop. Completes when all moved; the origin
   * connection then goes back to the pool ({@link OriginCodec#bodySpliced}) or, when it cannot, is
   * closed; on a failure it is closed.
   */
  public static Future<Void> toFile(HttpClientResponse cres, FileChannel file, long offset, long length, long idleMillis,
      LongConsumer chunkDone) {
    AbstractEpollStreamChannel o = (AbstractEpollStreamChannel) originChannel(cres);
    Promise<Void> done = Promise.promise();
    o.eventLoop().execute(() -> {
      io.netty.channel.unix.FileDescriptor fd;
      try {
        fd = nettyFd(file);
      } catch (ReflectiveOperationException | RuntimeException e) {
        o.close();
        done.tryFail(e);
        return;
      }
      if (length == 0) {
        o.close();
        done.tryComplete();
        return;
      }
      List<ChannelHandler> originIdle = removeIdleHandlers(o); // spliced bytes bypass them: the Watchdog instead
      Watchdog dog = new Watchdog(o, idleMillis);
      long pos = offset;
      long left = length;
      ChannelFuture last = null;
      while (left > 0) {
        int n = (int) Math.min(FILE_CHUNK, left);
        ChannelFuture f = o.spliceTo(fd, (int) pos, n);
        f.addListener(x -> {
          if (x.isSuccess()) {
            chunkDone.accept(n);
          }
        });
        last = f;
        pos += n;
        left -= n;
      }
      o.config().setAutoRead(true);
      last.addListener(x -> {
        if (x.isSuccess()) {
          // As after a splice to a client: the connection goes back to the pool instead of a new one
          // being opened (TCP handshake, Vert.x connection, origin accept) for the next miss.
          handBack(o, dog, originIdle, done);
          return;
        }
        finish(x, dog, o, done);
      });
    });
    return done.future();
  }

  /** Ends a splice: stops the watchdog, closes the origin connection, completes {@code done} as the splice did. */
  private static void finish(io.netty.util.concurrent.Future<?> splice, Watchdog dog, Channel origin, Promise<Void> done) {
    dog.cancel();
    origin.close();
    if (splice.isSuccess()) {
      done.tryComplete();
    } else {
      done.tryFail(splice.cause());
    }
  }

  /** A Netty descriptor for the open file; not owned: it is never closed through Netty. */
  static io.netty.channel.unix.FileDescriptor nettyFd(FileChannel file) throws ReflectiveOperationException {
    FileDescriptor jfd = (FileDescriptor) CHANNEL_FD_FIELD.get(file);
    return new io.netty.channel.unix.FileDescriptor(FD_FIELD.getInt(jfd));
  }

  private static List<ChannelHandler> removeIdleHandlers(Channel ch) {
    ChannelPipeline p = ch.pipeline();
    List<ChannelHandler> removed = new ArrayList<>();
    for (Map.Entry<String, ChannelHandler> e : p) {
      if (e.getValue() instanceof IdleStateHandler) {
        removed.add(e.getValue());
      }
    }
    for (ChannelHandler h : removed) {
      p.remove(h);
    }
    return removed;
  }

  private static void restoreIdleHandlers(Channel ch, List<ChannelHandler> handlers) {
    if (!ch.isActive()) {
      return;
    }
    for (ChannelHandler h : handlers) {
      IdleStateHandler old = (IdleStateHandler) h;
      ch.pipeline().addFirst("idle", new IdleStateHandler(old.getReaderIdleTimeInMillis(), old.getWriterIdleTimeInMillis(),
          old.getAllIdleTimeInMillis(), java.util.concurrent.TimeUnit.MILLISECONDS));
    }
  }

  /** Closes the origin socket when no data arrived on it for {@code idleMillis} ({@code TCP_INFO}). */
  private static final class Watchdog {
    private final io.netty.util.concurrent.ScheduledFuture<?> timer;

    Watchdog(AbstractEpollStreamChannel ch, long idleMillis) {
      if (idleMillis <= 0 || !(ch instanceof EpollSocketChannel s)) {
        timer = null;
        return;
      }
      long period = Math.max(50, Math.min(1000, idleMillis / 4));
      timer = ch.eventLoop().scheduleAtFixedRate(() -> {
        try {
          EpollTcpInfo info = s.tcpInfo();
          if (info.lastDataRecv() > idleMillis) {
            ch.close();
          }
        } catch (RuntimeException e) {
          ch.close();
        }
      }, period, period, java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    void cancel() {
      if (timer != null) {
        timer.cancel(false);
      }
    }
  }
}
