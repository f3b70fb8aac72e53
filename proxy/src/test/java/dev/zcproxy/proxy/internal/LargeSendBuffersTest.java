package dev.zcproxy.proxy.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.List;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The send buffer of accepted loopback connections (epoll and NIO) raised for a large body, set back after it, and
 * held by no more connections than the bound; a channel that takes no {@code SO_SNDBUF} is left alone.
 */
class LargeSendBuffersTest {
  /** Asked for: the kernel reports twice as much. */
  private static final int RAISED = Math.min(4 << 20, LargeSendBuffers.kernelMax());
  /** A connection's buffer before the raise. */
  private static final int SMALL = 32 << 10;

  private LoopbackChannels loopback;

  @AfterEach
  void close() throws Exception {
    if (loopback != null) {
      loopback.close();
    }
  }

  /** Two accepted connections of the given transport, on one event loop (as a listener's connections may be). */
  private List<Channel> accept(boolean epoll) throws Exception {
    loopback = new LoopbackChannels(epoll);
    return List.of(loopback.accept(), loopback.accept());
  }

  private static <T> T on(Channel ch, Callable<T> task) throws Exception {
    return LoopbackChannels.on(ch, task);
  }

  private static int sndbuf(Channel ch) throws Exception {
    return on(ch, () -> ch.config().getOption(ChannelOption.SO_SNDBUF));
  }

  @ParameterizedTest(name = "epoll={0}")
  @ValueSource(booleans = {true, false})
  void aLargeBodyRaisesTheBufferOfAtMostTheBoundedNumberOfConnectionsAndTheEndSetsItBack(boolean epoll) throws Exception {
    List<Channel> conns = accept(epoll);
    Channel a = conns.get(0);
    Channel b = conns.get(1);
    // below what a raise asks for, wherever the kernel's autotuning and net.core.wmem_max stand (on loopback an
    // accepted socket starts at tcp_wmem's max already)
    on(a, () -> a.config().setOption(ChannelOption.SO_SNDBUF, SMALL));
    on(b, () -> b.config().setOption(ChannelOption.SO_SNDBUF, SMALL));
    int before = sndbuf(a);
    assumeTrue(before < 2 * RAISED, "net.core.wmem_max is " + LargeSendBuffers.kernelMax());
    LargeSendBuffers buffers = new LargeSendBuffers(RAISED, 1 << 20, 1);

    ChannelPromise small = on(a, a::newPromise);
    assertThat(on(a, () -> buffers.raise(a, (1 << 20) - 1, small))).as("below from-size").isFalse();
    assertThat(sndbuf(a)).isEqualTo(before);

    ChannelPromise first = on(a, a::newPromise);
    assertThat(on(a, () -> buffers.raise(a, 16 << 20, first))).isTrue();
    assertThat(sndbuf(a)).isGreaterThan(before).isLessThanOrEqualTo(2 * RAISED);
    assertThat(buffers.inUse()).isEqualTo(1);

    ChannelPromise other = on(b, b::newPromise);
    int beforeB = sndbuf(b);
    assertThat(on(b, () -> buffers.raise(b, 16 << 20, other))).as("the one slot is taken").isFalse();
    assertThat(sndbuf(b)).isEqualTo(beforeB);

    ChannelPromise second = on(a, a::newPromise); // pipelined behind the first on the same connection: shares the raise
    assertThat(on(a, () -> buffers.raise(a, 16 << 20, second))).isTrue();
    assertThat(buffers.inUse()).isEqualTo(1);

    on(a, () -> first.setSuccess());
    assertThat(sndbuf(a)).as("still raised for the second body").isGreaterThan(before);
    on(a, () -> second.setFailure(new java.io.IOException("client gone"))); // a failed write ends it as well
    assertThat(sndbuf(a)).as("set back").isEqualTo(before);
    assertThat(buffers.inUse()).isZero();

    ChannelPromise now = on(b, b::newPromise);
    assertThat(on(b, () -> buffers.raise(b, 16 << 20, now))).as("the slot is free again").isTrue();
    assertThat(sndbuf(b)).isGreaterThan(beforeB);
    b.close().sync(); // a connection that closes mid-body frees its slot
    on(b, () -> now.tryFailure(new java.nio.channels.ClosedChannelException()));
    assertThat(buffers.inUse()).isZero();
  }

  @ParameterizedTest(name = "epoll={0}")
  @ValueSource(booleans = {true, false})
  void aConnectionWhoseBufferIsAsLargeAlreadyIsNotTouched(boolean epoll) throws Exception {
    Channel a = accept(epoll).get(0);
    int before = sndbuf(a);
    LargeSendBuffers buffers = new LargeSendBuffers(before / 2, 1, 4); // asks for what it has
    ChannelPromise body = on(a, a::newPromise);
    assertThat(on(a, () -> buffers.raise(a, 16 << 20, body))).isFalse();
    assertThat(buffers.inUse()).isZero();
    LargeSendBuffers capped = new LargeSendBuffers(64 << 20, 1, 4, before / 2); // wmem_max caps it at what it has
    assertThat(on(a, () -> capped.raise(a, 16 << 20, body))).isFalse();
    assertThat(sndbuf(a)).isEqualTo(before);
  }

  @ParameterizedTest(name = "epoll={0}")
  @ValueSource(booleans = {true, false})
  void noBufferIsRaisedWhenTheKernelsTcpMemoryWouldPassItsFirstThreshold(boolean epoll) throws Exception {
    Channel a = accept(epoll).get(0);
    on(a, () -> a.config().setOption(ChannelOption.SO_SNDBUF, SMALL));
    int before = sndbuf(a);
    long[] asked = new long[1];
    LargeSendBuffers tight = new LargeSendBuffers(RAISED, 1, 4, RAISED, pages -> {
      asked[0] = pages;
      return false;
    });
    ChannelPromise body = on(a, a::newPromise);
    assertThat(on(a, () -> tight.raise(a, 16 << 20, body))).isFalse();
    assertThat(asked[0]).as("pages the raise would add").isEqualTo(2L * RAISED / 4096);
    assertThat(tight.inUse()).isZero();
    assertThat(sndbuf(a)).isEqualTo(before);
  }

  @Test
  void theKernelsTcpMemoryIsRead() {
    assumeTrue(java.nio.file.Files.isReadable(java.nio.file.Path.of("/proc/net/sockstat"))
        && java.nio.file.Files.isReadable(java.nio.file.Path.of("/proc/sys/net/ipv4/tcp_mem")), "no /proc");
    assertThat(LargeSendBuffers.tcpPagesInUse()).isGreaterThanOrEqualTo(0);
    assertThat(LargeSendBuffers.tcpMemoryBelowLow().test(Long.MAX_VALUE / 2)).as("no room for that many pages").isFalse();
  }

  @Test
  void theTcpMemoryIsReadAtMostOncePerIntervalAndCountsThePagesLetThroughSince() {
    long[] now = {0};
    long[] inUse = {100};
    int[] reads = {0};
    LargeSendBuffers.TcpMemory memory = new LargeSendBuffers.TcpMemory(1000, () -> {
      reads[0]++;
      return inUse[0];
    }, () -> now[0], 50);
    assertThat(memory.test(400)).as("100 + 400 < 1000").isTrue();
    assertThat(memory.test(400)).as("100 + 400 let through + 400 < 1000").isTrue();
    inUse[0] = 0; // not seen until the next reading
    assertThat(memory.test(400)).as("100 + 800 let through + 400 >= 1000: a stale reading lets no more through").isFalse();
    assertThat(reads[0]).as("one reading for the three raises within the interval").isEqualTo(1);
    now[0] = 50;
    assertThat(memory.test(400)).as("read again: 0 + 400").isTrue();
    assertThat(reads[0]).isEqualTo(2);
    inUse[0] = -1;
    now[0] = 100;
    assertThat(memory.test(Long.MAX_VALUE / 2)).as("no figure: the slot bound alone").isTrue();
  }

  @Test
  void aRaiseWithEverySlotTakenDoesNotAskAboutTheKernelsMemory() throws Exception {
    List<Channel> conns = accept(false);
    Channel a = conns.get(0);
    Channel b = conns.get(1);
    on(a, () -> a.config().setOption(ChannelOption.SO_SNDBUF, SMALL));
    on(b, () -> b.config().setOption(ChannelOption.SO_SNDBUF, SMALL));
    int[] asked = {0};
    LargeSendBuffers one = new LargeSendBuffers(RAISED, 1, 1, LargeSendBuffers.kernelMax(), pages -> {
      asked[0]++;
      return true;
    });
    assumeTrue(RAISED > SMALL, "net.core.wmem_max too small to raise");
    ChannelPromise bodyA = on(a, a::newPromise);
    assertThat(on(a, () -> one.raise(a, 16 << 20, bodyA))).isTrue();
    ChannelPromise bodyB = on(b, b::newPromise);
    assertThat(on(b, () -> one.raise(b, 16 << 20, bodyB))).as("the only slot is a's").isFalse();
    assertThat(asked[0]).as("asked for a's raise only").isEqualTo(1);
    on(a, () -> bodyA.setSuccess());
    assertThat(one.inUse()).isZero();
  }

  @Test
  void theKernelsBoundIsReadWhole() {
    assumeTrue(java.nio.file.Files.isReadable(java.nio.file.Path.of("/proc/sys/net/core/wmem_max")), "no /proc");
    // Files.readString read "4" of 4194304 here (a sysctl file ends at any offset but 0): the key was capped to 4 bytes
    assertThat(LargeSendBuffers.kernelMax()).isGreaterThanOrEqualTo(4608); // SOCK_MIN_SNDBUF / 2, far above one digit
  }

  @Test
  void aChannelWithoutTheOptionOrNotInstalledIsLeftAlone() throws Exception {
    EmbeddedChannel ch = new EmbeddedChannel();
    LargeSendBuffers buffers = new LargeSendBuffers(RAISED, 1, 4);
    assertThat(buffers.raise(ch, 16 << 20, ch.newPromise())).as("SO_SNDBUF refused").isFalse();
    assertThat(buffers.inUse()).as("the slot taken for it is given back").isZero();
    assertThat(LargeSendBuffers.around(ch, 16 << 20, ch.newPromise())).as("no install on this channel").isFalse();
    assertThat(new LargeSendBuffers(0, 1, 4).enabled()).isFalse();
    assertThat(new LargeSendBuffers(RAISED, 1, 0).enabled()).isFalse();
    assertThatIllegalArgumentException().isThrownBy(() -> new LargeSendBuffers(-1, 1, 4));
    ch.finishAndReleaseAll();
  }
}
