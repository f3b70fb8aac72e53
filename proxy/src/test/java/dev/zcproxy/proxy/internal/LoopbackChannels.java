package dev.zcproxy.proxy.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/**
 * Real accepted loopback connections of one transport (epoll, skipped where it is missing, or NIO) on one event loop,
 * as a listener's connections may be; {@link #close} closes them and the loop. Used by one test at a time.
 */
final class LoopbackChannels implements AutoCloseable {
  private final EventLoopGroup group;
  private final Channel server;
  private final List<Channel> channels = new ArrayList<>();
  private final BlockingQueue<Channel> accepted = new ArrayBlockingQueue<>(16);
  private final boolean epoll;

  LoopbackChannels(boolean epoll) throws InterruptedException {
    if (epoll) {
      assumeTrue(Epoll.isAvailable(), "epoll not available here");
    }
    this.epoll = epoll;
    group = new MultiThreadIoEventLoopGroup(1, epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
    server = new ServerBootstrap().group(group)
        .channel(epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class)
        .childHandler(new ChannelInitializer<>() {
          @Override
          protected void initChannel(Channel ch) {
            accepted.add(ch);
          }
        })
        .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
    channels.add(server);
  }

  /** The proxy's side of a new connection from a client on loopback. */
  Channel accept() throws InterruptedException {
    Channel client = new Bootstrap().group(group)
        .channel(epoll ? EpollSocketChannel.class : NioSocketChannel.class)
        .handler(new ChannelInitializer<>() {
          @Override
          protected void initChannel(Channel ch) {}
        })
        .connect(server.localAddress()).sync().channel();
    channels.add(client);
    Channel child = accepted.poll(10, TimeUnit.SECONDS);
    assertThat(child).as("accepted connection").isNotNull();
    channels.add(child);
    return child;
  }

  /** Runs {@code task} on {@code ch}'s event loop and returns what it returned. */
  static <T> T on(Channel ch, Callable<T> task) throws Exception {
    return ch.eventLoop().submit(task).get(10, TimeUnit.SECONDS);
  }

  @Override
  public void close() throws InterruptedException {
    for (Channel c : channels) {
      c.close().sync();
    }
    group.shutdownGracefully(0, 0, TimeUnit.SECONDS).sync();
  }
}
