package dev.zcproxy.proxy.internal;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpObjectDecoder;
import io.netty.handler.codec.http.HttpObjectEncoder;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.net.impl.ConnectionBase;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * What the client listener needs from the Netty channel under a Vert.x HTTP/1.x connection: a close
 * that does not wait, a close notice that also fires once the connection became a tunnel, and the
 * request-head timer.
 *
 * <p>The head timer bounds the time a client may take to send a complete request head (slowloris), like HAProxy's
 * {@code timeout http-request} and nginx's {@code client_header_timeout}: Vert.x's idle timeout is reset by
 * every byte, so a head sent one byte at a time would hold a connection for ever.
 *
 * <p>The clock runs from accept until the first head is decoded, and again from the first byte of each
 * further request (after the previous response ended) until its head is decoded; an idle keep-alive
 * connection is left to the idle timeout. On expiry a client that sent bytes gets {@code 408} and the
 * connection is closed; one that sent nothing is closed silently.
 *
 * <p>Two Netty handlers on the HTTP/1.x client channel: one in front of the decoder sees raw bytes, one
 * behind it sees decoded heads and the response's last part. When the pipeline is not what this expects
 * (no Vert.x connection, no HTTP/1 decoder) {@link #installHeadTimeout} does nothing and returns false.
 */
public final class ClientChannels {
  private static final byte[] RESPONSE_408 =
      "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

  private ClientChannels() {}

  /** Installs the timer on {@code conn} (call from the server's connection handler); false when it cannot. */
  public static boolean installHeadTimeout(HttpConnection conn, long timeoutMs) {
    if (timeoutMs <= 0 || !(conn instanceof ConnectionBase base)) {
      return false;
    }
    Channel ch = base.channel();
    ChannelPipeline p = ch.pipeline();
    // behind both codecs: inbound it sees decoded heads, outbound the response objects before encoding
    String decoder = null;
    String encoder = null;
    for (Map.Entry<String, ChannelHandler> e : p) {
      if (e.getValue() instanceof HttpObjectDecoder) {
        decoder = e.getKey();
      } else if (e.getValue() instanceof HttpObjectEncoder<?>) {
        encoder = e.getKey();
      }
    }
    if (decoder == null || encoder == null) {
      return false;
    }
    String behind = p.names().indexOf(decoder) > p.names().indexOf(encoder) ? decoder : encoder;
    State state = new State(timeoutMs);
    // On TLS behind the SslHandler: it sees the request's bytes decrypted, including those that came in
    // the same read as the client's Finished (decrypted after this connection was set up); in front of
    // it those bytes went by before the handler existed, and a slow head was then closed without its 408.
    ChannelHandlerContext ssl = p.context(io.netty.handler.ssl.SslHandler.class);
    if (ssl != null) {
      p.addAfter(ssl.name(), "zc-head-bytes", new RawSide(state));
    } else {
      p.addFirst("zc-head-bytes", new RawSide(state));
    }
    p.addAfter(behind, "zc-head-decoded", new DecodedSide(state));
    state.start(p.context("zc-head-bytes"), false);
    state.stamp();
    return true;
  }

  /** Takes the request-head timer (and the front hit path) out of a pipeline that stops speaking HTTP/1 (h2c with prior knowledge). */
  static void leaveHttp1(ChannelPipeline p) {
    for (String name : new String[] {"zc-head-bytes", "zc-head-decoded", FrontHits.NAME, RawHits.NAME}) {
      if (p.get(name) != null) {
        p.remove(name); // the raw side cancels the timer as it goes
      }
    }
  }

  /** Whether {@code conn} is an HTTP/2 connection (ALPN h2 or h2c prior knowledge): its channel runs Netty's HTTP/2 codec. */
  public static boolean isHttp2(HttpConnection conn) {
    return conn instanceof ConnectionBase base
        && base.channel().pipeline().get(io.netty.handler.codec.http2.Http2ConnectionHandler.class) != null;
  }

  /** Closes the connection's channel at once, with no graceful shutdown: for connections refused at accept. */
  public static void closeNow(HttpConnection conn) {
    if (conn instanceof ConnectionBase base) {
      base.channel().close();
    } else {
      conn.close();
    }
  }

  /** The client connection slots of the listeners: taken at accept, given back at close. Thread-safe. */
  public interface Slots {
    /** {@link #take} result: no slot free, the connection is to be closed. */
    int REFUSED = 0;
    /** {@link #take} result: a slot taken, others are free. */
    int TAKEN = 1;
    /** {@link #take} result: the last free slot taken: stop accepting until {@link #give}. */
    int FULL = 2;

    /** Takes a slot for a new connection. */
    int take();

    /** Gives back the slot of a closed connection. */
    void give();
  }

  /**
   * Puts an {@link AcceptGate} on the listener {@code conn} was accepted on, unless one is there: from then on that
   * listener's connections take their slots at accept and it stops accepting while none is free. False when {@code conn}
   * has no Netty server channel under it (then nothing gates accept: the caller counts at the connection handler).
   */
  public static boolean gateListener(HttpConnection conn, Slots slots) {
    if (!(conn instanceof ConnectionBase base) || base.channel().parent() == null) {
      return false;
    }
    Channel listener = base.channel().parent();
    synchronized (listener) {
      if (listener.pipeline().get(AcceptGate.NAME) == null) {
        listener.pipeline().addFirst(AcceptGate.NAME, new AcceptGate(slots));
      }
    }
    return true;
  }

  /** Whether a listener's {@link AcceptGate} counted {@code conn} at accept (its slot is given back at close). */
  public static boolean countedAtAccept(HttpConnection conn) {
    return conn instanceof ConnectionBase base && base.channel().hasAttr(AcceptGate.COUNTED);
  }

  /** The listener {@code conn} was accepted on, as a handle for {@link #accepting}, or null. */
  public static Object listener(HttpConnection conn) {
    return conn instanceof ConnectionBase base ? base.channel().parent() : null;
  }

  /**
   * Stops or resumes accepting on a {@link #listener}: the server channel's auto-read, as Netty's own acceptor turns it
   * off for a second after {@code accept} failed. Stopped, new connections wait in the kernel's accept queue and take no
   * descriptor of this process. Any thread: the change runs on the listener's event loop, which asks {@code accept}
   * then, so a change that ran late never undoes a later one. False when the listener is closed (forget it then).
   */
  public static boolean accepting(Object listener, java.util.function.BooleanSupplier accept) {
    if (!(listener instanceof Channel ch) || !ch.isOpen()) {
      return false;
    }
    try {
      ch.eventLoop().execute(() -> ch.config().setAutoRead(accept.getAsBoolean()));
      return true;
    } catch (java.util.concurrent.RejectedExecutionException stopping) {
      return false;
    }
  }

  /**
   * Runs {@code action} once when the connection's channel closes. Unlike {@code HttpConnection.closeHandler}
   * this also fires after a CONNECT or WebSocket upgrade handed the channel to a tunnel.
   */
  public static void whenClosed(HttpConnection conn, Runnable action) {
    if (conn instanceof ConnectionBase base) {
      base.channel().closeFuture().addListener(f -> action.run());
    } else {
      conn.closeHandler(v -> action.run());
    }
  }

  /**
   * Notes that a final response left on {@code p} without passing the HTTP encoder (a pre-encoded hit,
   * {@link HitWriter}): the head timer then re-arms as it does after an encoded response's last part.
   */
  static void responseEnded(ChannelPipeline p) {
    if (p.get("zc-head-decoded") instanceof DecodedSide d) {
      d.state.ends++;
    }
  }

  /**
   * What to run when a request head was read and answered in full in front of the decoder ({@link RawHits}): the
   * head timer then counts it as a head read and a response ended (and stops a clock that runs). A no-op when
   * {@code p} has no head timer.
   */
  static Runnable answeredAhead(ChannelPipeline p) {
    if (p.get("zc-head-decoded") instanceof DecodedSide d) {
      return d.state::answeredAhead;
    }
    return () -> { };
  }

  /**
   * Per-connection state, touched only on the channel's event loop. The clock is a deadline: a head that is read
   * in time only clears it, and the one task scheduled per connection re-arms itself for a deadline set meanwhile
   * (no task scheduled and cancelled per request). The deadline is read from the clock only when a read ends
   * with the head still incomplete ({@link #stamp}): a head that arrives whole in one read (the usual case) is
   * timed without a clock read.
   */
  private static final class State {
    final long timeoutMs;
    ScheduledFuture<?> timer;
    /** When the running clock expires ({@link System#nanoTime}); meaningful only while {@link #running}. */
    long deadline;
    boolean running;
    /** The clock runs but its {@link #deadline} is not set yet (set at the end of the read that started it). */
    boolean unstamped;
    long heads; // decoded request heads
    long ends; // final responses ended; heads > ends means a request is being served
    boolean sawBytes;

    State(long timeoutMs) {
      this.timeoutMs = timeoutMs;
    }

    void start(ChannelHandlerContext raw, boolean bytes) {
      sawBytes |= bytes;
      if (running || raw == null) {
        return;
      }
      running = true;
      unstamped = true;
      if (timer == null) {
        timer = raw.executor().schedule(() -> expire(raw), timeoutMs, TimeUnit.MILLISECONDS);
      } // else the task already scheduled fires before this deadline and re-arms for it
    }

    /**
     * Sets the deadline of a clock started in this read (the head is not complete yet): timed from now, the end of
     * the read, a few microseconds after its bytes arrived.
     */
    void stamp() {
      if (unstamped) {
        unstamped = false;
        if (running) {
          deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        }
      }
    }

    boolean busy() {
      return heads > ends;
    }

    void headDone() {
      heads++;
      sawBytes = false;
      running = false; // the task scheduled stays and finds no clock running
      unstamped = false;
    }

    void answeredAhead() {
      headDone();
      ends++;
    }

    /** Stops the clock and its task (the connection closes or stops speaking HTTP/1). */
    void cancel() {
      running = false;
      unstamped = false;
      if (timer != null) {
        timer.cancel(false);
        timer = null;
      }
    }

    void expire(ChannelHandlerContext raw) {
      timer = null;
      if (!running) {
        return;
      }
      stamp(); // not expected: a read always stamps the clock it started
      long left = deadline - System.nanoTime();
      if (left > 0) { // the clock was restarted after this task was scheduled
        timer = raw.executor().schedule(() -> expire(raw), left, TimeUnit.NANOSECONDS);
        return;
      }
      running = false;
      if (busy() || !raw.channel().isActive()) {
        return;
      }
      if (sawBytes) {
        // written from the front of the pipeline: the HTTP encoder is mid-nothing, the decoder mid-head
        plainWriter(raw).writeAndFlush(Unpooled.wrappedBuffer(RESPONSE_408)).addListener(ChannelFutureListener.CLOSE);
      } else {
        raw.close();
      }
    }
  }

  /**
   * Where to write raw response bytes so that they reach the client as plaintext HTTP: the front of the
   * pipeline, or on a TLS connection the handler just behind the {@code SslHandler} (bytes written there
   * are encrypted; written in front of it they would go out as cleartext inside the TLS stream).
   */
  static ChannelHandlerContext plainWriter(ChannelHandlerContext raw) {
    ChannelPipeline p = raw.pipeline();
    ChannelHandlerContext ssl = p.context(io.netty.handler.ssl.SslHandler.class);
    if (ssl == null) {
      return raw;
    }
    java.util.List<String> names = p.names();
    int i = names.indexOf(ssl.name());
    ChannelHandlerContext behind = i >= 0 && i + 1 < names.size() ? p.context(names.get(i + 1)) : null;
    return behind == null ? raw : behind;
  }

  /** In front of the decoder: the first bytes of a head start the clock. */
  private static final class RawSide extends ChannelInboundHandlerAdapter {
    private final State state;
    /** The HTTP/1 decoder's context as last found (looked up again once it left the pipeline). */
    private ChannelHandlerContext decoder;

    RawSide(State state) {
      this.state = state;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (!state.busy()) {
        if (decoder == null || decoder.isRemoved()) {
          decoder = ctx.pipeline().context(HttpObjectDecoder.class); // replaced (strict decoder) or gone
        }
        if (decoder == null) {
          // the connection became a tunnel or WebSocket: no more heads to time
          state.cancel();
          ctx.pipeline().remove(this);
          ChannelHandler decoded = ctx.pipeline().get("zc-head-decoded");
          if (decoded != null) {
            ctx.pipeline().remove(decoded);
          }
        } else {
          state.start(ctx, true);
        }
      }
      ctx.fireChannelRead(msg);
      state.stamp(); // the head is still incomplete after this read (else it was decoded or answered: no clock read)
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      state.cancel();
      ctx.fireChannelInactive();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
      state.cancel();
    }
  }

  /** Behind the decoder: a decoded head stops the clock, the response's last part re-arms it. */
  private static final class DecodedSide extends ChannelDuplexHandler {
    private final State state;

    DecodedSide(State state) {
      this.state = state;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof HttpRequest) {
        state.headDone();
      }
      ctx.fireChannelRead(msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
      boolean interim = msg instanceof HttpResponse r && r.status().code() < 200; // 100 Continue, 103
      if (msg instanceof LastHttpContent && !interim) {
        state.ends++; // the next byte read starts the clock for the next head
      }
      ctx.write(msg, promise);
    }
  }
}
