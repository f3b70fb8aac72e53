package dev.zcproxy.proxy.internal;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpResponseDecoder;
import io.netty.handler.timeout.IdleState;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;

/**
 * Keep-alive connections to one plain-HTTP origin server for {@link FrontPass}es: one pool per event loop, each
 * connection opened on the loop of the client connection that asked for it (the same transport). The loop's bound
 * ({@code origin.max-connections}, {@code maxPerLoop}) is shared with the normal path's pool of that loop
 * ({@code othersOpen}): a connection is opened only while both together stay under it. A pass that finds none
 * free waits for the next one of this pool freed, in order, when this pool has connections open; when it has
 * none, {@link #acquire} declines at once (the request goes the normal way and waits in that pool's queue). When
 * the normal path's pool grows past what is left, idle connections here close, and busy ones close as their
 * response ends (down to one while passes wait). An idle connection closes after the keep-alive timeout, or when
 * the origin sends anything while it is idle; a connection that failed is closed, never pooled.
 *
 * <p>Each loop's pool is owned by that loop (its state is touched only there); the map of loops is shared.
 */
public final class PassChannels {
  /** The origin's longest status line and head, as for the Vert.x client ({@code OriginClient}). */
  private static final int MAX_INITIAL_LINE = 4096;
  private static final int MAX_HEAD = 64 * 1024;

  private final String host;
  private final int port;
  private final int connectMillis;
  private final long idleMillis;
  private final long keepAliveMillis;
  private final int maxPerLoop;
  /** The normal path's connections open on the calling loop (read on that loop). */
  private final IntSupplier othersOpen;
  private final Map<EventLoop, Loop> loops = new ConcurrentHashMap<>();
  /** Set on a connection closed to give its place in the bound back ({@link Loop#closing}). */
  private static final io.netty.util.AttributeKey<Boolean> CLOSING = io.netty.util.AttributeKey.valueOf("zcproxy.pass.closing");

  /**
   * @param connectMillis the connect timeout
   * @param idleMillis how long a response body may stall (0: no limit)
   * @param keepAliveMillis how long a connection stays pooled unused (0: no limit)
   * @param maxPerLoop the most connections open at once on one event loop, these and {@code othersOpen} together
   *     (0: no limit)
   * @param othersOpen the connections the normal path's pool has open on the calling event loop
   */
  public PassChannels(String host, int port, long connectMillis, long idleMillis, long keepAliveMillis, int maxPerLoop,
      IntSupplier othersOpen) {
    this.host = host;
    this.port = port;
    this.connectMillis = (int) Math.min(Integer.MAX_VALUE, Math.max(1, connectMillis));
    this.idleMillis = idleMillis;
    this.keepAliveMillis = keepAliveMillis;
    this.maxPerLoop = maxPerLoop;
    this.othersOpen = othersOpen;
  }

  /** One loop's connections. */
  private static final class Loop {
    final ArrayDeque<Channel> idle = new ArrayDeque<>();
    final ArrayDeque<FrontPass> waiting = new ArrayDeque<>();
    int open;
    /** Of {@link #open}, connections closed for the bound whose close has not come yet. */
    int closing;
  }

  /** Whether origin connections can be opened beside {@code client} (the transports this pool knows). */
  static boolean supports(Channel client) {
    return client instanceof EpollSocketChannel || client instanceof NioSocketChannel;
  }

  /** Connections open on {@code loop} now (tests). */
  int open(EventLoop loop) {
    Loop l = loops.get(loop);
    return l == null ? 0 : l.open;
  }

  /**
   * Gives {@code pass} a connection on {@code client}'s loop: now, once one is made, or once one of this pool is freed;
   * false (nothing done) when the loop's bound is reached and none of this pool's connections is open, which only a
   * pass that may still go the normal way asks ({@code mayDecline}); one that may not gets a connection then.
   */
  boolean acquire(Channel client, FrontPass pass, boolean mayDecline) {
    EventLoop loop = client.eventLoop();
    Loop l = loops.computeIfAbsent(loop, k -> new Loop());
    Channel ch;
    while ((ch = l.idle.pollLast()) != null) {
      if (ch.isActive()) {
        pass.connected(ch, true);
        return true;
      }
    }
    if (full(l)) {
      if (l.open == 0) {
        if (mayDecline) {
          return false;
        }
      } else {
        l.waiting.addLast(pass);
        return true;
      }
    }
    connect(client, l, pass);
    return true;
  }

  /** Whether the loop of {@code l} (the calling one) has its bound's worth of connections open, here and elsewhere. */
  private boolean full(Loop l) {
    return maxPerLoop > 0 && l.open + others() >= maxPerLoop;
  }

  private int others() {
    return othersOpen == null ? 0 : othersOpen.getAsInt();
  }

  /** The normal path's pool of the calling loop opened a connection: idle ones here close while over the bound. */
  public void othersOpened() {
    Loop l = here();
    if (l == null || maxPerLoop <= 0) {
      return;
    }
    int over = l.open - l.closing + others() - maxPerLoop;
    for (Channel ch; over > 0 && (ch = l.idle.pollFirst()) != null; over--) {
      closeForBound(l, ch);
    }
  }

  /** The normal path's pool of the calling loop closed a connection: a pass waiting for the bound may connect. */
  public void othersClosed() {
    Loop l = here();
    if (l != null) {
      serveWaiting(l);
    }
  }

  /** The calling event loop's pool, or {@code null}. */
  private Loop here() {
    for (Map.Entry<EventLoop, Loop> e : loops.entrySet()) {
      if (e.getKey().inEventLoop()) {
        return e.getValue();
      }
    }
    return null;
  }

  /** {@code pass} no longer waits (its client left). */
  void cancel(Channel client, FrontPass pass) {
    Loop l = loops.get(client.eventLoop());
    if (l != null) {
      l.waiting.remove(pass);
    }
  }

  /** {@code ch} carried a whole response and may carry another: to the next waiting pass, else pooled. */
  void release(Channel ch) {
    Loop l = loops.get(ch.eventLoop());
    if (l == null || !ch.isActive()) {
      ch.close();
      return;
    }
    if (maxPerLoop > 0 && l.open - l.closing + others() > maxPerLoop && (l.open - l.closing > 1 || l.waiting.isEmpty())) {
      closeForBound(l, ch); // the normal path's pool grew past what was left: this one gives its place back
      return;
    }
    FrontPass next;
    while ((next = l.waiting.pollFirst()) != null) {
      if (next.waiting()) {
        next.connected(ch, true);
        return;
      }
    }
    l.idle.addLast(ch);
  }

  private void connect(Channel client, Loop l, FrontPass pass) {
    l.open++;
    Bootstrap b = new Bootstrap().group(client.eventLoop())
        .channel(client instanceof EpollSocketChannel ? EpollSocketChannel.class : NioSocketChannel.class)
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, connectMillis)
        .option(ChannelOption.ALLOCATOR, client.alloc())
        .handler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel ch) {
            Decoder decoder = new Decoder(new HttpDecoderConfig().setMaxInitialLineLength(MAX_INITIAL_LINE)
                .setMaxHeaderSize(MAX_HEAD));
            Origin handler = new Origin();
            decoder.origin = handler;
            ch.pipeline().addLast(new IdleStateHandler(idleMillis, 0, keepAliveMillis, TimeUnit.MILLISECONDS),
                decoder, handler);
          }
        });
    ChannelFuture f;
    try {
      f = b.connect(host, port);
    } catch (RuntimeException e) {
      l.open--;
      pass.connectFailed(e);
      return;
    }
    Channel made = f.channel();
    made.closeFuture().addListener(c -> closed(l, made));
    f.addListener((ChannelFuture done) -> {
      if (done.isSuccess()) {
        if (pass.waiting()) {
          pass.connected(done.channel(), false);
        } else {
          release(done.channel());
        }
      } else {
        pass.connectFailed(done.cause());
      }
    });
  }

  /** A connection of {@code l} closed: one fewer open, and a waiting pass may connect. */
  private void closed(Loop l, Channel ch) {
    l.open--;
    if (ch.hasAttr(CLOSING) && ch.attr(CLOSING).get() != null) {
      l.closing--;
    }
    l.idle.remove(ch);
    serveWaiting(l);
  }

  /** Closes {@code ch} of {@code l} to give its place in the bound back; in {@link Loop#closing} until its close comes. */
  private static void closeForBound(Loop l, Channel ch) {
    if (ch.attr(CLOSING).setIfAbsent(Boolean.TRUE) == null) {
      l.closing++;
    }
    ch.close();
  }

  /** The first pass still waiting connects while the bound allows (or when none of {@code l}'s is open). */
  private void serveWaiting(Loop l) {
    FrontPass next;
    while ((next = l.waiting.peekFirst()) != null) {
      if (!next.waiting()) {
        l.waiting.pollFirst();
        continue;
      }
      if (full(l) && l.open > 0) {
        return; // one of this pool's is freed later
      }
      l.waiting.pollFirst();
      acquire(next.clientChannel(), next, false);
      return;
    }
  }

  /**
   * The pass on {@code ch} must have its response head by {@code deadlineNanos} ({@link System#nanoTime}), else it is
   * told {@link FrontPass#firstByteTimeout}. One timer per connection, re-armed for a later deadline when it fires,
   * not one scheduled and cancelled per request.
   */
  static void headBy(Channel ch, long deadlineNanos) {
    Origin o = ch.pipeline().get(Origin.class);
    if (o != null) {
      o.headBy(ch, deadlineNanos);
    }
  }

  /**
   * Gives {@code ch} back to {@code pool} ({@link #release}) at the end of the read under way, which brought the last
   * bytes of a response: bytes after them in the same read are no one's, and close it instead.
   */
  static void releaseAtReadEnd(Channel ch, PassChannels pool) {
    Origin o = ch.pipeline().get(Origin.class);
    if (o == null) {
      pool.release(ch);
    } else {
      o.releaseTo = pool;
    }
  }

  /** Routes {@code ch}'s events to {@code pass} ({@code null}: idle). */
  static void bind(Channel ch, FrontPass pass) {
    Origin o = ch.pipeline().get(Origin.class);
    if (o != null) {
      o.pass = pass;
    }
  }

  /** Whether a response head that repeats the connection's last one byte for byte skips the decoder (tests: false). */
  static volatile boolean repeatHeads = !Boolean.getBoolean("zcproxy.pass.decodeEveryHead");

  /**
   * A response head as the origin sent it on a connection ({@code raw}: status line to empty line) and what the
   * decoder made of it: the same bytes, read from the decoder's first state, are the same head again.
   */
  record Repeat(byte[] raw, int status, String reason, dev.zcproxy.cache.Headers fields, long contentLength,
      boolean keepAlive) {}

  /**
   * The origin connection's decoder. A read that is exactly the connection's last response head again, byte for byte,
   * followed by exactly its Content-Length of body, goes to the pass as that head ({@link FrontPass#repeated}) without
   * being decoded; anything else is decoded. Owned by the connection's event loop.
   */
  private static final class Decoder extends HttpResponseDecoder {
    Origin origin;
    /** The read under way when it began with nothing buffered (its first byte at {@link #start}), or {@code null}. */
    private io.netty.buffer.ByteBuf reading;
    private int start;
    /** The last response head decoded from the start of a read, or {@code null}. */
    private Repeat last;
    private static final int CRLFCRLF = 0x0d0a0d0a;

    Decoder(HttpDecoderConfig config) {
      super(config);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
      reading = null;
      if (msg instanceof io.netty.buffer.ByteBuf in && !internalBuffer().isReadable()) {
        Repeat r = last;
        FrontPass p = origin == null ? null : origin.pass;
        if (r != null && p != null && repeatHeads && in.readableBytes() == r.raw().length + r.contentLength()
            && io.netty.buffer.ByteBufUtil.equals(in, in.readerIndex(), io.netty.buffer.Unpooled.wrappedBuffer(r.raw()), 0,
                r.raw().length)
            && p.repeated(r, in.retainedSlice(in.readerIndex() + r.raw().length, (int) r.contentLength()))) {
          in.release();
          return;
        }
        reading = in;
        start = in.readerIndex();
      }
      try {
        super.channelRead(ctx, msg);
      } finally {
        reading = null;
      }
    }

    /**
     * Keeps the head just decoded as {@code r}'s values with its bytes, when it was read from the start of the read
     * under way (nothing before it buffered); otherwise forgets the last one.
     */
    void keep(int status, String reason, dev.zcproxy.cache.Headers fields, long contentLength, boolean keepAlive) {
      io.netty.buffer.ByteBuf in = reading;
      last = null;
      int end = in == null ? 0 : in.readerIndex();
      if (in == null || internalBuffer() != in || end - start < 4 || end - start > 8192 || in.getInt(end - 4) != CRLFCRLF) {
        return;
      }
      byte[] raw = new byte[in.readerIndex() - start];
      in.getBytes(start, raw);
      last = new Repeat(raw, status, reason, fields, contentLength, keepAlive);
    }
  }

  /** Tells {@code ch}'s decoder the head just decoded ({@link Decoder#keep}). */
  static void keepHead(Channel ch, int status, String reason, dev.zcproxy.cache.Headers fields, long contentLength,
      boolean keepAlive) {
    Decoder d = repeatHeads ? ch.pipeline().get(Decoder.class) : null;
    if (d != null) {
      d.keep(status, reason, fields, contentLength, keepAlive);
    }
  }

  /** The end of an origin connection's pipeline: hands its decoded response to the pass it carries. */
  private static final class Origin extends ChannelInboundHandlerAdapter {
    FrontPass pass;
    /** Where the connection goes at the end of this read ({@link #releaseAtReadEnd}), or {@code null}. */
    PassChannels releaseTo;
    /** When the pass's response head is due ({@link System#nanoTime}); the timer is armed while {@link #armed}. */
    private long headDeadline;
    private boolean armed;
    /** The pass the deadline is for. */
    private FrontPass timed;

    void headBy(Channel ch, long deadlineNanos) {
      headDeadline = deadlineNanos;
      timed = pass;
      if (!armed) {
        arm(ch, deadlineNanos - System.nanoTime());
      }
    }

    private void arm(Channel ch, long delayNanos) {
      armed = true;
      ch.eventLoop().schedule(() -> {
        armed = false;
        FrontPass p = pass;
        if (p == null || p != timed || !ch.isActive()) {
          return; // no pass waits for a head now: the next one arms the timer again
        }
        long left = headDeadline - System.nanoTime();
        if (left > 0) {
          arm(ch, left); // set for an earlier request: this one's comes later
        } else {
          p.firstByteTimeout();
        }
      }, Math.max(0, delayNanos), TimeUnit.NANOSECONDS);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      FrontPass p = pass;
      if (p == null) {
        ReferenceCountUtil.release(msg);
        releaseTo = null;
        ctx.close(); // bytes nobody asked for: the connection cannot be trusted with a request
        return;
      }
      p.originRead(msg);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      FrontPass p = pass;
      if (p != null) {
        p.originReadComplete();
      }
      PassChannels to = releaseTo;
      if (to != null) {
        releaseTo = null;
        to.release(ctx.channel());
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      FrontPass p = pass;
      pass = null;
      if (p != null) {
        p.originClosed(null);
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      FrontPass p = pass;
      pass = null;
      ctx.close();
      if (p != null) {
        p.originClosed(cause);
      }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (!(evt instanceof IdleStateEvent e)) {
        ctx.fireUserEventTriggered(evt);
        return;
      }
      FrontPass p = pass;
      if (p != null && e.state() == IdleState.READER_IDLE) {
        p.originIdle();
      } else if (p == null && e.state() == IdleState.ALL_IDLE) {
        ctx.close(); // pooled unused past the keep-alive timeout
      }
    }
  }
}
