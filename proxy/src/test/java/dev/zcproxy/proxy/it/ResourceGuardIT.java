package dev.zcproxy.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The guards every IT runs under detect what they claim to detect (checked directly, so the build stays green). */
class ResourceGuardIT {
  @TempDir
  Path dir;

  @Test
  void theItsRunWithParanoidLeakDetection() {
    assertThat(ResourceLeakDetector.getLevel()).isEqualTo(ResourceLeakDetector.Level.PARANOID);
  }

  @Test
  void aLeakedBufferIsReported() throws Exception {
    ResourceGuard.install();
    assertThat(ResourceGuard.collectLeaks()).as("no report before the leak").isEmpty();
    leakOne();
    assertThat(ResourceGuard.collectLeaks()).as("the guard drains the report, so this test itself passes")
        .anySatisfy(r -> assertThat(r).contains("LEAK").contains("leakOne"));
  }

  /** Allocates a tracked buffer and drops it unreleased; its allocation stack names this method. */
  private static void leakOne() {
    ByteBuf leaked = PooledByteBufAllocator.DEFAULT.directBuffer(64);
    leaked.writeLong(42);
  }

  @Test
  void anOpenFileUnderATempDirIsSeenUntilClosed() throws Exception {
    Path file = Files.writeString(dir.resolve("entry"), "x");
    String real = file.toRealPath().toString();
    assertThat(ResourceGuard.openTempFiles()).noneMatch(s -> s.endsWith(real));
    FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
    try {
      assertThat(ResourceGuard.openTempFiles()).anyMatch(s -> s.endsWith(real));
      assertThat(ResourceGuard.awaitNoOpenTempFiles(50)).as("still open after a bounded wait").isNotEmpty();
    } finally {
      ch.close();
    }
    assertThat(ResourceGuard.awaitNoOpenTempFiles(1_000)).isEmpty();
  }
}
