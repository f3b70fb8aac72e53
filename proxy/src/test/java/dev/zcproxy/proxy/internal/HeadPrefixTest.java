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

  private static byte[] bytes(ByteBuf buf) {
    byte[] out = new byte[buf.readableBytes()];
    buf.getBytes(buf.readerIndex(), out);
    return out;
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
      ByteBuf buf = HeadPrefix.of(PooledByteBufAllocator.DEFAULT, HEAD, 7, f, 100, 300_000, 16384);
      try {
        byte[] out = bytes(buf);
        int headLength = HEAD.length(7);
        assertThat(out).hasSize(16384);
        assertThat(Arrays.copyOf(out, headLength)).isEqualTo(HEAD.toBytes(7));
        assertThat(Arrays.copyOfRange(out, headLength, out.length))
            .as("the body from its offset").isEqualTo(Arrays.copyOfRange(content, 100, 100 + 16384 - headLength));
      } finally {
        buf.release();
      }
    }
  }

  @Test
  void aBodyThatWouldFitWholeALongBodyAndABufferSizeOfZeroGetTheHeadAlone() throws Exception {
    byte[] content = new byte[20_000];
    try (FileChannel f = file(content)) {
      // (the long body: its file is shorter, but nothing is read for it)
      for (long[] c : new long[][] {{20_000, 65536}, {20_000, 0}, {20_000, 10}, {HeadPrefix.BELOW, 65536}}) {
        ByteBuf buf = HeadPrefix.of(PooledByteBufAllocator.DEFAULT, HEAD, 0, f, 0, c[0], (int) c[1]);
        try {
          assertThat(new String(bytes(buf), StandardCharsets.ISO_8859_1))
              .as("%d bytes in a %d-byte buffer", c[0], c[1]).isEqualTo(new String(HEAD.toBytes(0), StandardCharsets.ISO_8859_1));
        } finally {
          buf.release();
        }
      }
    }
  }

  @Test
  void aReadThatComesBackShortKeepsWhatItGot() throws Exception {
    byte[] content = new byte[1000]; // the entry claims more body than the file holds (truncated under it)
    new Random(5).nextBytes(content);
    try (FileChannel f = file(content)) {
      ByteBuf buf = HeadPrefix.of(PooledByteBufAllocator.DEFAULT, HEAD, 0, f, 400, 300_000, 16384);
      try {
        byte[] out = bytes(buf);
        int headLength = HEAD.length(0);
        assertThat(out).hasSize(headLength + 600);
        assertThat(Arrays.copyOfRange(out, headLength, out.length)).isEqualTo(Arrays.copyOfRange(content, 400, 1000));
      } finally {
        buf.release();
      }
    }
  }
}
