package dev.zcproxy.proxy.internal;

import dev.zcproxy.cache.EncodedHead;
import dev.zcproxy.cache.Headers;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.channel.DefaultChannelPromise;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpContentCompressor;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.impl.Http1xServerConnection;
import io.vertx.core.net.impl.VertxConnection;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.channels.FileChannel;
import java.util.Deque;
import java.util.Iterator;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Answers plain GET hits on an HTTP/1.1 client connection from the decoded Netty request, before Vert.x's
 * connection handler sees it: no Vert.x request, response, header map or request handler is made for them.
 * One Netty handler per plain (not TLS) HTTP/1.x client channel, just in front of Vert.x's.
 *
 * <p>For each decoded request head it asks the proxy's {@link Answerer} (only when the request could be such a
 * hit at all: a decoded GET on HTTP/1.1, and Vert.x is idle on the connection, see below). A {@code null} answer
 * passes the request on to Vert.x unchanged; a {@link Hit} is written (its pre-encoded head with its age, then its
 * body, one buffer in front of the HTTP encoder, flushed at the end of the read) and the request's
 * {@code LastHttpContent} is dropped, so Vert.x never learns of the request. A {@link FileHit} is written the same
 * way with its body as a file region behind the head buffer (writev, then sendfile, at the same flush).
 *
 * <p>{@link Hit#sent} is told once whether the response was written in full; a {@code null} answer, or one
 * that could not be written, has had nothing written for it.
 *
 * <p>Order: a request is answered here only while Vert.x has no request in progress on the connection (none being
 * read, none being answered, none queued behind a paused connection) and is not closing it, so every earlier
 * response has been handed to the pipeline before this one, and a request pipelined behind one Vert.x is still
 * answering goes to Vert.x in turn. That state is read from Vert.x's connection by reflection; when this Vert.x
 * lacks the members ({@link #whyUnavailable}), {@link #install} installs nothing and every request goes to Vert.x.
 */
public final class FrontHits extends FlushAtReadEnd {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(FrontHits.class);
  /** The handler's name in the pipeline. */
  static final String NAME = "zcproxy-front-hits";

  private static final VarHandle REQUEST_IN_PROGRESS;
  private static final VarHandle RESPONSE_IN_PROGRESS;
  private static final VarHandle WANT_CLOSE;
  private static final VarHandle SHUTDOWN_INITIATED;
  private static final VarHandle CLOSE_INITIATED;
  private static final VarHandle PENDING;
  private static final VarHandle PAUSED;
  private static final String UNAVAILABLE;

  static {
    VarHandle req = null;
    VarHandle resp = null;
    VarHandle wantClose = null;
    VarHandle shutdown = null;
    VarHandle close = null;
    VarHandle pending = null;
    VarHandle paused = null;
    String why = null;
    try {
      MethodHandles.Lookup server = MethodHandles.privateLookupIn(Http1xServerConnection.class, MethodHandles.lookup());
      Class<?> request = Class.forName("io.vertx.core.http.impl.Http1xServerRequest");
      req = server.findVarHandle(Http1xServerConnection.class, "requestInProgress", request);
      resp = server.findVarHandle(Http1xServerConnection.class, "responseInProgress", request);
      wantClose = server.findVarHandle(Http1xServerConnection.class, "wantClose", boolean.class);
      Class<?> http1 = Http1xServerConnection.class.getSuperclass(); // Http1xConnection, package-private
      MethodHandles.Lookup h1 = MethodHandles.privateLookupIn(http1, MethodHandles.lookup());
      shutdown = h1.findVarHandle(http1, "shutdownInitiated", boolean.class);
      close = h1.findVarHandle(http1, "closeInitiated", boolean.class);
      MethodHandles.Lookup vc = MethodHandles.privateLookupIn(VertxConnection.class, MethodHandles.lookup());
      pending = vc.findVarHandle(VertxConnection.class, "pending", Deque.class);
      paused = vc.findVarHandle(VertxConnection.class, "paused", boolean.class);
    } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
      why = e.toString();
    }
    REQUEST_IN_PROGRESS = req;
    RESPONSE_IN_PROGRESS = resp;
    WANT_CLOSE = wantClose;
    SHUTDOWN_INITIATED = shutdown;
    CLOSE_INITIATED = close;
    PENDING = pending;
    PAUSED = paused;
    UNAVAILABLE = why;
  }

  /** The proxy's side: decides, on the connection's event loop, whether it answers a request here. */
  @FunctionalInterface
  public interface Answerer {
    /**
     * The answer to {@code req} (a {@link Hit} from memory or a {@link FileHit} from a file), or {@code null} to
     * leave it to Vert.x (then nothing may have been done for it: it will be handled from the start). {@code req}
     * is valid only during the call.
     */
    Reply answer(Request req);
  }

  /** Told once whether a {@link Hit} was written to the socket in full. */
  @FunctionalInterface
  public interface Sent {
    void done(boolean complete);
  }

  /**
   * Told once whether a {@link FileHit} was written to the socket in full, and how many of its body bytes left with
   * the head from a buffer (read from the file, {@code HeadPrefix}) rather than as the file region.
   */
  @FunctionalInterface
  public interface FileSent {
    void done(boolean complete, long bufferBytes);
  }

  /**
   * A response to write: {@code head} with {@code ageSeconds}, then {@code length} bytes of {@code body} from
   * {@code offset} (bytes that never change); {@code sent} is told the outcome. The hit holds one reference to
   * {@code body}, which {@link #write} gives back once the bytes were copied out.
   */
  public record Hit(EncodedHead head, long ageSeconds, RamBody body, int offset, int length, Sent sent) implements Reply {}

  /**
   * A response to write in front of Vert.x: a {@link Hit} (body in memory), a {@link FileHit} (body in a file) or a
   * {@link FrontPass} (from the origin: until it ended, whatever the client sends behind it waits, see {@link #passEnded}).
   */
  public sealed interface Reply permits Hit, FileHit, FrontPass {}

  /**
   * A response whose body is a file range: {@code head} with {@code ageSeconds}, then {@code length} bytes of
   * {@code file} from {@code offset} as a file region ({@code sendfile(2)}). {@code file} is the answerer's: it is
   * never closed here, and stays open until {@code sent} was told the outcome, or {@code unused} was run when
   * nothing was written for it (exactly one of the two runs).
   */
  public record FileHit(EncodedHead head, long ageSeconds, FileChannel file, long offset, long length, FileSent sent,
      Runnable unused) implements Reply {}

  /**
   * A read-only view of a request head, valid during {@link Answerer#answer} only: decoded by Netty, or parsed
   * from the raw bytes by {@link RawHits} (then a {@code GET} on {@code HTTP/1.1} in origin form, fields checked).
   */
  public static final class Request {
    private HttpRequest r;
    private final HttpConnection conn;
    /** The raw head's target and fields, when {@link #r} is {@code null}. */
    private String rawUri;
    private String[] names;
    private String[] values;
    private int count;
    /** The answerer's note on the previous head answered on this connection, when this head's bytes are the same. */
    private Object repeatNote;
    /** What the answerer left for this head ({@link #remember}), or {@code null}. */
    private Object note;

    Request(HttpConnection conn) {
      this.conn = conn;
    }

    void raw(String uri, String[] names, String[] values, int count) {
      this.rawUri = uri;
      this.names = names;
      this.values = values;
      this.count = count;
    }

    void clear() {
      r = null;
      rawUri = null;
      names = null;
      values = null;
      count = 0;
      repeatNote = null;
      note = null;
    }

    /**
     * What the answerer {@link #remember remembered} for the previous head answered on this connection, when this
     * head is byte for byte the same (only raw heads are compared), else {@code null}. A note says what follows from
     * the head alone: what the cache holds and the clock must still be asked.
     */
    public Object repeatNote() {
      return repeatNote;
    }

    /**
     * Leaves {@code what} (immutable, derived from this head alone) with the connection: the next head with the
     * same bytes is offered with it as its {@link #repeatNote}.
     */
    public void remember(Object what) {
      note = what;
    }

    /** The method as sent ({@code GET}: only GETs are offered). */
    public String method() {
      return r == null ? "GET" : r.method().name();
    }

    /** The request target as sent. */
    public String uri() {
      return r == null ? rawUri : r.uri();
    }

    /** {@code HTTP/1.1} (only HTTP/1.1 requests are offered). */
    public String version() {
      return r == null ? "HTTP/1.1" : r.protocolVersion().text();
    }

    /** The first value of the field {@code name}, or {@code null}. */
    public String header(String name) {
      if (r != null) {
        return r.headers().get(name);
      }
      for (int i = 0; i < count; i++) {
        if (names[i].equalsIgnoreCase(name)) {
          return values[i];
        }
      }
      return null;
    }

    /** Every field in the order received. */
    public Headers fields() {
      if (r == null) {
        return Headers.ofLines(names, values, count);
      }
      Headers.Builder b = Headers.builder();
      for (Iterator<Map.Entry<String, String>> it = r.headers().iteratorAsString(); it.hasNext(); ) {
        Map.Entry<String, String> e = it.next();
        b.add(e.getKey(), e.getValue());
      }
      return b.build();
    }

    /** The Vert.x connection the request came on (its remote address, identity). */
    public HttpConnection connection() {
      return conn;
    }
  }

  private final Http1xServerConnection conn;
  private final Supplier<Answerer> answerer;
  private final EncodedResponses responses;
  /** The last response written on this channel's event loop ({@link #responses}' slot of the loop), once added. */
  private EncodedResponses.Slot lastOnLoop;
  private final Request view;
  /** Dropping the rest (the {@code LastHttpContent}) of a request answered here. */
  private boolean swallowing;
  /** What the answerer left for the head last asked about ({@link #lastNote}). */
  private Object lastNote;
  /** The pass under way on the connection, or {@code null}; while there is one, what is read waits in {@link #held}. */
  private FrontPass passing;
  /** Whether {@link #passing} was answered from a decoded head (its end is then told to the head timer). */
  private boolean passDecoded;
  /**
   * The most messages held behind a pass before the connection stops reading (reading goes on below that, so a
   * client that closes is noticed at once).
   */
  private static final int MAX_HELD = 64;
  /** Messages read behind a pass under way, handled in order once it ended. */
  private final java.util.ArrayDeque<Object> held = new java.util.ArrayDeque<>();
  private ChannelHandlerContext self;
  /** What waits for the passes under way to end ({@link #afterPasses}), or {@code null}. */
  private Runnable afterPasses;

  private FrontHits(Http1xServerConnection conn, Supplier<Answerer> answerer, EncodedResponses responses) {
    this.conn = conn;
    this.answerer = answerer;
    this.responses = responses;
    this.view = new Request(conn);
  }

  /** Why requests are never answered here with this Vert.x, or {@code null} when they can be. */
  public static String whyUnavailable() {
    return UNAVAILABLE;
  }

  /**
   * Puts the handler in front of Vert.x's on {@code conn}'s channel; {@code answerer} is read for every request
   * (it may return {@code null}: off); {@code responses} keeps the last response written on each event loop (the
   * proxy's, closed with it). Call from the server's connection handler after the other HTTP/1 hooks.
   * False when the connection is not a plain HTTP/1.x Vert.x connection or this Vert.x lacks what the handler
   * reads: nothing is installed then.
   */
  public static boolean install(HttpConnection conn, Supplier<Answerer> answerer, EncodedResponses responses) {
    if (UNAVAILABLE != null || !(conn instanceof Http1xServerConnection c)) {
      return false;
    }
    ChannelPipeline p = c.channel().pipeline();
    if (p.get(NAME) != null || p.get("handler") == null || p.get("httpDecoder") == null
        || p.context(HttpResponseEncoder.class) == null || p.get(HttpContentCompressor.class) != null
        || p.get(io.netty.handler.ssl.SslHandler.class) != null) {
      return false;
    }
    FrontHits front = new FrontHits(c, answerer, responses);
    p.addBefore("handler", NAME, front);
    if (p.get("httpDecoder") instanceof StrictRequestDecoder d && StrictRequestDecoder.stateReadable()) {
      // just in front of the decoder: the head timer sees every byte read (Vert.x's idle timer, behind the
      // decoder, is told of what is answered here)
      p.addBefore("httpDecoder", RawHits.NAME, new RawHits(front, p.context("httpDecoder"), ClientChannels.answeredAhead(p),
          d.maxInitialLine, d.maxHeaderSize));
    }
    return true;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    self = ctx;
    lastOnLoop = responses.slot(ctx.executor()); // the channel's loop: every write of this handler runs there
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (swallowing) {
      if (msg instanceof HttpContent) {
        swallowing = !(msg instanceof LastHttpContent);
        ReferenceCountUtil.release(msg);
        return;
      }
      swallowing = false; // not expected: a bodiless request's head is followed by its (empty) last content
    }
    if (passing != null) {
      held.addLast(msg); // answered in turn once the pass ended
      if (held.size() == MAX_HELD) {
        ctx.channel().config().setAutoRead(false); // a client that pipelines this much waits in the socket
      }
      return;
    }
    if (msg instanceof HttpRequest r && !(msg instanceof FullHttpRequest) && answer(ctx, r)) {
      ReferenceCountUtil.release(msg);
      swallowing = true;
      return;
    }
    ctx.fireChannelRead(msg);
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
    if (passing != null) {
      passing.clientWritabilityChanged();
    }
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    FrontPass p = passing;
    passing = null;
    if (p != null) {
      p.clientClosed();
    }
    for (Object m; (m = held.pollFirst()) != null; ) {
      ReferenceCountUtil.release(m);
    }
    super.channelInactive(ctx);
  }

  /**
   * {@code pass} handed its whole response (or its failure) to the connection: what was read behind it is handled
   * now, in order, as if just read.
   */
  void passEnded(FrontPass pass) {
    if (passing != pass) {
      return;
    }
    passing = null;
    if (passDecoded) {
      ClientChannels.responseEnded(self.pipeline());
    }
    if (!self.channel().isActive()) {
      return;
    }
    boolean replayed = !held.isEmpty();
    while (passing == null && !held.isEmpty()) {
      channelRead(self, held.pollFirst());
    }
    if (replayed) {
      channelReadComplete(self); // as at the end of a read: what was answered goes out, Vert.x flushes
    }
    if (passing == null && !self.channel().config().isAutoRead() && !(boolean) PAUSED.get(conn)) {
      self.channel().config().setAutoRead(true);
    }
    Runnable after = afterPasses;
    if (passing == null && after != null) {
      afterPasses = null;
      after.run();
    }
  }

  /**
   * Runs {@code action} once no pass is under way on the connection (and what was read behind the passes was handed
   * on): now when none is; whether it was deferred. Vert.x does not know of a pass: what acts on the connection as
   * if it were idle waits for its end here.
   */
  boolean afterPasses(Runnable action) {
    if (passing == null) {
      return false;
    }
    afterPasses = action;
    return true;
  }

  /** Whether a pass is under way on the connection (then nothing more is answered until it ended). */
  boolean passing() {
    return passing != null;
  }

  /** Writes the answer to {@code r} if there is one and it may be written here; whether it did. */
  private boolean answer(ChannelHandlerContext ctx, HttpRequest r) {
    if (!HttpMethod.GET.equals(r.method()) || !HttpVersion.HTTP_1_1.equals(r.protocolVersion())
        || !r.decoderResult().isSuccess() || !vertxIdle(conn) || !ctx.channel().isActive()) {
      return false;
    }
    ChannelHandlerContext encoder = ctx.pipeline().context(HttpResponseEncoder.class);
    if (encoder == null) {
      return false;
    }
    view.r = r;
    Reply hit = ask();
    if (hit == null || !write(encoder, hit, r.uri())) { // in front of the encoder: the bytes are already HTTP
      return false;
    }
    if (passing != null) {
      passDecoded = true; // its end is told to the head timer when it comes
      return true;
    }
    ClientChannels.responseEnded(ctx.pipeline());
    flushAtReadEnd();
    return true;
  }

  /** Whether Vert.x leaves the connection to this handler now: nothing under way (no pass either), open, writable. */
  boolean vertxIdle(ChannelHandlerContext ctx) {
    return passing == null && vertxIdle(conn) && ctx.channel().isActive() && ctx.channel().isWritable();
  }

  /** Whether the front path is on now ({@code transfer.front-hits}). */
  boolean enabled() {
    return answerer.get() != null;
  }

  /** The raw-byte side's question: the answer to a head parsed from bytes, or {@code null}. */
  Reply askRaw(String uri, String[] names, String[] values, int count) {
    return askRaw(uri, names, values, count, null);
  }

  /**
   * {@link #askRaw(String, String[], String[], int)} with the note left for the previous head when this head's
   * bytes are the same ({@code null}: not the same); what the answerer left for this head is then {@link #lastNote}.
   */
  Reply askRaw(String uri, String[] names, String[] values, int count, Object repeatNote) {
    view.raw(uri, names, values, count);
    view.repeatNote = repeatNote;
    return ask();
  }

  /** What the answerer {@link Request#remember remembered} for the head last asked about, or {@code null}. */
  Object lastNote() {
    return lastNote;
  }

  /** Asks the answerer about the head in {@link #view} (cleared after), or {@code null}. */
  private Reply ask() {
    Answerer a = answerer.get();
    lastNote = null;
    try {
      Reply reply = a == null ? null : a.answer(view);
      lastNote = view.note;
      return reply;
    } catch (RuntimeException e) {
      LOG.debug("front hit path left {} to Vert.x", view.uri(), e);
      return null; // the normal path decides again, and reports what went wrong
    } finally {
      view.clear();
    }
  }

  /** Writes {@code reply} from {@code writer}'s place in the pipeline (not flushed); false when nothing was written. */
  boolean write(ChannelHandlerContext writer, Reply reply, String uri) {
    if (reply instanceof FrontPass pass) {
      return pass(writer, pass);
    }
    return reply instanceof FileHit file ? writeFile(writer, file, uri) : write(writer, (Hit) reply, uri);
  }

  /**
   * Starts {@code pass} (its response is written from {@code writer}'s place as the origin sends it); until it
   * ended nothing more is read from the client. False when it could not start: nothing was done for it.
   */
  private boolean pass(ChannelHandlerContext writer, FrontPass pass) {
    ChannelHandlerContext encoder = writer.pipeline().context(HttpResponseEncoder.class);
    if (encoder == null) {
      return false;
    }
    passing = pass;
    passDecoded = false;
    if (!pass.start(this, encoder)) {
      passing = null;
      return false;
    }
    return true;
  }

  /**
   * Writes {@code hit}'s head (with the body's first bytes, {@link HeadPrefix}) as one buffer and the rest of its body
   * as a file region behind it, not flushed (the flush at the end of the read sends both: writev, then sendfile); a
   * small body read whole with its head ({@link HeadPrefix#WHOLE}) is that one buffer alone. False when nothing was
   * written (then {@code hit.unused} ran).
   */
  boolean writeFile(ChannelHandlerContext writer, FileHit hit, String uri) {
    ByteBuf buf;
    long prefix; // body bytes that leave with the head (HeadPrefix)
    try {
      buf = HeadPrefix.of(writer.alloc(), hit.head(), hit.ageSeconds(), hit.file(), hit.offset(), hit.length(),
          HeadPrefix.BYTES);
      prefix = buf.readableBytes() - hit.head().length(hit.ageSeconds());
    } catch (RuntimeException e) {
      LOG.debug("front hit path left {} to Vert.x", uri, e);
      hit.unused().run();
      return false;
    }
    long copied = prefix;
    ChannelPromise bodySent = new SentPromise(writer, complete -> hit.sent().done(complete, copied));
    if (prefix == hit.length()) { // the whole body was read with the head (HeadPrefix.WHOLE): one buffer, no region
      writer.write(buf, bodySent);
      return true;
    }
    LargeSendBuffers.around(writer.channel(), hit.length(), bodySent);
    HitCork.around(writer.channel(), hit.length(), bodySent); // the head leaves in the body's first segment
    writer.write(buf); // a failed head write fails the region behind it too (the channel is closing)
    writer.write(new FileHitWriter.Region(hit.file(), hit.offset() + prefix, hit.length() - prefix), bodySent);
    return true;
  }

  /**
   * Writes {@code hit} (head and body in one buffer, not flushed) from {@code writer}'s place in the pipeline;
   * false when nothing was written.
   */
  boolean write(ChannelHandlerContext writer, Hit hit, String uri) {
    ByteBuf buf;
    try {
      // the same response as the last one written on this event loop (same head, age and body): its bytes again
      buf = lastOnLoop.encode(writer.alloc(), hit.head(), hit.ageSeconds(), hit.body(), hit.offset(), hit.length());
    } catch (RuntimeException e) {
      LOG.debug("front hit path left {} to Vert.x", uri, e);
      return false;
    } finally {
      hit.body().release(); // the hit's reference: its bytes are in buf now (or not needed)
    }
    writer.write(buf, new SentPromise(writer, hit.sent()));
    return true;
  }

  /**
   * The promise of a hit's last write, which tells the hit's {@link Sent} its outcome as it completes: not a listener of
   * itself, so completing it takes none of {@code DefaultPromise}'s listener bookkeeping (a lock taken to add the
   * listener, two more to run it, the thread's notification depth). Other listeners added to it (the send buffer's,
   * the cork's) are told by {@code DefaultPromise} as before, {@code sent} after them. {@code sent} runs on the
   * channel's event loop, once.
   */
  static final class SentPromise extends DefaultChannelPromise {
    private final Sent sent;

    SentPromise(ChannelHandlerContext writer, Sent sent) {
      super(writer.channel(), writer.executor());
      this.sent = sent;
    }

    @Override
    public ChannelPromise setSuccess(Void result) {
      super.setSuccess(result); // throws when already complete: then sent was told before
      tell(true);
      return this;
    }

    @Override
    public boolean trySuccess(Void result) {
      if (!super.trySuccess(result)) {
        return false;
      }
      tell(true);
      return true;
    }

    @Override
    public ChannelPromise setFailure(Throwable cause) {
      super.setFailure(cause);
      tell(false);
      return this;
    }

    @Override
    public boolean tryFailure(Throwable cause) {
      if (!super.tryFailure(cause)) {
        return false;
      }
      tell(false);
      return true;
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
      if (!super.cancel(mayInterruptIfRunning)) {
        return false;
      }
      tell(false);
      return true;
    }

    /** Tells {@code sent} on the event loop, as a listener would be told; what it throws is logged, not rethrown. */
    private void tell(boolean complete) {
      if (!executor().inEventLoop()) {
        executor().execute(() -> tell(complete));
        return;
      }
      try {
        sent.done(complete);
      } catch (Throwable t) { // as DefaultPromise treats a listener that throws: the write loop goes on
        LOG.warn("a hit's completion threw", t);
      }
    }
  }

  /**
   * Whether Vert.x has nothing under way on {@code c}: no request being read or answered, nothing queued while
   * paused, not closing. Then every response it started has been handed to the pipeline.
   */
  static boolean vertxIdle(Http1xServerConnection c) {
    if (REQUEST_IN_PROGRESS.get(c) != null || RESPONSE_IN_PROGRESS.get(c) != null || (boolean) WANT_CLOSE.get(c)
        || (boolean) SHUTDOWN_INITIATED.get(c) || (boolean) CLOSE_INITIATED.get(c) || (boolean) PAUSED.get(c)) {
      return false;
    }
    Deque<?> pending = (Deque<?>) PENDING.get(c);
    return pending == null || pending.isEmpty();
  }
}
