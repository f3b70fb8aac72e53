package dev.zcproxy.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * bin/zcproxy starts java with glibc's malloc bounded: two arenas and a fixed mmap threshold of 16 KiB (freed blocks
 * of 16 KiB or more, the JIT compiler's 32 KiB arena chunks among them, go back to the kernel at once), each kept when
 * the user set it, and a native-heap trim every 2 s where the JVM has the flag. Run with a stand-in {@code java} that
 * prints the environment and the options it got.
 */
class LauncherMallocTest {
  @TempDir
  Path tmp;

  @BeforeEach
  void fakeJava() throws Exception {
    StandInJava.install(tmp, "#!/bin/sh\necho \"$MALLOC_ARENA_MAX $MALLOC_MMAP_THRESHOLD_\"\n");
  }

  /** The malloc variables bin/zcproxy's java ran with, after {@code env} (NAME=VALUE words) in the shell. */
  private String launch(String env) throws Exception {
    return StandInJava.launch(tmp, env, Map.of(), List.of("ZCPROXY_JAVA_OPTS", "MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_"), "");
  }

  @Test
  void twoArenasAndAFixed16KiBMmapThresholdByDefault() throws Exception {
    assertThat(launch("")).isEqualTo("2 16384");
  }

  @Test
  void theUsersOwnValuesAreKept() throws Exception {
    assertThat(launch("MALLOC_ARENA_MAX=4 MALLOC_MMAP_THRESHOLD_=1048576")).isEqualTo("4 1048576");
  }

  /** The options bin/zcproxy's java ran with, one a line, from a stand-in that prints its arguments. */
  private List<String> options() throws Exception {
    StandInJava.install(tmp, "#!/bin/sh\nfor a in \"$@\"; do echo \"$a\"; done\n");
    return StandInJava.launch(tmp, "", Map.of(), List.of("ZCPROXY_JAVA_OPTS"), "").lines().toList();
  }

  @Test
  void aJvmWithTheFlagTrimsItsNativeHeapEveryTwoSeconds() throws Exception {
    Path libjvm = tmp.resolve("jdk/lib/server/libjvm.so");
    Files.createDirectories(libjvm.getParent());
    Files.writeString(libjvm, "stand-in: names the flag -XX:TrimNativeHeapInterval as a JVM that has it does");
    assertThat(options()).contains("-XX:TrimNativeHeapInterval=2000");
  }

  @Test
  void aJvmWithoutTheFlagGetsNoTrimOption() throws Exception {
    assertThat(options()).noneMatch(o -> o.startsWith("-XX:TrimNativeHeapInterval"));
  }
}
