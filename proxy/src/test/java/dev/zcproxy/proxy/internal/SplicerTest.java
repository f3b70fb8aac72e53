package dev.zcproxy.proxy.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.EventLoop;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.internal.net.NetSocketInternal;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetSocket;
import io.vertx.core.transport.Transport;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Splice eligibility and the tunnel timers, over real loopback sockets. */
class SplicerTest {

  enum T {
    EPOLL(Transport.EPOLL),
    NIO(Transport.NIO);

    final Transport transport;

    T(Transport transport) {
      this.transport = transport;
    }
  }

  private Vertx vertx;
  private int echoPort;

  private void start(T t) throws Exception {
    vertx = Vertx.builder().withTransport(t.transport).build();
    NetServer echo = vertx.createNetServer().connectHandler(s -> s.handler(s::write));
    echoPort = await(echo.listen(0, "127.0.0.1")).actualPort();
  }

  @AfterEach
  void stop() throws Exception {
    if (vertx != null) {
      await(vertx.close());
    }
  }

  /**
   * A front server: each accepted socket is paired with a NetClient connection to the echo server, made on
   * the accepted socket's own context, or on an event-loop context with another loop when
   * {@code otherLoop}; {@code pair} gets both, on the accepted socket's context.
   */
  private int front(boolean otherLoop, BiConsumer<NetSocket, NetSocket> pair) throws Exception {
    NetClient client = vertx.createNetClient();
    NetServer front = vertx.createNetServer().connectHandler(down -> {
      down.pause();
      ContextInternal here = (ContextInternal) vertx.getOrCreateContext();
      if (!otherLoop) {
        client.connect(echoPort, "127.0.0.1").onSuccess(up -> pair.accept(down, up));
        return;
      }
      ContextInternal other = ((VertxInternal) vertx).createEventLoopContext();
      for (int i = 0; i < 16 && other.nettyEventLoop() == loop(down); i++) {
        other = ((VertxInternal) vertx).createEventLoopContext();
      }
      other.runOnContext(v -> client.connect(echoPort, "127.0.0.1")
          .onSuccess(up -> here.runOnContext(x -> pair.accept(down, up))));
    });
    return await(front.listen(0, "127.0.0.1")).actualPort();
  }

  @ParameterizedTest
  @EnumSource(T.class)
  void spliceNeedsEpoll(T t) throws Exception {
    start(t);
    Promise<String> enabled = Promise.promise();
    Promise<Boolean> sameLoop = Promise.promise();
    int port = front(false, (down, up) -> {
      String why = Splicer.whyNotSplice(down, up);
      enabled.complete(why == null ? "" : why);
      sameLoop.complete(loop(down) == loop(up));
      down.close();
      up.close();
    });
    try (Socket s = new Socket("127.0.0.1", port)) {
      // A NetClient used from an event-loop context connects on that context's loop.
      assertThat(await(sameLoop.future())).isTrue();
      if (t == T.EPOLL) {
        assertThat(await(enabled.future())).isEmpty();
      } else {
        assertThat(await(enabled.future())).contains("not native epoll").contains("NioSocketChannel");
      }
    }
  }

  @Test
  void differentEventLoopsFallBackToCopy() throws Exception {
    start(T.EPOLL);
    Promise<TunnelResult> result = Promise.promise();
    Promise<Boolean> sameLoop = Promise.promise();
    Splicer splicer = new Splicer();
    int port = front(true, (down, up) -> {
      sameLoop.complete(loop(down) == loop(up));
      splicer.tunnel(down, up, Splicer.whyNotSplice(down, up)).onComplete(result);
    });
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write("hi".getBytes(StandardCharsets.ISO_8859_1));
      assertThat(s.getInputStream().readNBytes(2)).isEqualTo("hi".getBytes(StandardCharsets.ISO_8859_1));
    }
    assertThat(await(sameLoop.future())).isFalse();
    TunnelResult r = await(result.future());
    assertThat(r.mode()).isEqualTo(TunnelResult.Mode.COPY);
    assertThat(r.fallbackReason()).isEqualTo("sockets are on different event loops");
    assertThat(r.bytesAToB()).isEqualTo(2);
    assertThat(r.bytesBToA()).isEqualTo(2);
    assertThat(r.end()).isEqualTo(TunnelResult.End.CLOSED);
  }

  @ParameterizedTest
  @EnumSource(T.class)
  void idleTunnelIsClosed(T t) throws Exception {
    start(t);
    Splicer splicer = new Splicer(Duration.ofMillis(300), Duration.ZERO);
    Promise<TunnelResult> result = Promise.promise();
    int port = front(false, (down, up) -> splicer.tunnel(down, up, Splicer.whyNotSplice(down, up)).onComplete(result));
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write("hello".getBytes(StandardCharsets.ISO_8859_1));
      assertThat(s.getInputStream().readNBytes(5)).isEqualTo("hello".getBytes(StandardCharsets.ISO_8859_1));
      assertThat(s.getInputStream().read()).as("closed by the idle timeout").isEqualTo(-1);
    }
    TunnelResult r = await(result.future());
    assertThat(r.end()).isEqualTo(TunnelResult.End.IDLE_TIMEOUT);
    assertThat(r.mode()).isEqualTo(t == T.EPOLL ? TunnelResult.Mode.SPLICE : TunnelResult.Mode.COPY);
  }

  @ParameterizedTest
  @EnumSource(T.class)
  void maxLifetimeClosesTheTunnel(T t) throws Exception {
    start(t);
    Splicer splicer = new Splicer(Duration.ZERO, Duration.ofMillis(200));
    Promise<TunnelResult> result = Promise.promise();
    int port = front(false, (down, up) -> splicer.tunnel(down, up, Splicer.whyNotSplice(down, up)).onComplete(result));
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      assertThat(s.getInputStream().read()).isEqualTo(-1);
    }
    assertThat(await(result.future()).end()).isEqualTo(TunnelResult.End.MAX_LIFETIME);
  }

  private static EventLoop loop(NetSocket s) {
    return ((NetSocketInternal) s).channelHandlerContext().channel().eventLoop();
  }

  static <X> X await(Future<X> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }
}
