package dev.zcproxy.proxy.internal;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.AttributeKey;

/**
 * Admits client connections at {@code accept}, on the listener's own event loop, ahead of Netty's acceptor: each accepted
 * channel takes a slot, given back when it closes; the one that takes the last slot turns the listener's auto-read off
 * there and then, which ends the accept batch under way (from another thread Netty would accept one more batch).
 * Connections beyond the bound then wait in the kernel's accept queue and hold no descriptor of the proxy. One accepted
 * anyway (Netty's acceptor resumes by itself a second after an {@code EMFILE}; another listener took the last slot) is
 * closed before it is registered. State: the slots' owner's (thread-safe); this handler only runs on the listener's loop.
 */
@ChannelHandler.Sharable
final class AcceptGate extends ChannelInboundHandlerAdapter {
  static final String NAME = "zc-accept-gate";
  /** Set on a channel this gate counted: the connection handler must not count it again. */
  static final AttributeKey<Boolean> COUNTED = AttributeKey.valueOf("zc-accept-counted");

  private final ClientChannels.Slots slots;

  AcceptGate(ClientChannels.Slots slots) {
    this.slots = slots;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof Channel child)) {
      ctx.fireChannelRead(msg);
      return;
    }
    int taken = slots.take();
    if (taken == ClientChannels.Slots.REFUSED) {
      ctx.channel().config().setAutoRead(false);
      child.unsafe().closeForcibly(); // not registered yet: no event, no handler ran
      return;
    }
    child.attr(COUNTED).set(Boolean.TRUE);
    child.closeFuture().addListener(f -> slots.give());
    if (taken == ClientChannels.Slots.FULL) {
      ctx.channel().config().setAutoRead(false); // on this loop: no further accept in this batch
    }
    ctx.fireChannelRead(child);
  }
}
