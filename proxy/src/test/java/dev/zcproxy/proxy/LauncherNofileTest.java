package dev.zcproxy.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * bin/zcproxy raises the descriptor limit the way HAProxy and nginx do theirs: the soft limit to the hard one, and both
 * to {@code ZCPROXY_NOFILE} (65,536 by default) where the process may, keeping the old limit silently where it may
 * not. Run under {@code ulimit} in a {@code sh} subshell, with a stand-in {@code java} that prints the limits it got.
 */
class LauncherNofileTest {
  @TempDir
  Path tmp;

  private Path javaHome;

  @BeforeEach
  void fakeJava() throws Exception {
    assumeTrue(Files.isReadable(Path.of("/proc/self/limits")), "Linux /proc");
    javaHome = StandInJava.install(tmp,
        "#!/bin/sh\nexec sed -n 's/^Max open files *\\([0-9a-z]*\\) *\\([0-9a-z]*\\).*/\\1 \\2/p' /proc/self/limits\n");
  }

  /** The soft and hard limits bin/zcproxy's java ran with, after {@code shellLimits} in the shell that started it. */
  private long[] launch(String shellLimits, String nofile) throws Exception {
    String env = nofile == null ? "" : "ZCPROXY_NOFILE=" + nofile + " ";
    Path launcher = Path.of("../bin/zcproxy").toAbsolutePath().normalize();
    ProcessBuilder pb = new ProcessBuilder("sh", "-c", shellLimits + " && " + env + "exec " + launcher)
        .redirectErrorStream(true);
    pb.environment().put("JAVA_HOME", javaHome.toString());
    pb.environment().put("ZCPROXY_JAR", tmp.resolve("zcproxy.jar").toString());
    pb.environment().put("ZCPROXY_CDS", "off");
    pb.environment().remove("ZCPROXY_NOFILE");
    pb.environment().remove("ZCPROXY_JAVA_OPTS");
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    assertThat(p.waitFor()).as(out).isZero();
    String[] f = out.split(" ");
    assertThat(f).as(out).hasSize(2);
    return new long[] {parse(f[0]), parse(f[1])};
  }

  private static long parse(String limit) {
    return limit.equals("unlimited") ? Long.MAX_VALUE : Long.parseLong(limit);
  }

  /** This process's hard limit, and whether it may set the hard limit to {@code n} (root or CAP_SYS_RESOURCE). */
  private static long hardLimit() throws Exception {
    for (String line : Files.readAllLines(Path.of("/proc/self/limits"))) {
      if (line.startsWith("Max open files")) {
        return parse(line.substring("Max open files".length()).trim().split(" +")[1]);
      }
    }
    throw new AssertionError("no 'Max open files' in /proc/self/limits");
  }

  /** Whether a process whose hard limit is {@code from} may raise it to {@code to} (root or CAP_SYS_RESOURCE). */
  private static boolean mayRaiseHard(long from, long to) throws Exception {
    Process p = new ProcessBuilder("sh", "-c", "ulimit -n " + from + " && ulimit -H -n " + to).redirectErrorStream(true).start();
    p.getInputStream().readAllBytes();
    return p.waitFor() == 0;
  }

  @Test
  void raisesTheSoftLimitToTheHardOneAndBothTo65536WherePermitted() throws Exception {
    long hard = hardLimit();
    assumeTrue(hard > 1024 && hard < Long.MAX_VALUE, "hard limit " + hard);
    long[] got = launch("ulimit -S -n 1024", null);
    if (hard >= 65_536) {
      assertThat(got).as("hard " + hard).containsExactly(65_536, hard);
    } else {
      long expected = mayRaiseHard(hard, 65_536) ? 65_536 : hard;
      assertThat(got).as("hard " + hard).containsExactly(expected, expected);
    }
  }

  @Test
  void raisesTheHardLimitWherePermittedElseKeepsItSilently() throws Exception {
    assumeTrue(hardLimit() >= 2048, "hard limit");
    // a hard limit below the figure: raised to it with the privilege, kept (and the soft one at it) without
    long[] got = launch("ulimit -n 2048", "4096");
    long expected = mayRaiseHard(2048, 4096) ? 4096 : 2048;
    assertThat(got).containsExactly(expected, expected);
  }

  @Test
  void neverLowersAHigherHardLimit() throws Exception {
    long hard = hardLimit();
    assumeTrue(hard >= 4096, "hard limit " + hard);
    long[] got = launch("ulimit -S -n 1024", "2048");
    assertThat(got[1]).as("hard limit kept").isEqualTo(hard);
    assertThat(got[0]).as("soft limit raised to the figure, not past it").isEqualTo(2048);
  }

  @Test
  void zeroKeepsTheShellsLimits() throws Exception {
    long hard = hardLimit();
    assumeTrue(hard > 1000, "hard limit " + hard);
    assertThat(launch("ulimit -S -n 1000", "0")).containsExactly(1000, hard);
  }
}
