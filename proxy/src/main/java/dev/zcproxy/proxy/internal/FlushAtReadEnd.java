package dev.zcproxy.proxy.internal;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/**
 * An inbound handler that writes answers without flushing and flushes once at the end of the read, so the
 * answers to one read's requests leave in one write; before an end of input (a half-close may close the
 * connection) what was written goes out first. Owned by its channel's event loop.
 */
abstract class FlushAtReadEnd extends ChannelInboundHandlerAdapter {
  private boolean needsFlush;

  /** Notes that an answer was written and is to be flushed at the end of this read. */
  final void flushAtReadEnd() {
    needsFlush = true;
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    flush(ctx);
    ctx.fireChannelReadComplete();
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
    flush(ctx); // an end of input (half-close) may close the connection: what was answered goes out first
    ctx.fireUserEventTriggered(evt);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    needsFlush = false;
    ctx.fireChannelInactive();
  }

  private void flush(ChannelHandlerContext ctx) {
    if (needsFlush) {
      needsFlush = false;
      ctx.flush();
    }
  }
}
