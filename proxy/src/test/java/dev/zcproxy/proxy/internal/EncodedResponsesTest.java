package dev.zcproxy.proxy.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.EncodedHead;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.DefaultEventLoop;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ImmediateEventExecutor;
import java.util.concurrent.TimeUnit;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The bytes of a whole response (pre-encoded head with its Age, then the body) are those of the head and the body,
 * whether encoded now or reused from the thread's last response; a different head, age or body range is encoded
 * anew, and the buffer kept is freed once it is replaced and its slices are released, and every loop's when the
 * proxy closes.
 */
class EncodedResponsesTest {
  private static final PooledByteBufAllocator ALLOC = PooledByteBufAllocator.DEFAULT;

  private final EncodedResponses responses = new EncodedResponses();
  /** The test thread's slot: an executor that is always "in" its loop. */
  private final EncodedResponses.Slot slot = responses.slot(ImmediateEventExecutor.INSTANCE);

  @AfterEach
  void close() {
    responses.close();
  }

  private static EncodedHead head(String etag) {
    return EncodedHead.builder(200, "OK").field("etag", etag).field("cache-status", "zcproxy; hit")
        .field("content-length", "5").build();
  }

  private static byte[] expected(EncodedHead head, long age, byte[] body, int offset, int length) {
    byte[] h = head.toBytes(age);
    byte[] out = Arrays.copyOf(h, h.length + length);
    System.arraycopy(body, offset, out, h.length, length);
    return out;
  }

  /** The body kept for {@code bytes} (one per array: the slot compares bodies by identity). */
  private RamBody rb(byte[] bytes) {
    return bodies.computeIfAbsent(bytes, b -> RamBody.copyOf(b, true));
  }

  private final java.util.Map<byte[], RamBody> bodies = new java.util.IdentityHashMap<>();

  private static byte[] drain(ByteBuf buf) {
    try {
      return ByteBufUtil.getBytes(buf);
    } finally {
      buf.release();
    }
  }

  @Test
  void theSameResponseAgainHasTheSameBytesFromTheBufferKept() {
    EncodedHead head = head("\"a\"");
    byte[] body = "xhello".getBytes(StandardCharsets.US_ASCII);
    ByteBuf first = slot.encode(ALLOC, head, 7, rb(body), 1, 5);
    ByteBuf second = slot.encode(ALLOC, head, 7, rb(body), 1, 5);
    assertThat(second.unwrap()).isSameAs(first); // a slice of the buffer kept: no new encoding
    byte[] want = expected(head, 7, body, 1, 5);
    assertThat(new String(drain(first), StandardCharsets.ISO_8859_1)).isEqualTo(new String(want, StandardCharsets.ISO_8859_1))
        .startsWith("HTTP/1.1 200 OK\r\n").contains("Age: 7\r\n\r\nhello");
    assertThat(drain(second)).isEqualTo(want); // unchanged by the first one's read
    assertThat(drain(slot.encode(ALLOC, head, 7, rb(body), 1, 5))).isEqualTo(want);
  }

  @Test
  void anotherAgeHeadOrBodyRangeIsEncodedAnew() {
    EncodedHead head = head("\"a\"");
    EncodedHead other = head("\"b\"");
    byte[] body = "hellohello".getBytes(StandardCharsets.US_ASCII);
    byte[] copy = body.clone();
    assertThat(drain(slot.encode(ALLOC, head, 1, rb(body), 0, 5))).isEqualTo(expected(head, 1, body, 0, 5));
    assertThat(drain(slot.encode(ALLOC, head, 12, rb(body), 0, 5))).isEqualTo(expected(head, 12, body, 0, 5));
    assertThat(drain(slot.encode(ALLOC, other, 12, rb(body), 0, 5))).isEqualTo(expected(other, 12, body, 0, 5));
    assertThat(drain(slot.encode(ALLOC, other, 12, rb(body), 5, 5))).isEqualTo(expected(other, 12, body, 5, 5));
    assertThat(drain(slot.encode(ALLOC, other, 12, rb(copy), 5, 5))).isEqualTo(expected(other, 12, copy, 5, 5));
    assertThat(drain(slot.encode(ALLOC, other, 12, rb(copy), 0, 4))).isEqualTo(expected(other, 12, copy, 0, 4));
  }

  @Test
  void aReplacedBufferIsFreedOnceItsSlicesAreReleased() {
    EncodedHead head = head("\"a\"");
    byte[] body = "hello".getBytes(StandardCharsets.US_ASCII);
    ByteBuf first = slot.encode(ALLOC, head, 1, rb(body), 0, 5);
    ByteBuf slice = slot.encode(ALLOC, head, 1, rb(body), 0, 5);
    ByteBuf kept = slice.unwrap();
    assertThat(kept.refCnt()).isEqualTo(3); // the loop's, the first write's, the slice's
    drain(slot.encode(ALLOC, head, 2, rb(body), 0, 5)); // replaces it: the loop lets go
    assertThat(kept.refCnt()).isEqualTo(2);
    assertThat(drain(slice)).isEqualTo(expected(head, 1, body, 0, 5)); // still whole while in flight
    first.release();
    assertThat(kept.refCnt()).isZero();
  }

  @Test
  void aLargeResponseIsNotKept() {
    EncodedHead head = head("\"a\"");
    byte[] body = new byte[EncodedResponses.MAX_KEPT];
    Arrays.fill(body, (byte) 'z');
    ByteBuf first = slot.encode(ALLOC, head, 1, rb(body), 0, body.length);
    ByteBuf second = slot.encode(ALLOC, head, 1, rb(body), 0, body.length);
    assertThat(second).isNotSameAs(first);
    assertThat(first.refCnt()).isEqualTo(1); // the caller's only
    byte[] want = expected(head, 1, body, 0, body.length);
    assertThat(drain(first)).isEqualTo(want);
    assertThat(drain(second)).isEqualTo(want);
  }

  @Test
  void closingReleasesWhatEveryLoopKeepsAndNothingIsKeptAfter() throws Exception {
    UnpooledByteBufAllocator alloc = new UnpooledByteBufAllocator(true); // counts its direct memory exactly
    EncodedResponses owned = new EncodedResponses();
    EventLoop[] loops = {new DefaultEventLoop(), new DefaultEventLoop()};
    EncodedHead head = head("\"a\"");
    byte[] body = "hello".getBytes(StandardCharsets.US_ASCII);
    try {
      for (EventLoop loop : loops) {
        EncodedResponses.Slot s = owned.slot(loop);
        assertThat(owned.slot(loop)).isSameAs(s);
        loop.submit(() -> s.encode(alloc, head, 1, rb(body), 0, 5).release()).get(10, TimeUnit.SECONDS); // written, kept
      }
      assertThat(owned.kept()).isEqualTo(2);
      assertThat(alloc.metric().usedDirectMemory()).as("the two loops' kept buffers").isPositive();
      owned.close(); // from another thread: each loop releases its own
      for (EventLoop loop : loops) {
        loop.submit(() -> {}).get(10, TimeUnit.SECONDS); // behind the release
      }
      assertThat(owned.kept()).isZero();
      assertThat(alloc.metric().usedDirectMemory()).as("direct memory after close").isZero();
      EncodedResponses.Slot s = owned.slot(loops[0]);
      loops[0].submit(() -> s.encode(alloc, head, 1, rb(body), 0, 5).release()).get(10, TimeUnit.SECONDS);
      assertThat(owned.kept()).as("kept after close").isZero();
      assertThat(alloc.metric().usedDirectMemory()).isZero();
    } finally {
      for (EventLoop loop : loops) {
        loop.shutdownGracefully(0, 0, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void closingAfterTheLoopsStoppedReleasesAtOnce() throws Exception {
    UnpooledByteBufAllocator alloc = new UnpooledByteBufAllocator(true);
    EncodedResponses owned = new EncodedResponses();
    EventLoop loop = new DefaultEventLoop();
    EncodedResponses.Slot s = owned.slot(loop);
    loop.submit(() -> s.encode(alloc, head("\"a\""), 1, RamBody.copyOf(new byte[] {'x'}, true), 0, 1).release()).get(10, TimeUnit.SECONDS);
    assertThat(loop.shutdownGracefully(0, 0, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS)).isTrue();
    assertThat(alloc.metric().usedDirectMemory()).isPositive();
    owned.close(); // as the proxy does once Vert.x closed
    assertThat(owned.kept()).isZero();
    assertThat(alloc.metric().usedDirectMemory()).isZero();
  }
}
