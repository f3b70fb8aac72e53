package dev.zcproxy.proxy.internal;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.util.AttributeKey;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.net.impl.ConnectionBase;
import io.vertx.core.net.impl.VertxHandler;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * HTTP/2 with prior knowledge (h2c, RFC 9113 §3.3) on a plain listener whose connections Vert.x set up as
 * HTTP/1.x, so that every HTTP/1 hook (strict request decoder, request-head timer, half-close) is in place
 * before the first byte, as without h2c.
 *
 * <p>Vert.x's own h2c detection ({@code setHttp2ClearTextEnabled}) builds the HTTP/1 pipeline only after the
 * first bytes and creates the connection only after the first request head was decoded, by its lenient
 * decoder: the hooks would miss the first request of every connection. Instead the listener stays HTTP/1.x
 * for Vert.x and {@link #install} puts a detector in front of the pipeline: it looks at the first 24 bytes;
 * on anything but the connection preface it steps aside and the bytes go to the HTTP/1 hooks untouched; on
 * the preface it takes the HTTP/1 codecs and hooks out and puts in the HTTP/2 handler that Vert.x's own
 * set-up code builds for this connection (as its {@code Upgrade: h2c} path does), which then gets the
 * preface and everything after it. The server's connection handler is called a second time, with the
 * HTTP/2 connection; {@link #switched} tells it apart.
 *
 * <p>The HTTP/2 handler is reached by reflection (Vert.x's per-connection initializer, held by the
 * connection factory of its HTTP/1 handler). When that is not possible, {@link #install} installs nothing,
 * returns false and says so once: the listener then speaks HTTP/1.x only, as with h2c off.
 */
public final class PriorKnowledge {
  private static final Logger LOG = LoggerFactory.getLogger(PriorKnowledge.class);
  /** The detector's name in the pipeline. */
  static final String NAME = "zcproxy-h2c-preface";
  static final byte[] PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
  private static final AttributeKey<Boolean> SWITCHED = AttributeKey.valueOf("zcproxy.h2c.switched");
  /** HTTP/1 handlers Vert.x may have put in the pipeline, taken out on the switch (as its h2c upgrade does). */
  private static final List<String> HTTP1_HANDLERS =
      List.of("webSocketExtensionHandler", "chunkedWriter", "deflater", "inflater", "httpEncoder", "httpDecoder");
  private static volatile boolean warned;

  private PriorKnowledge() {}

  /**
   * Puts the preface detector in front of {@code conn}'s pipeline; call from the server's connection handler
   * after the HTTP/1 hooks are installed. False (and a warning once) when Vert.x's HTTP/2 handling cannot be
   * reached: the connection then stays HTTP/1.x only.
   */
  public static boolean install(HttpConnection conn) {
    String why;
    try {
      why = tryInstall(conn);
    } catch (ReflectiveOperationException | RuntimeException e) {
      why = e.toString();
    }
    if (why == null) {
      return true;
    }
    if (!warned) {
      warned = true;
      LOG.warn("listen.http2-cleartext: HTTP/2 with prior knowledge unavailable on this Vert.x version ({});"
          + " plain listeners speak HTTP/1.1 only", why);
    }
    return false;
  }

  /** Whether {@code conn} is the HTTP/2 connection a detector switched a connection to (already admitted as HTTP/1). */
  public static boolean switched(HttpConnection conn) {
    return conn instanceof ConnectionBase base && Boolean.TRUE.equals(base.channel().attr(SWITCHED).get());
  }

  private static String tryInstall(HttpConnection conn) throws ReflectiveOperationException {
    if (!(conn instanceof ConnectionBase base)) {
      return "not a Vert.x connection";
    }
    Channel ch = base.channel();
    ChannelPipeline p = ch.pipeline();
    if (!(p.get("handler") instanceof VertxHandler<?> http1) || p.get("httpDecoder") == null || p.get("httpEncoder") == null) {
      return "not the HTTP/1.x pipeline expected";
    }
    Object initializer = initializerOf(http1);
    if (initializer == null) {
      return "no connection initializer";
    }
    Method build = initializer.getClass().getDeclaredMethod("buildHttp2ConnectionHandler");
    build.setAccessible(true);
    if (!ChannelHandler.class.isAssignableFrom(build.getReturnType())) {
      return "buildHttp2ConnectionHandler returns " + build.getReturnType().getName();
    }
    if (p.get(NAME) == null) {
      p.addFirst(NAME, new Detector(() -> (ChannelHandler) build.invoke(initializer)));
    }
    return null;
  }

  /** The {@code HttpServerConnectionInitializer} captured by the factory of Vert.x's HTTP/1 handler. */
  private static Object initializerOf(VertxHandler<?> handler) throws ReflectiveOperationException {
    Field f = VertxHandler.class.getDeclaredField("connectionFactory");
    f.setAccessible(true);
    Object factory = f.get(handler);
    if (factory == null) {
      return null;
    }
    for (Field captured : factory.getClass().getDeclaredFields()) {
      if (captured.getType().getName().equals("io.vertx.core.http.impl.HttpServerConnectionInitializer")) {
        captured.setAccessible(true);
        return captured.get(factory);
      }
    }
    return null;
  }

  /** Builds the HTTP/2 handler for the connection. */
  @FunctionalInterface
  interface Http2Handler {
    ChannelHandler build() throws ReflectiveOperationException;
  }

  /**
   * Holds the first bytes while they still read as the preface; then either steps aside (HTTP/1) or switches
   * the pipeline to HTTP/2. Runs on the channel's event loop.
   */
  static final class Detector extends ChannelInboundHandlerAdapter {
    private final Http2Handler http2;
    /** Bytes read so far that all match the preface, or {@code null}. */
    private ByteBuf held;

    Detector(Http2Handler http2) {
      this.http2 = http2;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
      if (!(msg instanceof ByteBuf in)) {
        ctx.fireChannelRead(msg);
        return;
      }
      ByteBuf bytes = in;
      if (held != null) {
        bytes = held.writeBytes(in);
        in.release();
        held = null;
      }
      int n = Math.min(bytes.readableBytes(), PREFACE.length);
      for (int i = 0; i < n; i++) {
        if (bytes.getByte(bytes.readerIndex() + i) != PREFACE[i]) {
          ctx.pipeline().remove(this);
          ctx.fireChannelRead(bytes); // HTTP/1: exactly the bytes read, to the hooks behind
          return;
        }
      }
      if (n < PREFACE.length) {
        held = bytes == in ? ctx.alloc().buffer(PREFACE.length).writeBytes(in) : bytes;
        if (bytes == in) {
          in.release();
        }
        return;
      }
      switchToHttp2(ctx);
      ctx.fireChannelRead(bytes); // the preface and whatever followed it, to the HTTP/2 handler
    }

    private void switchToHttp2(ChannelHandlerContext ctx) throws ReflectiveOperationException {
      ChannelPipeline p = ctx.pipeline();
      Channel ch = ctx.channel();
      ChannelHandler h2 = http2.build();
      ch.attr(SWITCHED).set(Boolean.TRUE);
      ClientChannels.leaveHttp1(p);
      if (p.get(HalfClose.NAME) != null) {
        p.remove(HalfClose.NAME);
        ch.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, false);
      }
      for (String name : HTTP1_HANDLERS) {
        if (p.get(name) != null) {
          p.remove(name);
        }
      }
      p.replace(VertxHandler.class, "handler", h2);
      p.remove(this);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
      if (held != null) {
        held.release();
        held = null;
      }
    }
  }
}
