package dev.zcproxy.proxy.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A front hit's write promise tells its {@link FrontHits.Sent} once, on the channel's event loop, whether the write
 * succeeded, without being a listener of itself: a write to a real loopback connection, a write to a closed one,
 * completions made twice or from another thread, a {@code Sent} that throws; other listeners are still told.
 */
class SentPromiseTest {
  private LoopbackChannels loopback;

  @AfterEach
  void close() throws Exception {
    if (loopback != null) {
      loopback.close();
    }
  }

  /** What a {@link FrontHits.Sent} was told, and on which thread. */
  private static final class Told implements FrontHits.Sent {
    final List<Boolean> outcomes = new CopyOnWriteArrayList<>();
    final List<Thread> threads = new CopyOnWriteArrayList<>();
    final CountDownLatch first = new CountDownLatch(1);

    @Override
    public void done(boolean complete) {
      outcomes.add(complete);
      threads.add(Thread.currentThread());
      first.countDown();
    }
  }

  private Channel accept() throws Exception {
    loopback = new LoopbackChannels(false);
    Channel ch = loopback.accept();
    LoopbackChannels.on(ch, () -> ch.pipeline().addLast("writer", new ChannelInboundHandlerAdapter()));
    return ch;
  }

  private static ChannelHandlerContext writer(Channel ch) {
    return ch.pipeline().context("writer");
  }

  @Test
  void aWriteThatReachedTheSocketTellsSuccessOnceAndOtherListenersToo() throws Exception {
    Channel ch = accept();
    Told told = new Told();
    CountDownLatch listener = new CountDownLatch(1);
    LoopbackChannels.on(ch, () -> {
      FrontHits.SentPromise p = new FrontHits.SentPromise(writer(ch), told);
      p.addListener(f -> listener.countDown());
      return writer(ch).writeAndFlush(Unpooled.wrappedBuffer(new byte[1024]), p);
    });
    assertThat(told.first.await(10, TimeUnit.SECONDS)).isTrue();
    assertThat(listener.await(10, TimeUnit.SECONDS)).isTrue();
    LoopbackChannels.on(ch, () -> null); // anything told after the first outcome would be told by now
    assertThat(told.outcomes).containsExactly(true);
    assertThat(ch.eventLoop().inEventLoop(told.threads.get(0))).isTrue();
  }

  @Test
  void aWriteToAClosedConnectionTellsFailureOnce() throws Exception {
    Channel ch = accept();
    Told told = new Told();
    FrontHits.SentPromise p = LoopbackChannels.on(ch, () -> new FrontHits.SentPromise(writer(ch), told));
    ch.close().sync();
    LoopbackChannels.on(ch, () -> ch.writeAndFlush(Unpooled.wrappedBuffer(new byte[16]), p));
    assertThat(told.first.await(10, TimeUnit.SECONDS)).isTrue();
    LoopbackChannels.on(ch, () -> null);
    assertThat(p.isSuccess()).isFalse();
    assertThat(told.outcomes).containsExactly(false);
  }

  @Test
  void onlyTheFirstCompletionIsTold() throws Exception {
    Channel ch = accept();
    Told told = new Told();
    boolean[] results = LoopbackChannels.on(ch, () -> {
      FrontHits.SentPromise p = new FrontHits.SentPromise(writer(ch), told);
      return new boolean[] {p.trySuccess(), p.trySuccess(), p.tryFailure(new Exception("late")), p.cancel(false)};
    });
    assertThat(results).containsExactly(true, false, false, false);
    assertThat(told.outcomes).containsExactly(true);

    Told failed = new Told();
    boolean[] again = LoopbackChannels.on(ch, () -> {
      FrontHits.SentPromise p = new FrontHits.SentPromise(writer(ch), failed);
      p.setFailure(new Exception("reset"));
      return new boolean[] {p.trySuccess(), p.isDone()};
    });
    assertThat(again).containsExactly(false, true);
    assertThat(failed.outcomes).containsExactly(false);
  }

  @Test
  void aCompletionOffTheLoopIsToldOnTheLoop() throws Exception {
    Channel ch = accept();
    Told told = new Told();
    FrontHits.SentPromise p = LoopbackChannels.on(ch, () -> new FrontHits.SentPromise(writer(ch), told));
    assertThat(p.cancel(false)).isTrue();
    assertThat(told.first.await(10, TimeUnit.SECONDS)).isTrue();
    assertThat(told.outcomes).containsExactly(false);
    assertThat(ch.eventLoop().inEventLoop(told.threads.get(0))).isTrue();
  }

  @Test
  void aSentThatThrowsDoesNotBreakTheCompletion() throws Exception {
    Channel ch = accept();
    CountDownLatch listener = new CountDownLatch(1);
    boolean completed = LoopbackChannels.on(ch, () -> {
      FrontHits.SentPromise p = new FrontHits.SentPromise(writer(ch), complete -> {
        throw new IllegalStateException("counting failed");
      });
      p.addListener(f -> listener.countDown());
      return p.trySuccess() && p.isSuccess();
    });
    assertThat(completed).isTrue();
    assertThat(listener.await(10, TimeUnit.SECONDS)).isTrue();
  }
}
