package dev.zcproxy.proxy.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.CombinedChannelDuplexHandler;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestEncoder;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseDecoder;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.net.impl.VertxConnection;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP/1.1 framing of one pooled origin connection, in place of the codec Vert.x installs: it keeps
 * the connection's responses paired with its requests and closes it when that pairing breaks.
 *
 * <h2>Design notes</h2>
 * <ul>
 *   <li><b>Unsolicited bytes.</b> Bytes that arrive while no request is outstanding, or after the end of a
 *       response in the same read (an origin that sent more than its Content-Length), belong to no request
 *       (RFC 9112 §9.3 allows no such thing). The response that was complete is delivered as it is, marked
 *       {@code Connection: close} so that Vert.x does not return the connection to its pool, and the
 *       connection is closed; a request is never written after that (nothing is sent on a dirty connection,
 *       so nothing has to be sent twice).
 *   <li><b>Interim responses.</b> A 1xx other than 101 is not the response (RFC 9110 §15.2): it is taken
 *       out of the stream here and handed to the listener of the request in progress ({@link #onInterim});
 *       Vert.x only ever sees the final response. 100 Continue is dropped (the proxy answers its clients'
 *       {@code Expect} itself). A 101 ends the connection's HTTP: it is passed on and the connection is
 *       closed after it.
 *   <li><b>Spliced bodies.</b> A body moved past this codec with {@code splice(2)} ({@link BodySplice}) was
 *       never decoded: {@link #bodySpliced} then ends the response as if its last byte had been decoded
 *       (the decoder reset, the end handed to Vert.x), so the connection goes back to the pool, unless a
 *       byte beyond the spliced length is already waiting on the socket, or the origin closed it: then it
 *       is closed, as for unsolicited bytes above.
 *   <li><b>Forwarded bodies.</b> While a {@link BodyForward} holds the current response, the guard hands it
 *       each decoded body part (the pooled buffer as it is) instead of passing it to Vert.x; the response's
 *       end still reaches Vert.x, without body bytes, so the pairing and pooling above are unchanged.
 *   <li><b>HEAD.</b> Netty's client codec pairs requests and responses by polling a queue once per
 *       response, 1xx included, so a HEAD answered with a 1xx first reads the final response's body that
 *       never comes; here the pairing skips 1xx responses.
 * </ul>
 *
 * <p>Installed by {@link #install} from the client's connection handler; when the connection is not the
 * Vert.x HTTP/1.x connection this expects nothing is installed and Vert.x's own codec stays (1xx other
 * than 100 and 103 are then taken for the final response: the caller must reject any final 1xx).
 */
public final class OriginCodec extends CombinedChannelDuplexHandler<OriginCodec.Decoder, OriginCodec.Encoder> {
  private static final Logger LOG = LoggerFactory.getLogger(OriginCodec.class);
  static final String GUARD = "zcproxy-origin-guard";

  /** Receives the interim responses that come before a request's final response. */
  @FunctionalInterface
  public interface InterimListener {
    /** Called on the origin connection's event loop, before the final response head reaches Vert.x. */
    void interim(int status, String reason, MultiMap headers);
  }

  /** Methods of the requests written and not yet answered in full, oldest first. */
  private final ArrayDeque<HttpMethod> outstanding = new ArrayDeque<>();
  /** Set once unsolicited bytes were seen: nothing more is read or written. */
  private boolean dirty;
  /** Requests written on this connection so far (read by other threads: {@link #reused}). */
  private volatile int written;
  private InterimListener listener;
  private final Decoder decoder;
  /** The connection this codec frames. */
  private final Channel channel;

  private OriginCodec(HttpClientOptions options, Channel channel) {
    this.channel = channel;
    decoder = new Decoder(new HttpDecoderConfig()
        .setMaxInitialLineLength(options.getMaxInitialLineLength())
        .setMaxHeaderSize(options.getMaxHeaderSize())
        .setMaxChunkSize(options.getMaxChunkSize())
        .setInitialBufferSize(options.getDecoderInitialBufferSize()));
    init(decoder, new Encoder());
  }

  /**
   * Replaces the codec of a new origin connection with this one; returns whether it could (false: the
   * connection is left with Vert.x's codec). Call from the client's connection handler, before any request.
   */
  public static boolean install(HttpConnection conn, HttpClientOptions options) {
    if (!(conn instanceof VertxConnection vc)) {
      return false;
    }
    ChannelPipeline p = vc.channelHandlerContext().pipeline();
    ChannelHandler current = p.get("codec");
    if (!(current instanceof HttpClientCodec) || p.get("handler") == null) {
      return false;
    }
    OriginCodec codec = new OriginCodec(options, p.channel());
    p.replace("codec", "codec", codec);
    p.addBefore("handler", GUARD, codec.new Guard());
    return true;
  }

  /**
   * Routes the interim responses of the next request on {@code conn} to {@code listener}; returns false
   * when the connection has no {@link OriginCodec}. Call before the request is written.
   */
  public static boolean onInterim(HttpConnection conn, InterimListener listener) {
    OriginCodec codec = of(conn);
    if (codec == null) {
      return false;
    }
    codec.interimTo(listener);
    return true;
  }

  /**
   * The codec of {@code conn}, or {@code null} when it has none (it kept Vert.x's): one look into the pipeline for
   * both {@link #interimTo} and {@link #carriedRequests} before a request.
   */
  public static OriginCodec of(HttpConnection conn) {
    return conn instanceof VertxConnection vc && vc.channelHandlerContext().pipeline().get("codec") instanceof OriginCodec codec
        ? codec : null;
  }

  /** As {@link #onInterim(HttpConnection, InterimListener)} on this codec's connection. */
  public void interimTo(InterimListener l) {
    Channel ch = channel;
    if (ch.eventLoop().inEventLoop()) {
      listener = l;
    } else {
      ch.eventLoop().execute(() -> listener = l); // runs before the request's own write
    }
  }

  /** Whether this codec's connection already carried a request, as {@link #reused(HttpConnection)}. */
  public boolean carriedRequests() {
    return written > 0;
  }

  /**
   * Whether {@code conn} already carried a request (a pooled connection reused), as far as its {@link
   * OriginCodec} knows; false for a new connection or one without the codec. Call before writing the next request.
   */
  public static boolean reused(HttpConnection conn) {
    return conn instanceof VertxConnection vc
        && vc.channelHandlerContext().pipeline().get("codec") instanceof OriginCodec codec && codec.written > 0;
  }

  /** Where {@link #bodySpliced} reads one probe byte; its contents are never looked at. */
  private static final java.nio.ByteBuffer PROBE = java.nio.ByteBuffer.allocateDirect(8);

  /**
   * Ends the response whose remaining body was just spliced out of {@code ch} (exactly its declared
   * length) and returns whether the connection went back to the pool; false means the caller must close
   * it (no {@link OriginCodec}, not epoll, bytes beyond the body already waiting, the origin closed, or
   * the response asked for close). Call on the channel's event loop, once the splice completed.
   */
  public static boolean bodySpliced(Channel ch) {
    if (!(ch.pipeline().get("codec") instanceof OriginCodec codec) || codec.dirty || !ch.isActive()
        || !(ch instanceof io.netty.channel.epoll.AbstractEpollStreamChannel epoll) || codec.decoder.leftover() > 0) {
      return false;
    }
    int n;
    try {
      io.netty.channel.unix.FileDescriptor fd = epoll.fd();
      n = fd.read(PROBE, 0, 1); // non-blocking: 0 = nothing waiting, -1 = closed, 1 = a byte too many
    } catch (java.io.IOException e) {
      return false;
    }
    if (n != 0) {
      codec.unsolicited(ch.pipeline().context(codec), Math.max(0, n));
      return false;
    }
    codec.decoder.reset(); // the body went past it: the next bytes start a new response
    ChannelHandlerContext cctx = ch.pipeline().context(codec);
    cctx.fireChannelRead(LastHttpContent.EMPTY_LAST_CONTENT);
    cctx.fireChannelReadComplete();
    return ch.isActive() && !codec.dirty;
  }

  /** A request refused before any byte of it was written, because its connection had to be closed. */
  public static final class UnsentRequestException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    UnsentRequestException() {
      super("request not sent: the origin connection sent unsolicited bytes and was closed");
    }
  }

  /** Whether {@code t} (or a cause) says the request never left: sending it again cannot repeat it. */
  public static boolean notSent(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof UnsentRequestException) {
        return true;
      }
    }
    return false;
  }

  private void unsolicited(ChannelHandlerContext ctx, int bytes) {
    if (!dirty) {
      LOG.debug("closing origin connection {}: {} unsolicited bytes", ctx.channel().remoteAddress(), bytes);
    }
    dirty = true;
    ctx.close();
  }

  /** Response framing, with HEAD paired past 1xx responses and unsolicited bytes refused. */
  final class Decoder extends HttpResponseDecoder {
    /** The names and status-line words of this connection's last responses, reused when the same bytes come again. */
    private final RepeatedNames repeated = new RepeatedNames();

    Decoder(HttpDecoderConfig config) {
      super(config);
    }

    @Override
    protected io.netty.util.AsciiString splitHeaderName(byte[] sb, int start, int length) {
      return repeated.name(sb, start, length);
    }

    @Override
    protected String splitFirstWordInitialLine(byte[] sb, int start, int length) {
      return repeated.word(0, sb, start, length);
    }

    @Override
    protected String splitSecondWordInitialLine(byte[] sb, int start, int length) {
      return repeated.word(1, sb, start, length);
    }

    @Override
    protected String splitThirdWordInitialLine(byte[] sb, int start, int length) {
      return repeated.word(2, sb, start, length);
    }

    /** Bytes received and not yet decoded. */
    int leftover() {
      return actualReadableBytes();
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
      if (dirty || outstanding.isEmpty()) {
        int n = in.readableBytes();
        in.skipBytes(n);
        unsolicited(ctx, n);
        return;
      }
      super.decode(ctx, in, out);
    }

    @Override
    protected boolean isContentAlwaysEmpty(HttpMessage msg) {
      if (((HttpResponse) msg).status().code() >= 200 && HttpMethod.HEAD.equals(outstanding.peek())) {
        return true;
      }
      return super.isContentAlwaysEmpty(msg);
    }
  }

  /** Request framing, counting the requests written; refuses to write on a dirty connection. */
  final class Encoder extends HttpRequestEncoder {
    @Override
    protected void encodeInitialLine(ByteBuf buf, HttpRequest request) throws Exception {
      if (dirty) {
        throw new UnsentRequestException();
      }
      outstanding.add(request.method());
      written++;
      super.encodeInitialLine(buf, request);
    }
  }

  /**
   * Sits between this codec and Vert.x: takes interim responses out, and ends the pairing of each
   * response, checking for bytes beyond it.
   */
  final class Guard extends ChannelInboundHandlerAdapter {
    /** The final response whose body is being read. */
    private HttpResponse current;
    /** The next LastHttpContent ends an interim response: not passed on. */
    private boolean interimEnd;
    /** Between a read's first message and its end. */
    private boolean reading;
    /** Body parts of {@link #current} passed to Vert.x. */
    private int partsToVertx;
    /** Takes the body parts of {@link #current} instead of Vert.x ({@link BodyForward}); null when Vert.x does. */
    private BodyForward forward;
    /** The client channel's gate a forward wrote through: flushed at the end of this read. */
    private BodyForward.Gate gate;

    /** Whether a {@link BodyForward} may take the rest of the current response's body: Vert.x has none of it. */
    boolean canForward() {
      return reading && current != null && partsToVertx == 0 && forward == null && !dirty
          && current.decoderResult().isSuccess();
    }

    void forward(BodyForward f, BodyForward.Gate g) {
      forward = f;
      gate = g;
    }

    /**
     * Hands a body part to the forward; returns what is still to pass to Vert.x ({@code null}: nothing).
     * The end goes on without its body bytes (and the forward ends), so Vert.x ends the response.
     */
    private Object forwarded(BodyForward f, HttpContent part) {
      if (!(part instanceof LastHttpContent last)) {
        if (part.decoderResult().isSuccess()) {
          f.part(part);
          return null;
        }
        forward = null; // Vert.x reports the failure
        f.ended();
        return part;
      }
      forward = null;
      ByteBuf body = last.content();
      if (!last.decoderResult().isSuccess() || !body.isReadable()) {
        f.ended();
        return last;
      }
      f.part(new DefaultHttpContent(body)); // the body bytes change owner; the end goes on empty
      f.ended();
      return last.trailingHeaders().isEmpty() ? LastHttpContent.EMPTY_LAST_CONTENT
          : new DefaultLastHttpContent(Unpooled.EMPTY_BUFFER, last.trailingHeaders());
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      reading = false;
      BodyForward.Gate g = gate;
      if (g != null) {
        g.uncork(); // the head, the parts and the end written in this read go out in one write
        BodyForward f = forward;
        if (f != null) {
          f.readEnded();
        } else {
          gate = null;
        }
      }
      ctx.fireChannelReadComplete();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
      reading = false;
      BodyForward f = forward;
      forward = null;
      if (f != null) {
        f.ended(); // Vert.x fails the response: the client is aborted
      }
      BodyForward.Gate g = gate;
      gate = null;
      if (g != null) {
        g.uncork();
      }
      ctx.fireChannelInactive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      reading = true;
      BodyForward f = forward;
      if (f != null && msg instanceof HttpContent part) {
        msg = forwarded(f, part);
        if (msg == null) {
          return;
        }
      }
      if (msg instanceof HttpResponse r && r.status().code() < 200 && r.status().code() != 101) {
        interimEnd = true;
        InterimListener l = listener;
        if (l != null && r.status().code() != 100 && r.decoderResult().isSuccess()) {
          MultiMap headers = MultiMap.caseInsensitiveMultiMap();
          for (Map.Entry<String, String> e : r.headers()) {
            headers.add(e.getKey(), e.getValue());
          }
          try {
            l.interim(r.status().code(), r.status().reasonPhrase(), headers);
          } catch (RuntimeException e) {
            LOG.debug("interim response listener failed", e);
          }
        }
        ReferenceCountUtil.release(msg);
        return;
      }
      if (msg instanceof HttpResponse r) {
        current = r;
        listener = null;
        partsToVertx = 0;
      } else if (!(msg instanceof LastHttpContent) && msg instanceof HttpContent) {
        partsToVertx++;
      }
      if (msg instanceof LastHttpContent last) {
        if (interimEnd) {
          interimEnd = false;
          last.release();
          return;
        }
        outstanding.poll();
        HttpResponse done = current;
        current = null;
        int extra = decoder.leftover();
        if (done != null && (extra > 0 || done.status().code() == 101)) {
          // Seen by Vert.x when this response ends: the connection does not go back to the pool.
          done.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
          dirty = true;
          ctx.fireChannelRead(msg);
          unsolicited(ctx, extra);
          return;
        }
      }
      ctx.fireChannelRead(msg);
    }
  }
}
