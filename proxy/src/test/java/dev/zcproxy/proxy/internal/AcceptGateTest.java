package dev.zcproxy.proxy.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.vertx.core.http.HttpConnection;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class AcceptGateTest {
  /** Two slots, like ClientConnections' with max 2. */
  private static final class TwoSlots implements ClientChannels.Slots {
    final AtomicInteger open = new AtomicInteger();
    final AtomicInteger refused = new AtomicInteger();

    @Override
    public synchronized int take() {
      if (open.get() >= 2) {
        refused.incrementAndGet();
        return REFUSED;
      }
      return open.incrementAndGet() < 2 ? TAKEN : FULL;
    }

    @Override
    public synchronized void give() {
      open.decrementAndGet();
    }
  }

  /** Epoll, the proxy's transport, leaves the connections beyond the bound waiting; NIO is the fallback. */
  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void atTheBoundTheListenerStopsAcceptingAndConnectionsBeyondWaitUntilResumed(boolean epoll) throws Exception {
    if (epoll) {
      assumeTrue(Epoll.isAvailable(), "epoll not available here");
    }
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
    LinkedBlockingQueue<Channel> accepted = new LinkedBlockingQueue<>();
    TwoSlots slots = new TwoSlots();
    List<Socket> clients = new ArrayList<>();
    try {
      Channel server = new ServerBootstrap().group(group)
          .channel(epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class)
          .childHandler(new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
              accepted.add(ch);
            }
          })
          .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
      // on the listener's loop: added from elsewhere, the gate only sees connections once that loop got to it
      server.eventLoop().submit(() -> server.pipeline().addFirst(AcceptGate.NAME, new AcceptGate(slots))).get(10, TimeUnit.SECONDS);
      int port = ((InetSocketAddress) server.localAddress()).getPort();
      for (int i = 0; i < 5; i++) { // five at once: one accept batch would take them all without the gate
        Socket s = new Socket();
        s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
        clients.add(s);
      }
      Channel first = accepted.poll(10, TimeUnit.SECONDS);
      Channel second = accepted.poll(10, TimeUnit.SECONDS);
      assertThat(first.hasAttr(AcceptGate.COUNTED)).isTrue();
      assertThat(second).isNotNull();
      // a round trip through the listener's loop: whatever it would accept in this wake-up it has accepted
      group.submit(() -> null).get(10, TimeUnit.SECONDS);
      assertThat(server.config().isAutoRead()).as("the listener paused itself at the bound").isFalse();
      assertThat(accepted).isEmpty();
      if (epoll) {
        assertThat(slots.refused.get()).as("none accepted and closed: the other three wait").isZero();
      } // NIO accepts a whole batch before it hands any on: those beyond the bound were closed at accept

      first.close().sync(); // the slot comes back ...
      group.submit(() -> null).get(10, TimeUnit.SECONDS); // after the close listeners ran on the loop
      assertThat(slots.open.get()).isEqualTo(1);
      assertThat(ClientChannels.accepting(server, () -> slots.open.get() < 2)).isTrue(); // ... and the owner resumes it
      Socket sixth = new Socket(); // NIO: none left waiting
      sixth.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
      clients.add(sixth);
      Channel third = accepted.poll(10, TimeUnit.SECONDS);
      assertThat(third).isNotNull();
      group.submit(() -> null).get(10, TimeUnit.SECONDS);
      assertThat(accepted).as("exactly one more, for the one free slot").isEmpty();
      assertThat(slots.open.get()).isEqualTo(2);
      assertThat(server.config().isAutoRead()).isFalse();
      server.close().sync();
      assertThat(ClientChannels.accepting(server, () -> true)).as("a closed listener is forgotten").isFalse();
    } finally {
      for (Socket s : clients) {
        s.close();
      }
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }
  }

  @Test
  void aConnectionWithoutANettyListenerIsNotGatedAndLeftToTheConnectionHandlerToCount() {
    HttpConnection plain = (HttpConnection) java.lang.reflect.Proxy.newProxyInstance(getClass().getClassLoader(),
        new Class<?>[] {HttpConnection.class}, (p, m, a) -> null);
    assertThat(ClientChannels.gateListener(plain, new TwoSlots())).isFalse();
    assertThat(ClientChannels.countedAtAccept(plain)).isFalse();
    assertThat(ClientChannels.listener(plain)).isNull();
    assertThat(ClientChannels.accepting(null, () -> false)).as("no listener: nothing to pause").isFalse();
  }
}
