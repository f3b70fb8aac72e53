package dev.zcproxy.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

class StartupPhasesTest {
  @Test
  void execTimeIsReadFromTheProcessStartTicksAndTheUptime() {
    // a command name with spaces and parentheses: the fields are counted from the last ')'
    String stat = "4242 (odd ) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 19 0 " + 123_456
        + " 4000000000 9000 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
    assertEquals(1_250, StartupPhases.execToNowMillis(stat, "1235.81 2400.00\n", 100));
    assertEquals(-1, StartupPhases.execToNowMillis("garbage", "1235.81 2400.00\n", 100));
    assertEquals(-1, StartupPhases.execToNowMillis(stat, "", 100));
  }

  /**
   * The exec time the start-up line counts from is when the process really began, not up to a second
   * earlier: the JDK's {@code ProcessHandle.Info.startInstant()} adds the process's start ticks to the boot
   * time of {@code /proc/stat}, which is whole seconds, so every phase "jvm" was too long by the boot
   * time's lost fraction (0.44 s on the machine where it was found).
   */
  @Test
  @EnabledOnOs(OS.LINUX)
  void execTimeOfAChildProcessIsNotBeforeItWasStarted() throws Exception {
    Path out = Files.createTempFile("startup-phases", ".txt");
    try {
      for (int round = 0; round < 2; round++) {
        long before = System.currentTimeMillis();
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-Xshare:auto", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"), Child.class.getName(),
            out.toString())
            .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the child JVM ended");
        long after = System.currentTimeMillis();
        assertEquals(0, p.exitValue());
        long exec = Long.parseLong(Files.readString(out, StandardCharsets.US_ASCII).trim());
        // the start ticks and the uptime are hundredths of a second, each read rounded down
        assertTrue(exec >= before - 50, "exec " + (before - exec) + " ms before the child was started");
        assertTrue(exec <= after, "exec after the child ended");
      }
    } finally {
      Files.deleteIfExists(out);
    }
  }

  /** Writes the epoch milliseconds of its own exec as {@link StartupPhases} counts them. */
  public static final class Child {
    public static void main(String[] args) throws IOException {
      StartupPhases phases = new StartupPhases();
      long exec = System.currentTimeMillis() - phases.wallMillis();
      Files.writeString(Path.of(args[0]), Long.toString(exec), StandardCharsets.US_ASCII);
    }
  }
}
