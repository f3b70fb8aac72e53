package dev.zcproxy.proxy.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * An accepted loopback connection corked for a short file hit and uncorked when its last corked body was written or
 * failed (epoll); left alone for a long body, when not installed, and on NIO, which has no TCP_CORK (the fallback).
 */
class HitCorkTest {
  private static final long BELOW = 1 << 20;

  private EventLoopGroup group;
  private final List<Channel> channels = new ArrayList<>();
  private final BlockingQueue<Channel> accepted = new ArrayBlockingQueue<>(4);

  @AfterEach
  void close() throws Exception {
    for (Channel c : channels) {
      c.close().sync();
    }
    if (group != null) {
      group.shutdownGracefully(0, 0, TimeUnit.SECONDS).sync();
    }
  }

  /** An accepted connection of the given transport. */
  private Channel accept(boolean epoll) throws Exception {
    if (epoll) {
      assumeTrue(Epoll.isAvailable(), "epoll not available here");
    }
    group = new MultiThreadIoEventLoopGroup(1, epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
    Channel server = new ServerBootstrap().group(group)
        .channel(epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class)
        .childHandler(new ChannelInitializer<>() {
          @Override
          protected void initChannel(Channel ch) {
            accepted.add(ch);
          }
        })
        .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
    channels.add(server);
    Channel client = new Bootstrap().group(group)
        .channel(epoll ? EpollSocketChannel.class : NioSocketChannel.class)
        .handler(new ChannelInitializer<>() {
          @Override
          protected void initChannel(Channel ch) {}
        })
        .connect(server.localAddress()).sync().channel();
    channels.add(client);
    Channel child = accepted.poll(10, TimeUnit.SECONDS);
    assertThat(child).isNotNull();
    channels.add(child);
    return child;
  }

  private static <T> T on(Channel ch, Callable<T> task) throws Exception {
    return ch.eventLoop().submit(task).get(10, TimeUnit.SECONDS);
  }

  private static boolean corked(Channel ch) throws Exception {
    return on(ch, () -> ((EpollSocketChannel) ch).config().isTcpCork());
  }

  @Test
  void aShortHitCorksTheConnectionUntilItsLastCorkedBodyWasWrittenOrFailed() throws Exception {
    Channel ch = accept(true);
    HitCork cork = new HitCork(BELOW);
    on(ch, () -> {
      cork.install(ch);
      return null;
    });
    assertThat(corked(ch)).isFalse();

    ChannelPromise first = on(ch, ch::newPromise);
    assertThat(on(ch, () -> HitCork.around(ch, 256 << 10, first))).isTrue();
    assertThat(corked(ch)).isTrue();
    ChannelPromise second = on(ch, ch::newPromise); // pipelined behind the first: shares its cork
    assertThat(on(ch, () -> HitCork.around(ch, 64 << 10, second))).isTrue();
    on(ch, first::setSuccess);
    assertThat(corked(ch)).as("the second body is still under way").isTrue();
    on(ch, second::setSuccess);
    assertThat(corked(ch)).as("after the last corked body").isFalse();

    ChannelPromise failed = on(ch, ch::newPromise); // a failed write lifts it too
    assertThat(on(ch, () -> HitCork.around(ch, 1, failed))).isTrue();
    assertThat(corked(ch)).isTrue();
    on(ch, () -> failed.setFailure(new IOException("reset")));
    assertThat(corked(ch)).isFalse();
  }

  @Test
  void aBodyOfTheBoundOrMoreIsNotCorked() throws Exception {
    Channel ch = accept(true);
    HitCork cork = new HitCork(BELOW);
    on(ch, () -> {
      cork.install(ch);
      return null;
    });
    ChannelPromise p = on(ch, ch::newPromise);
    assertThat(on(ch, () -> HitCork.around(ch, BELOW, p))).isFalse();
    assertThat(corked(ch)).isFalse();
  }

  @Test
  void aConnectionNotInstalledOrInstalledWhileOffIsLeftAlone() throws Exception {
    Channel ch = accept(true);
    ChannelPromise p = on(ch, ch::newPromise);
    assertThat(on(ch, () -> HitCork.around(ch, 1, p))).as("not installed").isFalse();
    HitCork off = new HitCork(0);
    assertThat(off.enabled()).isFalse();
    on(ch, () -> {
      off.install(ch);
      return null;
    });
    assertThat(on(ch, () -> HitCork.around(ch, 1, p))).as("off").isFalse();
    assertThat(corked(ch)).isFalse();
  }

  @Test
  void onNioNothingIsCorkedAndTheBodyGoesAsBefore() throws Exception {
    Channel ch = accept(false);
    HitCork cork = new HitCork(BELOW);
    on(ch, () -> {
      cork.install(ch);
      return null;
    });
    ChannelPromise p = on(ch, ch::newPromise);
    assertThat(on(ch, () -> HitCork.around(ch, 256 << 10, p))).isFalse();
    on(ch, p::setSuccess); // no listener to run, nothing thrown
  }

  @Test
  void aNegativeBoundIsRefused() {
    assertThatIllegalArgumentException().isThrownBy(() -> new HitCork(-1));
  }
}
