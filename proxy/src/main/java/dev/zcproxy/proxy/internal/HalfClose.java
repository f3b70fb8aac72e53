package dev.zcproxy.proxy.internal;

import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.impl.VertxConnection;
import java.util.concurrent.TimeUnit;

/**
 * Lets an HTTP/1.x client that half-closes its connection after its request ({@code shutdown(SHUT_WR)},
 * {@code nc -N}) still get its response, as nginx does: the connection then closes once every request
 * already received has been answered.
 *
 * <p>Netty closes a channel when its input ends unless {@code ALLOW_HALF_CLOSURE} is set, and Vert.x 5 has
 * no option for it. {@link #install} sets it on each new server connection and adds a handler that turns
 * the end of input into Vert.x's graceful connection shutdown (answer what is in flight, then close). A
 * client that ends its input in the middle of a request (head or body incomplete) is closed at once, as
 * before. When the connection is not the Vert.x HTTP/1.x connection this expects, nothing is installed and
 * a half-closing client is disconnected (the Netty default).
 */
public final class HalfClose {
  /** The name of the handler in the channel pipeline. */
  static final String NAME = "zcproxy-half-close";
  /** Vert.x's graceful shutdown forces a close after this; stalled responses end sooner by the idle timeout. */
  private static final long SHUTDOWN_BOUND_HOURS = 24;

  private HalfClose() {}

  /**
   * Makes a half-closed input answer, then close, on this server connection; returns whether it could
   * (false: the connection is not plain Vert.x HTTP/1.x, left as it is). Call from the server's connection
   * handler, before the connection reads.
   */
  public static boolean install(HttpConnection conn) {
    if (!(conn instanceof VertxConnection vc)) {
      return false;
    }
    Channel ch = vc.channelHandlerContext().channel();
    ChannelPipeline p = ch.pipeline();
    if (!(ch instanceof DuplexChannel) || p.get("httpDecoder") == null || p.get("handler") == null || p.get(NAME) != null) {
      return false;
    }
    p.addBefore("handler", NAME, new Handler(conn));
    ch.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
    return true;
  }

  /**
   * Restores Netty's close-on-end-of-input before a request's connection becomes a raw tunnel, whose
   * code handles half-closure itself; a connection whose input already ended is closed.
   */
  public static void leaveHttp(HttpServerRequest req) {
    if (!(req.connection() instanceof VertxConnection vc)) {
      return;
    }
    Channel ch = vc.channelHandlerContext().channel();
    Runnable leave = () -> {
      if (ch.pipeline().get(NAME) == null) {
        return;
      }
      ch.pipeline().remove(NAME);
      ch.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, false);
      if (((DuplexChannel) ch).isInputShutdown()) {
        ch.close();
      }
    };
    if (ch.eventLoop().inEventLoop()) {
      leave.run();
    } else {
      ch.eventLoop().execute(leave);
    }
  }

  /** Tracks whether a request is still arriving, and acts on the end of input. */
  private static final class Handler extends ChannelDuplexHandler {
    private final HttpConnection conn;
    /** A request head was read and its body has not ended yet. */
    private boolean requestOpen;

    Handler(HttpConnection conn) {
      this.conn = conn;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof HttpRequest) {
        requestOpen = true;
      }
      if (msg instanceof LastHttpContent) {
        requestOpen = false;
      }
      ctx.fireChannelRead(msg);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt instanceof ChannelInputShutdownEvent) {
        if (requestOpen) {
          ctx.close(); // the request can never complete: as without half-closure
        } else if (!(ctx.pipeline().get(FrontHits.NAME) instanceof FrontHits front
            && front.afterPasses(() -> conn.shutdown(SHUTDOWN_BOUND_HOURS, TimeUnit.HOURS)))) {
          // Answers the requests already read (pipelined ones too), then closes; closes now when idle (a pass
          // answered in front of Vert.x is waited for first).
          conn.shutdown(SHUTDOWN_BOUND_HOURS, TimeUnit.HOURS);
        }
      }
      ctx.fireUserEventTriggered(evt);
    }
  }
}
