package dev.zcproxy.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * bin/zcproxy starts java with glibc's malloc bounded: two arenas and a fixed mmap threshold of 128 KiB (freed large
 * blocks go back to the kernel at once), each kept when the user set it. Run with a stand-in {@code java} that prints
 * the environment it got.
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
  void twoArenasAndAFixed128KiBMmapThresholdByDefault() throws Exception {
    assertThat(launch("")).isEqualTo("2 131072");
  }

  @Test
  void theUsersOwnValuesAreKept() throws Exception {
    assertThat(launch("MALLOC_ARENA_MAX=4 MALLOC_MMAP_THRESHOLD_=1048576")).isEqualTo("4 1048576");
  }
}
