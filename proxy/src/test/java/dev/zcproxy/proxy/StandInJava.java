package dev.zcproxy.proxy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

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
}
