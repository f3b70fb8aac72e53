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

  /** A body of {@code length} written to {@code ch} without a cork. */
  private static void notCorked(Channel ch, long length, String why) throws Exception {
    ChannelPromise p = on(ch, ch::newPromise);
    assertThat(on(ch, () -> HitCork.around(ch, length, p))).as(why).isFalse();
    assertThat(corked(ch)).as(why).isFalse();
    on(ch, p::setSuccess);
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
    HitCork cork = new HitCork(BELOW, FROM, HitCork.LARGE_READERS, HitCork.FIRST_FROM, 0); // no first bodies corked
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
    notCorked(c, FROM, "a third connection reading large bodies");
    ChannelPromise again = on(a, a::newPromise);
    assertThat(on(a, () -> HitCork.around(a, FROM, again))).as("three readers, a's next large body too").isFalse();
    on(a, again::setSuccess);

    ChannelPromise small = on(b, b::newPromise); // b takes a smaller hit: no longer a large reader, not corked
    assertThat(on(b, () -> HitCork.around(b, HitCork.FIRST_FROM - 1, small))).isFalse();
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
  void aBodyFromTheFirstBoundIsCorkedOnlyForItsConnectionsFirstBudgetAndLargerOnesStillAre() {
    long first = HitCork.FIRST_FROM;
    long budget = HitCork.FIRST_BUDGET;
    HitCork cork = new HitCork(0, FROM);
    assertThat(cork.large(first)).isTrue();
    assertThat(cork.large(first - 1)).isFalse();
    assertThat(cork.corks(first, 0, 1)).as("a connection's first 1 MiB body").isTrue();
    assertThat(cork.corks(FROM - 1, budget - 1, 1)).as("the budget not yet spent").isTrue();
    assertThat(cork.corks(first, budget, 1)).as("spent: the client's window has grown").isFalse();
    assertThat(cork.corks(FROM, budget, 1)).as("a body of the from bound or more: corked whole, as before").isTrue();
    assertThat(cork.corks(first - 1, 0, 1)).as("below the first bound").isFalse();
    assertThat(cork.corks(first, 0, HitCork.LARGE_READERS + 1)).as("too many connections read large bodies").isFalse();
    assertThat(cork.corks(FROM, 0, HitCork.LARGE_READERS + 1)).isFalse();

    HitCork fromFirst = new HitCork(0, first); // cork-hits-from at 1 MiB: every such body corked whole, no budget
    assertThat(fromFirst.corks(first, budget, 1)).isTrue();
    HitCork never = new HitCork(0, 0); // cork-hits-from 0 = never: no first bodies either
    assertThat(never.corks(first, 0, 0)).isFalse();
    assertThat(never.large(FROM)).isFalse();
    HitCork shortOnes = new HitCork(2 * first, FROM); // a short body (cork-hits-below) is corked whatever the budget
    assertThat(shortOnes.corks(first, budget, HitCork.LARGE_READERS + 1)).isTrue();
  }

  @Test
  void aConnectionSpendsItsOwnBudgetOfFirstCorkedBodiesAndIsCorkedForLargerOnesAfter() throws Exception {
    Channel a = accept(true);
    Channel b = loopback.accept();
    long first = HitCork.FIRST_FROM;
    HitCork cork = new HitCork(0, FROM, 4, first, 3 * first);
    for (Channel ch : new Channel[] {a, b}) {
      on(ch, () -> {
        cork.install(ch);
        return null;
      });
    }
    for (int i = 0; i < 3; i++) {
      ChannelPromise p = on(a, a::newPromise);
      assertThat(on(a, () -> HitCork.around(a, first, p))).as("first body %d", i).isTrue();
      assertThat(corked(a)).isTrue();
      on(a, p::setSuccess);
      assertThat(corked(a)).isFalse();
    }
    notCorked(a, first, "budget spent");
    ChannelPromise whole = on(a, a::newPromise);
    assertThat(on(a, () -> HitCork.around(a, FROM, whole))).as("a body of the from bound, after the budget").isTrue();
    on(a, whole::setSuccess);
    assertThat(corked(a)).isFalse();

    ChannelPromise other = on(b, b::newPromise);
    assertThat(on(b, () -> HitCork.around(b, first, other))).as("another connection's own budget").isTrue();
    on(b, other::setSuccess);
    assertThat(cork.largeReaders()).as("both count as reading large bodies").isEqualTo(2);
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
    assertThatIllegalArgumentException().isThrownBy(() -> new HitCork(0, FROM, 1, 0, 0));
    assertThatIllegalArgumentException().isThrownBy(() -> new HitCork(0, FROM, 1, 1, -1));
  }
}
