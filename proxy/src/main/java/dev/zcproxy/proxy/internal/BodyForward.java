package dev.zcproxy.proxy.internal;

import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpContent;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.impl.MessageWrite;
import io.vertx.core.net.impl.VertxConnection;
import java.util.function.IntConsumer;

/**
 * Relays an origin response body to the client as the pooled buffers the origin connection's decoder
 * produced: no copy into a Vert.x {@code Buffer}, no Vert.x write promise per chunk. The copy path of
 * bodies below the splice size, as {@link BodySplice} is the path above it.
 *
 * <h2>How</h2>
 * <ul>
 *   <li>The origin connection's {@link OriginCodec} guard hands each body part of the response to this
 *       instead of to Vert.x; the end of the response (its trailers, without body bytes) still goes to
 *       Vert.x, so its client connection ends the response and returns to the pool as for any body, and
 *       an origin that closes before the end fails the response in Vert.x as before (the caller then
 *       aborts the client: a short body never looks complete).
 *   <li>Each part is queued on the client connection's Vert.x outbound queue (a {@link MessageWrite}),
 *       so it keeps its order with the head and the end Vert.x writes there, and goes through the
 *       client's HTTP encoder (chunked framing when the client response is chunked).
 *   <li>Flushes are held until the end of the origin connection's read ({@link Gate}): the head, the
 *       body and the end of a small response leave in one write, as they did through Vert.x.
 *   <li>Back-pressure: when the client channel is not writable after the flush at the end of a read,
 *       the origin channel stops reading; it reads again when the client channel becomes writable, and
 *       always once the response ended (the connection goes back to the pool reading).
 *   <li>Before a splice ({@link #startPrefix}): only the parts of the read that delivered the head are
 *       forwarded; the origin's auto-read stays with the caller, which holds it off until the splice.
 *   <li>Client gone: later parts are released unwritten; the caller resets the origin request on the
 *       client's close, which closes the origin connection.
 * </ul>
 *
 * <p>Preconditions, checked by {@link #start}: HTTP/1.x on both legs, a Vert.x connection on both, the
 * origin connection carrying an {@link OriginCodec}, both channels on the calling event loop, the
 * response head just delivered in the current read of the origin connection with no body part given to
 * Vert.x yet. Otherwise {@link #start} changes nothing and returns false: the caller copies through
 * Vert.x as before.
 */
public final class BodyForward {
  private final Channel origin;
  private final Channel client;
  private final VertxConnection clientConn;
  private final ChannelHandlerContext vertxCtx;
  private final Gate gate;
  private final IntConsumer forwarded;
  /** Whether this forward pauses the origin read for back-pressure ({@code false}: the caller holds the read). */
  private final boolean managesRead;
  private boolean paused;
  private boolean over;

  private BodyForward(Channel origin, VertxConnection clientConn, Gate gate, IntConsumer forwarded, boolean managesRead) {
    this.origin = origin;
    this.managesRead = managesRead;
    this.clientConn = clientConn;
    this.client = clientConn.channel();
    this.vertxCtx = clientConn.channelHandlerContext();
    this.gate = gate;
    this.forwarded = forwarded;
  }

  /**
   * Takes over the rest of {@code cres}'s body for {@code req}'s client connection; returns whether it
   * did. When it did, {@code forwarded} is told the size of each body part queued to the client (on the
   * event loop, before the response's end reaches Vert.x), the caller writes the client head at once
   * ({@code writeHead()}), and the response's end or failure arrives through {@code cres}'s handlers as
   * usual. Call on the event loop, from the origin response's head handler.
   */
  public static boolean start(HttpClientResponse cres, HttpServerRequest req, IntConsumer forwarded) {
    return start(cres, req, forwarded, true);
  }

  /**
   * Like {@link #start}, for the body bytes that arrived with the head of a response whose rest the caller
   * then splices ({@link BodySplice}): the parts of the current origin read go to the client as they are,
   * but the origin's auto-read is left alone (the caller holds it off until the splice), so nothing but
   * what this read decoded is forwarded before the splice. The caller waits for a write queued on the client
   * response after these parts (a Vert.x write completes after the parts queued before it) before splicing,
   * as the spliced bytes do not pass the client channel's outbound buffer.
   */
  public static boolean startPrefix(HttpClientResponse cres, HttpServerRequest req, IntConsumer forwarded) {
    return start(cres, req, forwarded, false);
  }

  private static boolean start(HttpClientResponse cres, HttpServerRequest req, IntConsumer forwarded, boolean managesRead) {
    if (req.version() == HttpVersion.HTTP_2 || cres.version() == HttpVersion.HTTP_2
        || !(cres.request().connection() instanceof VertxConnection oc) || !(req.connection() instanceof VertxConnection cc)) {
      return false;
    }
    Channel o = oc.channel();
    Channel c = cc.channel();
    ChannelHandlerContext vctx = cc.channelHandlerContext();
    if (o.eventLoop() != c.eventLoop() || !o.eventLoop().inEventLoop() || !c.isActive() || vctx == null
        || c.pipeline().context(vctx.name()) != vctx) {
      return false;
    }
    if (!(o.pipeline().get(OriginCodec.GUARD) instanceof OriginCodec.Guard guard) || !guard.canForward()) {
      return false;
    }
    Gate gate = Gate.of(c, vctx);
    if (gate == null) {
      return false;
    }
    BodyForward f = new BodyForward(o, cc, gate, forwarded, managesRead);
    gate.active = f;
    gate.corked = true; // the head Vert.x writes next waits for the body of this read
    guard.forward(f, gate);
    return true;
  }

  /** A body part from the origin: queued to the client (ownership passes), or released when the client left. */
  void part(HttpContent part) {
    if (over || !client.isActive()) {
      part.release();
      return;
    }
    int n = part.content().readableBytes();
    gate.corked = true;
    clientConn.writeToChannel(new Write(part));
    forwarded.accept(n);
  }

  /** The end of the origin read (after the gate flushed): stop reading the origin while the client cannot take more. */
  void readEnded() {
    if (managesRead && !over && !paused && !client.isWritable() && client.isActive()) {
      paused = true;
      origin.config().setAutoRead(false);
    }
  }

  /** The response ended (or the origin connection closed): nothing more comes; the origin reads again. */
  void ended() {
    over = true;
    if (gate.active == this) {
      gate.active = null;
    }
    resume();
  }

  private void resume() {
    if (paused) {
      paused = false;
      origin.config().setAutoRead(true);
    }
  }

  /** One body part on the client connection's Vert.x outbound queue. */
  private final class Write implements MessageWrite {
    private final HttpContent part;

    Write(HttpContent part) {
      this.part = part;
    }

    @Override
    public void write() {
      if (gate.corked) {
        vertxCtx.write(part, vertxCtx.voidPromise()); // flushed at the end of the origin read
        gate.flushPending = true;
      } else {
        vertxCtx.writeAndFlush(part, vertxCtx.voidPromise()); // written later, from Vert.x's queue
      }
    }

    @Override
    public void cancel(Throwable cause) {
      part.release(); // the client connection closed with this still queued
    }
  }

  /**
   * One handler per client channel that ever had a body forwarded, in front of Vert.x's: holds flushes
   * while corked (until the end of the origin read that wrote the parts) and resumes a paused forward
   * when the channel becomes writable again. Owned by the channel's event loop.
   */
  static final class Gate extends ChannelDuplexHandler {
    static final String NAME = "zcproxy-forward-gate";
    private ChannelHandlerContext ctx;
    private boolean corked;
    private boolean flushPending;
    private BodyForward active;

    static Gate of(Channel c, ChannelHandlerContext vertx) {
      if (c.pipeline().get(NAME) instanceof Gate g) {
        return g;
      }
      Gate g = new Gate();
      try {
        c.pipeline().addBefore(vertx.name(), NAME, g);
      } catch (RuntimeException e) {
        return null; // the pipeline changed under us (closing): copy through Vert.x
      }
      return g;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      this.ctx = ctx;
    }

    @Override
    public void flush(ChannelHandlerContext ctx) {
      if (corked) {
        flushPending = true;
      } else {
        ctx.flush();
      }
    }

    /** Ends the hold: what was written since goes out now. Called at the end of the origin read. */
    void uncork() {
      corked = false;
      if (flushPending) {
        flushPending = false;
        ctx.flush();
      }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
      BodyForward f = active;
      if (f != null && ctx.channel().isWritable()) {
        f.resume();
      }
      ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
      corked = false;
      flushPending = false;
      ctx.fireChannelInactive();
    }
  }
}
