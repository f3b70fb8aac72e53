package dev.zcproxy.proxy.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** A RAM body's bytes and references, in direct memory and in its heap fallback. */
class RamBodyTest {

  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void keepsItsBytesAndCopiesThemOut(boolean direct) {
    RamBody body = RamBody.copyOf("hello world".getBytes(StandardCharsets.US_ASCII), direct);
    assertThat(body.isDirect()).isEqualTo(direct);
    assertThat(body.length()).isEqualTo(11);
    ByteBuf out = Unpooled.directBuffer();
    body.copyTo(out, 6, 5);
    assertThat(out.toString(StandardCharsets.US_ASCII)).isEqualTo("world");
    out.release();
    byte[] arr = new byte[7];
    body.copyTo(arr, 2, 0, 5);
    assertThat(new String(arr, 2, 5, StandardCharsets.US_ASCII)).isEqualTo("hello");
    assertThat(body.toBuffer(0, 5).toString()).isEqualTo("hello");
    body.release();
  }

  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void aBodyIsFilledThroughItsWritableView(boolean direct) {
    RamBody body = RamBody.allocate(4, direct);
    ByteBuffer w = body.writable();
    assertThat(w.remaining()).isEqualTo(4);
    w.put("abcd".getBytes(StandardCharsets.US_ASCII));
    assertThat(body.toBuffer(0, 4).toString()).isEqualTo("abcd");
    body.release();
  }

  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void theLastReferenceFreesItOnceAndNoneIsTakenAfter(boolean direct) {
    RamBody body = RamBody.allocate(16, direct);
    assertThat(body.tryRetain()).isTrue(); // a hit copying it out
    body.release(); // the tier lets go
    assertThat(body.freed()).isFalse();
    assertThat(body.toBuffer(0, 16).length()).isEqualTo(16); // still readable by the hit
    body.release(); // the hit is done
    assertThat(body.freed()).isTrue();
    assertThat(body.tryRetain()).as("a freed body is never handed out again").isFalse();
    assertThatThrownBy(body::release).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void aDirectTierMustLeaveTheIoBuffersTheirRoom() {
    assertThat(RamBody.directFits(16L << 20, 64L << 20)).isTrue();
    assertThat(RamBody.directFits(32L << 20, 64L << 20)).isTrue();
    assertThat(RamBody.directFits(48L << 20, 64L << 20)).isFalse();
    assertThat(RamBody.directFits(48L << 20, 128L << 20)).isTrue();
    assertThat(RamBody.maxDirectMemory()).isPositive();
  }
}
