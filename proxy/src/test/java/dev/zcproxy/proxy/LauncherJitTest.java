package dev.zcproxy.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * bin/zcproxy raises the C2 compile thresholds to 3x the JDK's by default (loadtest/results/ZIPF-2026-12-04b.md), and
 * the user's ZCPROXY_JAVA_OPTS replace them with the other defaults. Run with a stand-in {@code java} that prints its
 * arguments. The load-test kit's warm-up scripts start from the same defaults (loadtest/lib/common.sh's launcher_opts).
 */
class LauncherJitTest {
  private static final String[] THRESHOLDS = {"-XX:Tier4InvocationThreshold=15000", "-XX:Tier4MinInvocationThreshold=1800",
      "-XX:Tier4CompileThreshold=45000", "-XX:Tier4BackEdgeThreshold=120000"};

  @TempDir
  Path tmp;

  @BeforeEach
  void fakeJava() throws Exception {
    StandInJava.install(tmp, "#!/bin/sh\necho \"$@\"\n");
  }

  /** The arguments bin/zcproxy's java got, with {@code ZCPROXY_JAVA_OPTS} set to {@code opts} unless null. */
  private String launch(String opts) throws Exception {
    Map<String, String> env = opts == null ? Map.of() : Map.of("ZCPROXY_JAVA_OPTS", opts);
    return StandInJava.launch(tmp, "", env, List.of("ZCPROXY_JAVA_OPTS"), "--version");
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

  /** What loadtest/lib/common.sh's launcher_opts prints for the stand-in java. */
  private String kitOptions() throws Exception {
    Path common = Path.of("../loadtest/lib/common.sh").toAbsolutePath().normalize();
    Process p = new ProcessBuilder("bash", "-c", ". \"$0\" && launcher_opts \"$1\"", common.toString(),
        tmp.resolve("jdk/bin/java").toString()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    assertThat(p.waitFor()).as(out).isZero();
    return out;
  }

  @Test
  void theLoadTestKitStartsFromTheLaunchersDefaults() throws Exception {
    String kit = kitOptions();
    assertThat(kit).contains(THRESHOLDS).doesNotContain("TrimNativeHeapInterval");
    assertThat(launch(null)).startsWith(kit + " -jar ");
  }

  @Test
  void theLoadTestKitTrimsTheNativeHeapWhereTheLauncherDoes() throws Exception {
    Path libjvm = tmp.resolve("jdk/lib/server/libjvm.so");
    Files.createDirectories(libjvm.getParent());
    Files.writeString(libjvm, "a JVM that knows TrimNativeHeapInterval");
    String kit = kitOptions();
    assertThat(kit).contains(THRESHOLDS).contains("-XX:TrimNativeHeapInterval=10000");
    assertThat(launch(null)).startsWith(kit + " -jar ");
  }
}
