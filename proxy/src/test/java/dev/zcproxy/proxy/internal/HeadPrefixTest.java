package dev.zcproxy.proxy.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.EncodedHead;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The first buffer of a file hit: the head, then the body's first bytes from a real file when a region still follows. */
class HeadPrefixTest {
  @TempDir
  Path dir;

  private static final EncodedHead HEAD = EncodedHead.builder(200, "OK").field("Content-Length", "300000").build();

  /** The bytes of {@link HeadPrefix#of} for a hit with age {@code age} (the buffer released). */
  private static byte[] first(FileChannel f, long age, long offset, long length, int bytes) {
    ByteBuf buf = HeadPrefix.of(PooledByteBufAllocator.DEFAULT, HEAD, age, f, offset, length, bytes);
    try {
      byte[] out = new byte[buf.readableBytes()];
      buf.getBytes(buf.readerIndex(), out);
      return out;
    } finally {
      buf.release();
    }
  }

  private FileChannel file(byte[] content) throws Exception {
    Path p = dir.resolve("entry");
    Files.write(p, content);
    return FileChannel.open(p, StandardOpenOption.READ);
  }

  @Test
  void theHeadIsFollowedByTheBodysFirstBytesUpToTheBufferSize() throws Exception {
    byte[] content = new byte[300_100];
    new Random(3).nextBytes(content);
    try (FileChannel f = file(content)) {
      byte[] out = first(f, 7, 100, 300_000, 16384);
      int headLength = HEAD.length(7);
      assertThat(out).hasSize(16384);
      assertThat(Arrays.copyOf(out, headLength)).isEqualTo(HEAD.toBytes(7));
      assertThat(Arrays.copyOfRange(out, headLength, out.length))
          .as("the body from its offset").isEqualTo(Arrays.copyOfRange(content, 100, 100 + 16384 - headLength));
    }
  }

  @Test
  void aBodyOfAtMostWholeBytesIsReadWholeBehindItsHeadSoThatNoRegionFollows() throws Exception {
    byte[] content = new byte[HeadPrefix.WHOLE + 200];
    new Random(7).nextBytes(content);
    try (FileChannel f = file(content)) {
      for (int length : new int[] {1, 4096, HeadPrefix.WHOLE}) {
        byte[] out = first(f, 3, 200, length, HeadPrefix.BYTES);
        int headLength = HEAD.length(3);
        assertThat(out).as("%d bytes", length).hasSize(headLength + length);
        assertThat(Arrays.copyOf(out, headLength)).isEqualTo(HEAD.toBytes(3));
        assertThat(Arrays.copyOfRange(out, headLength, out.length)).isEqualTo(Arrays.copyOfRange(content, 200, 200 + length));
      }
      // a buffer with less room than the small body: its first bytes, and a region for the rest, as for long bodies
      int headLength = HEAD.length(0);
      assertThat(first(f, 0, 0, 4096, headLength + 1000)).hasSize(headLength + 1000);
    }
    assertThat(HeadPrefix.wholeBody(0, 65536)).as("no body: nothing to read").isFalse();
    assertThat(HeadPrefix.wholeBody(HeadPrefix.WHOLE + 1, 65536)).isFalse();
  }

  @Test
  void aBodyBetweenWholeAndTheRoomALongBodyAndABufferSizeOfZeroGetTheHeadAlone() throws Exception {
    byte[] content = new byte[20_000];
    try (FileChannel f = file(content)) {
      // (the long body: its file is shorter, but nothing is read for it)
      for (long[] c : new long[][] {{20_000, 65536}, {20_000, 0}, {20_000, 10}, {HeadPrefix.BELOW, 65536}}) {
        assertThat(new String(first(f, 0, 0, c[0], (int) c[1]), StandardCharsets.ISO_8859_1))
            .as("%d bytes in a %d-byte buffer", c[0], c[1]).isEqualTo(new String(HEAD.toBytes(0), StandardCharsets.ISO_8859_1));
      }
    }
  }

  @Test
  void aReadThatComesBackShortKeepsWhatItGot() throws Exception {
    byte[] content = new byte[1000]; // the entry claims more body than the file holds (truncated under it)
    new Random(5).nextBytes(content);
    try (FileChannel f = file(content)) {
      byte[] out = first(f, 0, 400, 300_000, 16384);
      int headLength = HEAD.length(0);
      assertThat(out).hasSize(headLength + 600);
      assertThat(Arrays.copyOfRange(out, headLength, out.length)).isEqualTo(Arrays.copyOfRange(content, 400, 1000));
    }
  }
}
