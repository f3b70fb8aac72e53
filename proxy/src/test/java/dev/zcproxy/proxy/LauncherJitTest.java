package dev.zcproxy.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * bin/zcproxy raises the C2 compile thresholds to 3x the JDK's by default (loadtest/results/ZIPF-2026-12-04b.md), and
 * the user's ZCPROXY_JAVA_OPTS replace them with the other defaults. Run with a stand-in {@code java} that prints its
 * arguments.
 */
class LauncherJitTest {
  private static final String[] THRESHOLDS = {"-XX:Tier4InvocationThreshold=15000", "-XX:Tier4MinInvocationThreshold=1800",
      "-XX:Tier4CompileThreshold=45000", "-XX:Tier4BackEdgeThreshold=120000"};

  @TempDir
  Path tmp;

  private Path javaHome;

  @BeforeEach
  void fakeJava() throws Exception {
    javaHome = StandInJava.install(tmp, "#!/bin/sh\necho \"$@\"\n");
  }

  /** The arguments bin/zcproxy's java got, with {@code ZCPROXY_JAVA_OPTS} set to {@code opts} unless null. */
  private String launch(String opts) throws Exception {
    Path launcher = Path.of("../bin/zcproxy").toAbsolutePath().normalize();
    ProcessBuilder pb = new ProcessBuilder("sh", "-c", "exec " + launcher + " --version").redirectErrorStream(true);
    pb.environment().put("JAVA_HOME", javaHome.toString());
    pb.environment().put("ZCPROXY_JAR", tmp.resolve("zcproxy.jar").toString());
    pb.environment().put("ZCPROXY_CDS", "off");
    pb.environment().put("ZCPROXY_NOFILE", "0");
    pb.environment().remove("ZCPROXY_JAVA_OPTS");
    if (opts != null) {
      pb.environment().put("ZCPROXY_JAVA_OPTS", opts);
    }
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    assertThat(p.waitFor()).as(out).isZero();
    return out;
  }

  @Test
  void c2ThresholdsAreThreeTimesTheJdksByDefault() throws Exception {
    assertThat(launch(null)).contains(THRESHOLDS).contains("-XX:+UseSerialGC");
  }

  @Test
  void theUsersOptionsReplaceThem() throws Exception {
    String out = launch("-Xmx256m");
    assertThat(out).contains("-Xmx256m");
    for (String t : THRESHOLDS) {
      assertThat(out).doesNotContain(t);
    }
  }
}
