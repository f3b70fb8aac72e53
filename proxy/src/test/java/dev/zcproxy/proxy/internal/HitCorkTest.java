package dev.zcproxy.proxy.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import io.netty.channel.Channel;
import io.netty.channel.ChannelPromise;
import io.netty.channel.epoll.EpollSocketChannel;
import java.io.IOException;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * An accepted loopback connection corked for a short or a long file hit and uncorked when its last corked body was
 * written or failed (epoll), a long one only while few open connections read long bodies; left alone for a body between the
 * bounds, when not installed, and on NIO, which has no TCP_CORK (the fallback).
 */
class HitCorkTest {
  private static final long BELOW = 1 << 20;
  private static final long FROM = 4 << 20;

  private LoopbackChannels loopback;

  @AfterEach
  void close() throws Exception {
    if (loopback != null) {
      loopback.close();
    }
  }

  /** An accepted connection of the given transport. */
  private Channel accept(boolean epoll) throws Exception {
    loopback = new LoopbackChannels(epoll);
    return loopback.accept();
  }

  private static <T> T on(Channel ch, Callable<T> task) throws Exception {
    return LoopbackChannels.on(ch, task);
  }

  private static boolean corked(Channel ch) throws Exception {
    return on(ch, () -> ((EpollSocketChannel) ch).config().isTcpCork());
  }

  @Test
  void aShortHitCorksTheConnectionUntilItsLastCorkedBodyWasWrittenOrFailed() throws Exception {
    Channel ch = accept(true);
    HitCork cork = new HitCork(BELOW, 0);
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
    HitCork cork = new HitCork(BELOW, 0);
    on(ch, () -> {
      cork.install(ch);
      return null;
    });
    ChannelPromise p = on(ch, ch::newPromise);
    assertThat(on(ch, () -> HitCork.around(ch, BELOW, p))).isFalse();
    assertThat(corked(ch)).isFalse();
  }

  @Test
  void aBodyOfTheFromBoundOrMoreIsCorkedUntilItWasWrittenAndOneBetweenTheBoundsIsNot() throws Exception {
    Channel ch = accept(true);
    HitCork cork = new HitCork(BELOW, FROM);
    assertThat(new HitCork(0, FROM).enabled()).isTrue();
    on(ch, () -> {
      cork.install(ch);
      return null;
    });
    ChannelPromise between = on(ch, ch::newPromise);
    assertThat(on(ch, () -> HitCork.around(ch, BELOW, between))).isFalse();
    assertThat(on(ch, () -> HitCork.around(ch, FROM - 1, between))).isFalse();
    assertThat(corked(ch)).isFalse();

    ChannelPromise large = on(ch, ch::newPromise);
    assertThat(on(ch, () -> HitCork.around(ch, FROM, large))).isTrue();
    assertThat(corked(ch)).as("while the large body is written").isTrue();
    on(ch, large::setSuccess);
    assertThat(corked(ch)).as("after it").isFalse();

    ChannelPromise failed = on(ch, ch::newPromise);
    assertThat(on(ch, () -> HitCork.around(ch, 100L << 20, failed))).isTrue();
    on(ch, () -> failed.setFailure(new IOException("reset")));
    assertThat(corked(ch)).as("after a failed large body").isFalse();
  }

  @Test
  void aLargeBodyIsCorkedOnlyWhileAtMostTheBoundOfOpenConnectionsReadLargeBodies() throws Exception {
    Channel a = accept(true);
    Channel b = loopback.accept();
    Channel c = loopback.accept();
    HitCork cork = new HitCork(0, FROM, 2);
    for (Channel ch : new Channel[] {a, b, c}) {
      on(ch, () -> {
        cork.install(ch);
        return null;
      });
    }
    ChannelPromise first = on(a, a::newPromise);
    ChannelPromise second = on(b, b::newPromise);
    assertThat(on(a, () -> HitCork.around(a, FROM, first))).isTrue();
    assertThat(on(b, () -> HitCork.around(b, FROM, second))).isTrue();
    on(a, first::setSuccess);
    on(b, second::setSuccess);
    assertThat(corked(a)).isFalse();
    // Both bodies were written, but both connections still read large bodies: a third is one too many. (Counting
    // bodies under way let every 1 MiB hit be corked at 128 connections: each left in one sendfile.)
    assertThat(cork.largeReaders()).isEqualTo(2);
    ChannelPromise third = on(c, c::newPromise);
    assertThat(on(c, () -> HitCork.around(c, FROM, third))).as("a third connection reading large bodies").isFalse();
    assertThat(corked(c)).isFalse();
    on(c, third::setSuccess);
    ChannelPromise again = on(a, a::newPromise);
    assertThat(on(a, () -> HitCork.around(a, FROM, again))).as("three readers, a's next large body too").isFalse();
    on(a, again::setSuccess);

    ChannelPromise small = on(b, b::newPromise); // b takes a smaller hit: no longer a large reader, not corked
    assertThat(on(b, () -> HitCork.around(b, FROM - 1, small))).isFalse();
    on(b, small::setSuccess);
    assertThat(cork.largeReaders()).isEqualTo(2);
    ChannelPromise fourth = on(c, c::newPromise);
    assertThat(on(c, () -> HitCork.around(c, FROM, fourth))).as("two readers again").isTrue();
    assertThat(corked(c)).isTrue();
    on(c, () -> fourth.setFailure(new IOException("reset")));
    assertThat(corked(c)).isFalse();

    b.close().sync(); // b is no reader; a closed connection that read large bodies frees its place
    a.close().sync();
    assertThat(on(a, cork::largeReaders)).as("after a's close was handled on its loop").isEqualTo(1);
    ChannelPromise reopened = on(b, b::newPromise);
    assertThat(on(b, () -> HitCork.around(b, FROM, reopened))).as("closed: not counted again").isFalse();
    assertThat(cork.largeReaders()).isEqualTo(1);
  }

  @Test
  void aConnectionNotInstalledOrInstalledWhileOffIsLeftAlone() throws Exception {
    Channel ch = accept(true);
    ChannelPromise p = on(ch, ch::newPromise);
    assertThat(on(ch, () -> HitCork.around(ch, 1, p))).as("not installed").isFalse();
    HitCork off = new HitCork(0, 0);
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
    HitCork cork = new HitCork(BELOW, 0);
    on(ch, () -> {
      cork.install(ch);
      return null;
    });
    ChannelPromise p = on(ch, ch::newPromise);
    assertThat(on(ch, () -> HitCork.around(ch, 256 << 10, p))).isFalse();
    on(ch, p::setSuccess); // no listener to run, nothing thrown
    HitCork large = new HitCork(0, FROM);
    on(ch, () -> {
      large.install(ch);
      return null;
    });
    ChannelPromise q = on(ch, ch::newPromise);
    assertThat(on(ch, () -> HitCork.around(ch, FROM, q))).isFalse();
    on(ch, q::setSuccess);
  }

  @Test
  void aNegativeBoundIsRefused() {
    assertThatIllegalArgumentException().isThrownBy(() -> new HitCork(-1, 0));
    assertThatIllegalArgumentException().isThrownBy(() -> new HitCork(0, -1));
    assertThatIllegalArgumentException().isThrownBy(() -> new HitCork(0, FROM, 0));
  }
}
