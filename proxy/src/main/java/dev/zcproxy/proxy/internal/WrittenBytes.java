package dev.zcproxy.proxy.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufHolder;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.channel.FileRegion;
import io.netty.handler.stream.ChunkedInput;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.net.impl.ConnectionBase;

/**
 * Counts the body bytes a client connection was really handed, by how: as {@link FileRegion}s (the kernel
 * sends them with {@code sendfile(2)}) or as buffers (copied through the heap), so metrics report what
 * happened rather than what was chosen. Vert.x falls back to a {@code ChunkedNioFile} for a sendfile on a
 * TLS or traffic-shaped connection, which this counts as buffers.
 *
 * <p>One Netty handler per HTTP/1.x client channel, just in front of Vert.x's connection handler: every
 * write Vert.x makes passes it before the HTTP encoder, so response heads are not counted (a head
 * carrying the body, as a RAM-tier hit, counts its body) and nothing is copied. Bytes spliced into the
 * socket never pass the pipeline, so they appear in neither count. The counts belong to the channel's
 * event loop. When the connection is not the Vert.x connection this expects (HTTP/2, another
 * implementation), {@link #of} returns {@code null} and callers keep the chosen mode.
 */
public final class WrittenBytes extends ChannelOutboundHandlerAdapter {
  /** The name of the handler in the channel pipeline. */
  static final String NAME = "zcproxy-written-bytes";
  private long fileRegionBytes;
  private long bufferBytes;

  private WrittenBytes() {}

  /** Bytes handed over as file regions since the connection opened. */
  public long fileRegionBytes() {
    return fileRegionBytes;
  }

  /** Body bytes handed over as buffers (or chunked file input) since the connection opened. */
  public long bufferBytes() {
    return bufferBytes;
  }

  /**
   * The counter of {@code conn}, installed on first use; {@code null} when it cannot be (not a Vert.x
   * HTTP/1.x connection). Call on the connection's event loop.
   */
  public static WrittenBytes of(HttpConnection conn) {
    if (!(conn instanceof ConnectionBase base)) {
      return null;
    }
    ChannelHandlerContext vertx = base.channelHandlerContext();
    Channel ch = base.channel();
    ChannelPipeline p = ch.pipeline();
    if (p.get(NAME) instanceof WrittenBytes installed) {
      return installed;
    }
    if (ClientChannels.isHttp2(conn) || vertx == null || !ch.isActive() || p.context(vertx.name()) != vertx || !ch.eventLoop().inEventLoop()) {
      return null;
    }
    WrittenBytes counter = new WrittenBytes();
    try {
      p.addBefore(vertx.name(), NAME, counter);
    } catch (RuntimeException e) {
      return null; // the pipeline changed under us (closing): the caller keeps the chosen mode
    }
    return counter;
  }

  /** Counts bytes written past this handler (in front of the HTTP encoder) as if they had passed it. */
  void counted(long fileRegionBytes, long bufferBytes) {
    this.fileRegionBytes += fileRegionBytes;
    this.bufferBytes += bufferBytes;
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
    if (msg instanceof FileRegion r) {
      fileRegionBytes += r.count();
    } else if (msg instanceof ByteBufHolder h) {
      bufferBytes += h.content().readableBytes(); // HttpContent, an assembled head with its body
    } else if (msg instanceof ByteBuf b) {
      bufferBytes += b.readableBytes();
    } else if (msg instanceof ChunkedInput<?> in) {
      bufferBytes += Math.max(0, in.length()); // a sendfile Vert.x turned into a chunked copy
    }
    ctx.write(msg, promise);
  }
}
