package dev.zcproxy.proxy.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.EncodedHead;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The bytes of a whole response (pre-encoded head with its Age, then the body) are those of the head and the body,
 * whether encoded now or reused from the thread's last response; a different head, age or body range is encoded
 * anew, and the buffer kept is freed once it is replaced and its slices are released.
 */
class EncodedResponsesTest {
  private static final PooledByteBufAllocator ALLOC = PooledByteBufAllocator.DEFAULT;

  @AfterEach
  void forget() {
    EncodedResponses.forgetOnThisThread();
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
    ByteBuf first = EncodedResponses.encode(ALLOC, head, 7, body, 1, 5);
    ByteBuf second = EncodedResponses.encode(ALLOC, head, 7, body, 1, 5);
    assertThat(second.unwrap()).isSameAs(first); // a slice of the buffer kept: no new encoding
    byte[] want = expected(head, 7, body, 1, 5);
    assertThat(new String(drain(first), StandardCharsets.ISO_8859_1)).isEqualTo(new String(want, StandardCharsets.ISO_8859_1))
        .startsWith("HTTP/1.1 200 OK\r\n").contains("Age: 7\r\n\r\nhello");
    assertThat(drain(second)).isEqualTo(want); // unchanged by the first one's read
    assertThat(drain(EncodedResponses.encode(ALLOC, head, 7, body, 1, 5))).isEqualTo(want);
  }

  @Test
  void anotherAgeHeadOrBodyRangeIsEncodedAnew() {
    EncodedHead head = head("\"a\"");
    EncodedHead other = head("\"b\"");
    byte[] body = "hellohello".getBytes(StandardCharsets.US_ASCII);
    byte[] copy = body.clone();
    assertThat(drain(EncodedResponses.encode(ALLOC, head, 1, body, 0, 5))).isEqualTo(expected(head, 1, body, 0, 5));
    assertThat(drain(EncodedResponses.encode(ALLOC, head, 12, body, 0, 5))).isEqualTo(expected(head, 12, body, 0, 5));
    assertThat(drain(EncodedResponses.encode(ALLOC, other, 12, body, 0, 5))).isEqualTo(expected(other, 12, body, 0, 5));
    assertThat(drain(EncodedResponses.encode(ALLOC, other, 12, body, 5, 5))).isEqualTo(expected(other, 12, body, 5, 5));
    assertThat(drain(EncodedResponses.encode(ALLOC, other, 12, copy, 5, 5))).isEqualTo(expected(other, 12, copy, 5, 5));
    assertThat(drain(EncodedResponses.encode(ALLOC, other, 12, copy, 0, 4))).isEqualTo(expected(other, 12, copy, 0, 4));
  }

  @Test
  void aReplacedBufferIsFreedOnceItsSlicesAreReleased() {
    EncodedHead head = head("\"a\"");
    byte[] body = "hello".getBytes(StandardCharsets.US_ASCII);
    ByteBuf first = EncodedResponses.encode(ALLOC, head, 1, body, 0, 5);
    ByteBuf slice = EncodedResponses.encode(ALLOC, head, 1, body, 0, 5);
    ByteBuf kept = slice.unwrap();
    assertThat(kept.refCnt()).isEqualTo(3); // the thread's, the first write's, the slice's
    drain(EncodedResponses.encode(ALLOC, head, 2, body, 0, 5)); // replaces it: the thread lets go
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
    ByteBuf first = EncodedResponses.encode(ALLOC, head, 1, body, 0, body.length);
    ByteBuf second = EncodedResponses.encode(ALLOC, head, 1, body, 0, body.length);
    assertThat(second).isNotSameAs(first);
    assertThat(first.refCnt()).isEqualTo(1); // the caller's only
    byte[] want = expected(head, 1, body, 0, body.length);
    assertThat(drain(first)).isEqualTo(want);
    assertThat(drain(second)).isEqualTo(want);
  }
}
