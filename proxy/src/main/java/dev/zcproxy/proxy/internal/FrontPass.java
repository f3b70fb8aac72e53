package dev.zcproxy.proxy.internal;

import dev.zcproxy.cache.Headers;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A plain GET passed to a plain-HTTP origin in front of Vert.x ({@link FrontHits}' third kind of answer): its
 * request head, already built, goes as one buffer on a connection of {@link PassChannels} (on the client's event
 * loop), and the origin's response goes back to the client as the head the proxy's {@link Side} makes of it and
 * the body's own buffers, framed as the origin framed it (Content-Length bytes as they are; a chunked or
 * close-delimited body re-chunked), flushed at the end of each origin read, the origin read only while the client
 * can take more.
 *
 * <p>An origin that fails before its response head gets the {@link Side#failed} response instead (502 or 504); a
 * pooled connection that closed before any byte of the response is tried once more on another, as
 * {@code OriginClient} does. An origin that fails after its head (closed mid-body, stalled past its idle timeout)
 * closes the client connection, so a short body never looks complete. A client that leaves closes the origin
 * connection. An origin connection goes back to its pool only after a complete response it could frame and that
 * did not ask to close. Interim (1xx) responses go to the client as {@link Side#interim} makes them (flushed at once,
 * as the normal path forwards them; after one the request is never sent again), a 101 fails the pass (502).
 *
 * <p>Owned by the client channel's event loop, which is also the origin connection's.
 */
public final class FrontPass implements FrontHits.Reply {
  private static final byte[] CRLF = {'\r', '\n'};
  /** A repeated head's body up to this length goes out in the head's buffer (copied: cheaper than a second buffer). */
  private static final int ONE_BUFFER = 4096;
  private static final byte[] LAST_CHUNK = "0\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

  /** The proxy's side of one pass: what the client is sent, and the outcome. Called on the event loop. */
  public interface Side {
    /** The request is about to be written to the origin (once per attempt). */
    void sent();

    /**
     * The origin's final response head: the client's response head for it (status line, fields, empty line), or
     * {@code null} to answer as for a failure. {@code contentLength} is -1 when the origin gave none; then the body
     * is re-chunked and the head must say {@code Transfer-Encoding: chunked} (unless {@code bodyless}).
     */
    byte[] head(int status, String reason, Headers fields, long contentLength, boolean bodyless);

    /**
     * An interim response (102..199 but 101) before the final one: the bytes the client is sent for it (status line,
     * fields, empty line), or {@code null} to drop it.
     */
    byte[] interim(int status, String reason, Headers fields);

    /** The origin failed before a response head: the complete response the client gets instead. */
    byte[] failed(Throwable cause);

    /**
     * The exchange is over: {@code bodyBytes} of the body were handed to the client connection ({@code handed}
     * bytes with the head and framing), all of it written when {@code complete}.
     */
    void ended(boolean complete, long bodyBytes, long handed);
  }

  private enum State { NEW, WAITING, SENT, BODY, DONE }

  private final PassChannels pool;
  private final byte[] requestHead;
  private final long firstByteMillis;
  private final Side side;
  private State state = State.NEW;
  private FrontHits front;
  private ChannelHandlerContext writer;
  private Channel client;
  private Channel origin;
  private boolean reused;
  private boolean retried;
  /** After an interim response: its (empty) last content is dropped. */
  private boolean interim;
  /** An interim response came on this attempt's connection (its final head is then not kept as a repeat). */
  private boolean sawInterim;
  /** An interim response reached the client connection: the request is not sent again. */
  private boolean interimSent;
  private boolean bodyless;
  private boolean chunk;
  private boolean keepAlive;
  private long bodyBytes;
  private long handed;
  private boolean ended;
  private IdleStateHandler clientIdle;

  /**
   * @param pool where the origin connection comes from
   * @param requestHead the whole request head as it goes to the origin
   * @param firstByteMillis how long the origin has for its response head after the request went (0: no limit)
   */
  public FrontPass(PassChannels pool, byte[] requestHead, long firstByteMillis, Side side) {
    this.pool = pool;
    this.requestHead = requestHead;
    this.firstByteMillis = firstByteMillis;
    this.side = side;
  }

  /**
   * Starts the pass on {@code writer}'s channel (writes go from there, past the HTTP encoder); false when it cannot
   * run here (nothing was done for it: the request goes to Vert.x).
   */
  boolean start(FrontHits front, ChannelHandlerContext writer) {
    if (state != State.NEW || !PassChannels.supports(writer.channel())) {
      return false;
    }
    this.front = front;
    this.writer = writer;
    this.client = writer.channel();
    this.clientIdle = writer.pipeline().get("idle") instanceof IdleStateHandler h ? h : null;
    state = State.WAITING;
    if (!pool.acquire(client, this, true)) {
      state = State.NEW; // the loop's origin connections are the normal path's: its pool's queue it is
      this.front = null;
      this.writer = null;
      this.client = null;
      this.clientIdle = null;
      return false;
    }
    return true;
  }

  /** Whether the client is still there for an origin connection handed over now. */
  boolean waiting() {
    return state == State.WAITING;
  }

  /** The client connection (its event loop is the origin connection's). */
  Channel clientChannel() {
    return client;
  }

  /** {@link PassChannels} gives this pass {@code ch} ({@code reused}: it carried a response before). */
  void connected(Channel ch, boolean reused) {
    if (state != State.WAITING) {
      pool.release(ch); // the client left meanwhile: the connection was never used
      return;
    }
    this.origin = ch;
    this.reused = reused;
    state = State.SENT;
    PassChannels.bind(ch, this);
    side.sent();
    ByteBuf head = ch.alloc().directBuffer(requestHead.length).writeBytes(requestHead);
    ch.writeAndFlush(head, ch.voidPromise()); // a failed write reaches PassChannels' handler: originClosed(cause)
    if (firstByteMillis > 0 && state == State.SENT) {
      PassChannels.headBy(ch, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(firstByteMillis));
    }
  }

  /** No connection could be made ({@code cause}). */
  void connectFailed(Throwable cause) {
    if (state == State.WAITING) {
      retried = true;
      failBeforeHead(cause);
    }
  }

  /** The origin's response head did not come in time. */
  void firstByteTimeout() {
    if (state == State.SENT) {
      retried = true; // the origin may still be working on it: never sent again
      originFailed(new TimeoutException("no response head from the origin within " + firstByteMillis + " ms"));
    }
  }

  /** A message from the origin connection's decoder. */
  void originRead(Object msg) {
    if (state == State.DONE) {
      ReferenceCountUtil.release(msg);
      return;
    }
    if (msg instanceof HttpResponse r) {
      onHead(r);
    }
    if (msg instanceof HttpContent c) {
      if (interim) {
        interim = !(c instanceof LastHttpContent); // the interim response's (empty) end
      } else if (state == State.BODY) {
        onContent(c);
        return;
      }
    }
    ReferenceCountUtil.release(msg);
  }

  private void onHead(HttpResponse r) {
    if (!r.decoderResult().isSuccess()) {
      retried = true;
      Throwable cause = r.decoderResult().cause();
      originFailed(cause instanceof DecoderException ? cause : new DecoderException("malformed response head", cause));
      return;
    }
    int status = r.status().code();
    if (status >= 100 && status < 200) {
      if (status == 101) {
        retried = true;
        originFailed(new DecoderException("origin answered 101 as its final response"));
        return;
      }
      interim = true;
      sawInterim = true;
      if (status != 100) { // 100 Continue: for a request body, which a front pass never has (the normal path drops it)
        forwardInterim(status, r);
      }
      return;
    }
    long length = HttpUtil.getContentLength(r, -1L);
    boolean keep = HttpUtil.isKeepAlive(r) && (status == 204 || status == 304 || length >= 0
        || HttpUtil.isTransferEncodingChunked(r));
    String reason = r.status().reasonPhrase();
    Headers fields = fields(r);
    if (!sawInterim && keep && length >= 0 && status != 204 && status != 304 && !HttpUtil.isTransferEncodingChunked(r)) {
      PassChannels.keepHead(origin, status, reason, fields, length, true); // the next same bytes skip the decoder
    }
    byte[] head = head(status, reason, fields, length, keep);
    if (head != null) {
      writer.write(buffer(head), writer.voidPromise()); // a failed write fails the last one too
    }
  }

  /**
   * The origin connection's decoder read exactly {@code r}'s head again and then its whole body ({@code body}, which
   * this takes): handled as that head and that body decoded; false (nothing done, {@code body} released) when the
   * pass does not wait for a final head now.
   */
  boolean repeated(PassChannels.Repeat r, ByteBuf body) {
    if (state != State.SENT || interim) {
      body.release();
      return false;
    }
    byte[] head = head(r.status(), r.reason(), r.fields(), r.contentLength(), r.keepAlive());
    int n = body.readableBytes();
    if (head == null) {
      body.release();
    } else if (n > 0 && n <= ONE_BUFFER) { // head and body as one buffer: one write, one entry to flush
      ByteBuf both = writer.alloc().directBuffer(head.length + n).writeBytes(head).writeBytes(body);
      body.release();
      bodyBytes += n;
      handed += n;
      ChannelPromise written = writer.newPromise();
      writer.write(both, written);
      end(written);
    } else {
      writer.write(buffer(head), writer.voidPromise());
      onContent(new DefaultLastHttpContent(body));
    }
    return true;
  }

  /**
   * The client's head for the final response head ({@code length}: its Content-Length, -1 when none), to be written
   * now; {@code null} when the pass failed instead.
   */
  private byte[] head(int status, String reason, Headers fields, long length, boolean keep) {
    bodyless = status == 204 || status == 304;
    chunk = !bodyless && length < 0;
    keepAlive = keep;
    byte[] head;
    try {
      head = side.head(status, reason, fields, length, bodyless);
    } catch (RuntimeException e) {
      head = null;
    }
    if (head == null) {
      retried = true;
      originFailed(new DecoderException("origin response head not relayed"));
      return null;
    }
    state = State.BODY;
    handed += head.length;
    return head;
  }

  /** Hands the interim response {@code r} to the client connection as {@link Side#interim} makes it, flushed. */
  private void forwardInterim(int status, HttpResponse r) {
    byte[] bytes;
    try {
      bytes = side.interim(status, r.status().reasonPhrase(), fields(r));
    } catch (RuntimeException e) {
      bytes = null; // dropped, as the normal path drops what it cannot forward
    }
    if (bytes == null) {
      return;
    }
    interimSent = true;
    handed += bytes.length;
    writer.writeAndFlush(buffer(bytes), writer.voidPromise());
    touchClientIdle();
  }

  private static Headers fields(HttpResponse r) {
    Headers.Builder fields = Headers.builder();
    for (Iterator<Map.Entry<String, String>> it = r.headers().iteratorAsString(); it.hasNext(); ) {
      Map.Entry<String, String> e = it.next();
      fields.add(e.getKey(), e.getValue());
    }
    return fields.build();
  }

  private void onContent(HttpContent c) {
    ByteBuf content = c.content();
    int n = content.readableBytes();
    boolean last = c instanceof LastHttpContent;
    ChannelPromise written = null;
    if (n > 0 && !bodyless) {
      bodyBytes += n;
      if (chunk) {
        handed += n + Integer.toHexString(n).length() + 4;
        writer.write(buffer((Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.US_ASCII)), writer.voidPromise());
        writer.write(content, writer.voidPromise());
        writer.write(buffer(CRLF), writer.voidPromise());
      } else {
        handed += n;
        written = last ? writer.newPromise() : null; // the last part tells when the whole response was written
        writer.write(content, last ? written : writer.voidPromise());
      }
    } else {
      c.release();
    }
    if (last) {
      end(written);
    }
  }

  /** The whole response was handed to the client connection ({@code written}: its last write's promise, if made). */
  private void end(ChannelPromise lastWrite) {
    state = State.DONE;
    ChannelPromise written = lastWrite;
    if (chunk) {
      written = writer.newPromise();
      handed += LAST_CHUNK.length;
      writer.write(buffer(LAST_CHUNK), written);
    } else if (written == null) {
      written = writer.newPromise();
      writer.write(io.netty.buffer.Unpooled.EMPTY_BUFFER, written);
    }
    writer.flush();
    touchClientIdle();
    written.addListener(f -> ended(f.isSuccess()));
    Channel ch = origin;
    origin = null;
    PassChannels.bind(ch, null);
    ch.config().setAutoRead(true);
    if (keepAlive) {
      PassChannels.releaseAtReadEnd(ch, pool); // whatever else this read brought is unsolicited: the channel closes
    } else {
      ch.close();
    }
    front.passEnded(this);
  }

  /** The end of one read of the origin connection: what it brought goes to the client now. */
  void originReadComplete() {
    if (state != State.BODY) {
      return;
    }
    writer.flush();
    touchClientIdle();
    if (!client.isWritable() && origin != null) {
      origin.config().setAutoRead(false); // read on once the client drained (clientWritabilityChanged)
    }
  }

  /** The client connection's writability changed. */
  void clientWritabilityChanged() {
    if (client.isWritable() && origin != null && state == State.BODY) {
      origin.config().setAutoRead(true);
    }
  }

  /** The origin connection failed or closed ({@code cause}, or {@code null} for a plain close) during this pass. */
  void originClosed(Throwable cause) {
    if (state == State.SENT || state == State.BODY) {
      originFailed(cause != null ? cause : new java.nio.channels.ClosedChannelException());
    }
  }

  /** The origin stalled past its idle timeout while sending the body. */
  void originIdle() {
    if (state == State.BODY) {
      originFailed(new TimeoutException("origin idle"));
    }
  }

  private void originFailed(Throwable cause) {
    Channel ch = origin;
    origin = null;
    if (ch != null) {
      PassChannels.bind(ch, null);
      ch.close();
    }
    if (state == State.BODY) {
      state = State.DONE;
      // mid-body: the client connection closes, what was written goes first; a short body never looks complete
      writer.flush();
      client.close();
      ended(false);
      front.passEnded(this);
      return;
    }
    if (state != State.SENT && state != State.WAITING) {
      return;
    }
    if (!retried && reused && bodyBytes == 0 && !interim && !interimSent && isClose(cause)) {
      retried = true; // the pooled connection's keep-alive race: the request never reached anyone
      state = State.WAITING;
      pool.acquire(client, this, false);
      return;
    }
    failBeforeHead(cause);
  }

  private void failBeforeHead(Throwable cause) {
    state = State.DONE;
    byte[] answer = side.failed(cause);
    handed += answer.length;
    ChannelPromise written = writer.newPromise();
    writer.write(buffer(answer), written);
    writer.flush();
    written.addListener(f -> ended(f.isSuccess()));
    front.passEnded(this);
  }

  /** The client connection closed. */
  void clientClosed() {
    if (state == State.DONE) {
      return;
    }
    boolean waited = state == State.WAITING;
    state = State.DONE;
    Channel ch = origin;
    origin = null;
    if (ch != null) {
      PassChannels.bind(ch, null);
      ch.close(); // the response is not read to its end: the connection cannot carry another
    }
    if (waited) {
      pool.cancel(client, this);
    }
    ended(false);
  }

  private void ended(boolean complete) {
    if (!ended) {
      ended = true;
      side.ended(complete, bodyBytes, handed);
    }
  }

  /** Vert.x's idle timer sits behind the encoder: it sees none of these writes. */
  private void touchClientIdle() {
    IdleStateHandler idle = clientIdle;
    if (idle != null) {
      idle.resetReadTimeout();
      if (idle.getWriterIdleTimeInMillis() > 0) {
        idle.resetWriteTimeout();
      }
    }
  }

  private ByteBuf buffer(byte[] bytes) {
    return writer.alloc().directBuffer(bytes.length).writeBytes(bytes);
  }

  private static boolean isClose(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof io.netty.channel.ChannelException || c instanceof java.io.IOException
          || c instanceof java.nio.channels.ClosedChannelException) {
        return !(c instanceof java.net.ConnectException);
      }
    }
    return false;
  }
}
