package dev.zcproxy.proxy.internal;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.util.ReferenceCountUtil;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.impl.VertxHttpRequestDecoder;
import io.vertx.core.net.impl.ConnectionBase;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Vert.x's HTTP/1.x request decoder made strict where Netty is lenient about framing: a request with
 * both {@code Content-Length} and {@code Transfer-Encoding} is invalid (Netty silently drops the
 * length on HTTP/1.1), and a chunked body whose chunk size is malformed or overflows (Netty 4.2 reads
 * {@code 10000000000000000} as 0) ends the body there and discards everything after it on the
 * connection, so no byte behind it is ever parsed as a request.
 *
 * <p>Vert.x answers a malformed chunk by closing the connection with no response; here the body ends
 * normally instead, {@link #bodyRejected} says why, and the handler answers 400 and closes.
 *
 * <p>Installed per connection by {@link #install}, which falls back to Vert.x's own decoder (and says
 * so once) when the pipeline is not what it expects; the handler's own checks still apply then.
 */
public final class StrictRequestDecoder extends VertxHttpRequestDecoder {
  private static final Logger LOG = LoggerFactory.getLogger(StrictRequestDecoder.class);
  private static volatile boolean warned;

  private static final java.lang.invoke.VarHandle STATE;
  private static final java.lang.invoke.VarHandle MESSAGE;
  private static final java.lang.invoke.VarHandle RESET_REQUESTED;
  private static final Object SKIP_CONTROL_CHARS;

  static {
    java.lang.invoke.VarHandle state = null;
    java.lang.invoke.VarHandle message = null;
    java.lang.invoke.VarHandle reset = null;
    Object start = null;
    try {
      java.lang.invoke.MethodHandles.Lookup l = java.lang.invoke.MethodHandles.privateLookupIn(
          io.netty.handler.codec.http.HttpObjectDecoder.class, java.lang.invoke.MethodHandles.lookup());
      Class<?> states = Class.forName("io.netty.handler.codec.http.HttpObjectDecoder$State");
      state = l.findVarHandle(io.netty.handler.codec.http.HttpObjectDecoder.class, "currentState", states);
      message = l.findVarHandle(io.netty.handler.codec.http.HttpObjectDecoder.class, "message", HttpMessage.class);
      reset = l.findVarHandle(io.netty.handler.codec.http.HttpObjectDecoder.class, "resetRequested",
          java.util.concurrent.atomic.AtomicBoolean.class);
      for (Object c : states.getEnumConstants()) {
        if (((Enum<?>) c).name().equals("SKIP_CONTROL_CHARS")) {
          start = c;
        }
      }
    } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
      LOG.debug("the decoder's state cannot be read: raw-byte hits off", e);
    }
    STATE = start == null ? null : state;
    MESSAGE = message;
    RESET_REQUESTED = reset;
    SKIP_CONTROL_CHARS = start;
  }

  /** Why the last request body was cut short, or {@code null}. */
  private String rejected;
  /** After a rejection: every further byte on the connection is dropped. */
  private boolean discarding;
  private final ChunkScanner chunks = new ChunkScanner();

  /** The connection's limits ({@code listen.max-initial-line}, {@code listen.max-header-size}). */
  final int maxInitialLine;
  final int maxHeaderSize;

  StrictRequestDecoder(HttpServerOptions options) {
    super(options);
    this.maxInitialLine = options.getMaxInitialLineLength();
    this.maxHeaderSize = options.getMaxHeaderSize();
  }

  /** Replaces the connection's request decoder with a strict one; false (and a warning once) when it cannot. */
  public static boolean install(HttpConnection conn, HttpServerOptions options) {
    try {
      if (conn instanceof ConnectionBase c) {
        Channel ch = c.channel();
        ChannelHandler current = ch.pipeline().get("httpDecoder");
        if (current instanceof VertxHttpRequestDecoder && !(current instanceof StrictRequestDecoder)) {
          ch.pipeline().replace("httpDecoder", "httpDecoder", new StrictRequestDecoder(options));
          return true;
        }
      }
    } catch (RuntimeException e) {
      LOG.debug("could not install the strict request decoder", e);
    }
    if (!warned) {
      warned = true;
      LOG.warn("strict request framing checks unavailable on this Vert.x version; the handler's checks still apply");
    }
    return false;
  }

  /** Why the body of the request in progress on {@code req}'s connection was cut short, or {@code null}. */
  public static String bodyRejected(HttpServerRequest req) {
    if (req.connection() instanceof ConnectionBase c && c.channel().pipeline().get("httpDecoder") instanceof StrictRequestDecoder d) {
      return d.rejected;
    }
    return null;
  }

  /** Whether this Netty can tell {@link #atRequestStart}: else the decoder's state is unknown and never "at start". */
  static boolean stateReadable() {
    return STATE != null && MESSAGE != null && RESET_REQUESTED != null;
  }

  /**
   * Whether the decoder holds nothing of a request: waiting for the first byte of a head, no bytes kept, no
   * message half read, no body being read or discarded, no reset pending, not given up on the connection (bad
   * message, rejected body, upgrade). Only then may bytes in front of it be answered without it.
   */
  boolean atRequestStart() {
    if (STATE == null || discarding || chunks.active() || STATE.get(this) != SKIP_CONTROL_CHARS || MESSAGE.get(this) != null
        || ((java.util.concurrent.atomic.AtomicBoolean) RESET_REQUESTED.get(this)).get()) {
      return false;
    }
    ByteBuf held = internalBuffer();
    return !held.isReadable();
  }

  @Override
  protected void handleTransferEncodingChunkedWithContentLength(HttpMessage message) {
    // RFC 9112 §6.3: ought to be handled as an error; a proxy that forwards it invites smuggling.
    throw new IllegalArgumentException("both Content-Length and Transfer-Encoding");
  }

  /**
   * A Connection field that lists {@code close} among other options ({@code close, x-secret}) gets a field line of
   * its own, {@code Connection: close}: the same list (RFC 9110 5.3: field lines of one name are one list), which
   * Vert.x, matching whole values only, then also reads as close, so the connection ends with the response
   * (RFC 9112 9.6) instead of at the idle timeout.
   */
  static void closeListed(HttpRequest r) {
    io.netty.handler.codec.http.HttpHeaders h = r.headers();
    if (h.contains(HttpHeaderNames.CONNECTION) && !h.contains(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE, true)
        && h.containsValue(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE, true)) {
      h.add(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    }
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf buffer, List<Object> out) throws Exception {
    if (discarding) {
      buffer.skipBytes(buffer.readableBytes());
      return;
    }
    int from = buffer.readerIndex();
    int outFrom = out.size();
    boolean inChunkedBody = chunks.active();
    super.decode(ctx, buffer, out);
    String problem = null;
    if (inChunkedBody) {
      problem = chunks.consume(buffer, from, buffer.readerIndex());
    }
    for (int i = outFrom; i < out.size() && problem == null; i++) {
      Object o = out.get(i);
      if (o instanceof HttpContent c && !(o instanceof HttpMessage) && !c.decoderResult().isSuccess()) {
        problem = "invalid chunked body: " + c.decoderResult().cause();
      } else if (o instanceof HttpRequest r && r.decoderResult().isSuccess()) {
        closeListed(r);
        if (HttpUtil.isTransferEncodingChunked(r)) {
          chunks.start();
        }
      }
    }
    if (problem != null) {
      // Keep the head (already passed on or in this batch), drop this batch's body parts, end the body.
      for (int i = out.size() - 1; i >= outFrom; i--) {
        if (out.get(i) instanceof HttpContent && !(out.get(i) instanceof HttpMessage)) {
          ReferenceCountUtil.release(out.remove(i));
        }
      }
      out.add(new DefaultLastHttpContent());
      rejected = problem;
      discarding = true;
      chunks.stop();
      buffer.skipBytes(buffer.readableBytes());
    }
  }

  /**
   * Follows a chunked body over the bytes the decoder consumed, to check each chunk-size line the way
   * RFC 9112 §7.1 defines it (hex digits that fit the decoder's int) before trusting Netty's reading.
   */
  static final class ChunkScanner {
    private enum State { OFF, SIZE, DATA, DELIMITER, TRAILER }

    private State state = State.OFF;
    private long remaining;
    private final StringBuilder line = new StringBuilder();

    boolean active() {
      return state != State.OFF;
    }

    void start() {
      state = State.SIZE;
      line.setLength(0);
    }

    void stop() {
      state = State.OFF;
    }

    /** Feeds bytes [from, to) of {@code buf}; returns a problem, or null. */
    String consume(ByteBuf buf, int from, int to) {
      for (int i = from; i < to && state != State.OFF; i++) {
        byte b = buf.getByte(i);
        switch (state) {
          case SIZE -> {
            if (b == '\n') {
              String problem = sizeLine();
              if (problem != null) {
                return problem;
              }
            } else if (line.length() < 1024) {
              line.append((char) (b & 0xff));
            } else {
              return "chunk-size line too long";
            }
          }
          case DATA -> {
            long n = Math.min(remaining, to - i);
            remaining -= n;
            i += (int) n - 1;
            if (remaining == 0) {
              state = State.DELIMITER;
            }
          }
          case DELIMITER -> {
            if (b == '\n') {
              state = State.SIZE;
              line.setLength(0);
            }
          }
          case TRAILER -> {
            if (b == '\n') {
              boolean empty = line.length() == 0 || (line.length() == 1 && line.charAt(0) == '\r');
              line.setLength(0);
              if (empty) {
                state = State.OFF;
              }
            } else if (line.length() < 2) {
              line.append((char) (b & 0xff));
            }
          }
          default -> { }
        }
      }
      return null;
    }

    private String sizeLine() {
      String s = line.toString();
      line.setLength(0);
      int end = 0;
      while (end < s.length() && Character.digit(s.charAt(end), 16) >= 0) {
        end++;
      }
      String rest = s.substring(end);
      int significant = end;
      for (int i = 0; i < end - 1 && s.charAt(i) == '0'; i++) {
        significant--;
      }
      if (end == 0 || significant > 8 || !(rest.isEmpty() || rest.equals("\r") || rest.charAt(0) == ';'
          || rest.charAt(0) == ' ' || rest.charAt(0) == '\t')) {
        return "invalid chunk size";
      }
      long size = Long.parseLong(s.substring(0, end), 16);
      if (size > Integer.MAX_VALUE) {
        return "chunk size too large";
      }
      remaining = size;
      state = size == 0 ? State.TRAILER : State.DATA;
      return null;
    }
  }
}
