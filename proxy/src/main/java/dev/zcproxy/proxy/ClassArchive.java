package dev.zcproxy.proxy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * bin/zcproxy's class-data archive: the JVM writes one at exit, and bin/zcproxy takes it into use at a
 * later start only if this process served, so that the archive of a {@code --version} or of a start that
 * failed (a few hundred classes) never stands in for a proxy's.
 */
final class ClassArchive {
  /** The system property bin/zcproxy sets: the file to create once the listener is up. */
  static final String STARTED_PROPERTY = "zcproxy.cds.started";

  private ClassArchive() {}

  /** Creates the file {@link #STARTED_PROPERTY} names, if set; a failure only leaves the archive unused. */
  static void started() {
    String marker = System.getProperty(STARTED_PROPERTY);
    if (marker == null || marker.isEmpty()) {
      return;
    }
    try {
      Files.deleteIfExists(Path.of(marker));
      Files.createFile(Path.of(marker));
    } catch (IOException | RuntimeException e) {
      // the archive of this run is then not used; the proxy is not affected
    }
  }
}
