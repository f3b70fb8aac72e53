package dev.zcproxy.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;

/** A stand-in {@code java} for bin/zcproxy's tests: a shell script in a JDK's layout, beside a jar it never reads. */
final class StandInJava {
  private StandInJava() {
  }

  /** Writes {@code script} as {@code dir/jdk/bin/java} and a placeholder {@code dir/zcproxy.jar}; returns the JDK home. */
  static Path install(Path dir, String script) throws IOException {
    Path javaHome = dir.resolve("jdk");
    Path java = javaHome.resolve("bin/java");
    Files.createDirectories(java.getParent());
    Files.writeString(java, script);
    Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
    Files.writeString(dir.resolve("zcproxy.jar"), "not a jar: the stand-in java never reads it");
    return javaHome;
  }

  /**
   * Runs {@code sh -c "<prefix> exec bin/zcproxy <args>"} on the stand-in java and jar that {@link #install} put in
   * {@code dir}, with no class-data archive and the descriptor limit kept, the names in {@code unset} removed from the
   * environment and then {@code env} set; returns what it printed, once it exited 0.
   */
  static String launch(Path dir, String prefix, Map<String, String> env, List<String> unset, String args) throws Exception {
    Path launcher = Path.of("../bin/zcproxy").toAbsolutePath().normalize();
    ProcessBuilder pb = new ProcessBuilder("sh", "-c", prefix + " exec " + launcher + " " + args).redirectErrorStream(true);
    pb.environment().put("JAVA_HOME", dir.resolve("jdk").toString());
    pb.environment().put("ZCPROXY_JAR", dir.resolve("zcproxy.jar").toString());
    pb.environment().put("ZCPROXY_CDS", "off");
    pb.environment().put("ZCPROXY_NOFILE", "0");
    unset.forEach(pb.environment()::remove);
    pb.environment().putAll(env);
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    assertThat(p.waitFor()).as(out).isZero();
    return out;
  }
}
