package dev.zcproxy.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.LoggerContext;
import dev.zcproxy.proxy.config.ProxyConfig;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * The access-log file is reopened at its path after logrotate moved it away: by the reopen action
 * itself, and by {@code SIGUSR1} sent to a child JVM that set it up as {@link Main} does.
 */
class LogSetupTest {
  @TempDir
  Path dir;

  @AfterEach
  void detach() {
    if (LoggerFactory.getILoggerFactory() instanceof LoggerContext ctx) {
      ctx.getLogger("zcproxy.access").detachAndStopAllAppenders();
    }
  }

  @Test
  void hazelcastGetsTheClusterLevel() {
    LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
    LogSetup.apply(new ProxyConfig.Logging("off", "info", true, "text", "debug"));
    assertThat(ctx.getLogger("com.hazelcast.cluster").getEffectiveLevel().toString()).isEqualTo("DEBUG");
    LogSetup.apply(new ProxyConfig.Logging("off", "info", true, "text"));
    assertThat(ctx.getLogger("com.hazelcast.cluster").getEffectiveLevel().toString()).isEqualTo("WARN");
  }

  @Test
  void reopenWritesToANewFileAtThePathAfterTheOldOneWasMoved() throws Exception {
    Path log = dir.resolve("access.log");
    Runnable reopen = LogSetup.apply(new ProxyConfig.Logging(log.toString(), "info", true, "json"));
    org.slf4j.Logger access = LoggerFactory.getLogger("zcproxy.access");
    access.info("{\"line\":1}");
    Path rotated = dir.resolve("access.log.1");
    Files.move(log, rotated);
    access.info("{\"line\":2}");
    reopen.run();
    access.info("{\"line\":3}");
    // JSON lines are written as they are, without the text format's timestamp prefix
    assertThat(Files.readAllLines(rotated)).containsExactly("{\"line\":1}", "{\"line\":2}");
    assertThat(Files.readAllLines(log)).containsExactly("{\"line\":3}");
  }

  @Test
  void applyingAgainMovesTheAccessLogFromAFileBackToStdoutAndToAnotherFile() throws Exception {
    // what a reload of logging.access-log does
    Path first = dir.resolve("first.log");
    Path second = dir.resolve("second.log");
    LogSetup.apply(new ProxyConfig.Logging(first.toString(), "info", true, "json"));
    org.slf4j.Logger access = LoggerFactory.getLogger("zcproxy.access");
    access.info("{\"line\":1}");
    LogSetup.apply(new ProxyConfig.Logging("stdout", "info", true, "json"));
    access.info("{\"line\":2}");
    LogSetup.apply(new ProxyConfig.Logging(second.toString(), "info", true, "json"));
    access.info("{\"line\":3}");
    LogSetup.apply(new ProxyConfig.Logging("off", "info", true, "json"));
    access.info("{\"line\":4}");
    assertThat(Files.readAllLines(first)).containsExactly("{\"line\":1}");
    assertThat(Files.readAllLines(second)).containsExactly("{\"line\":3}");
    // stdout again: the appenders of logback.xml are back
    LogSetup.apply(new ProxyConfig.Logging("stdout", "info", true, "json"));
    LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
    assertThat(ctx.getLogger("zcproxy.access").iteratorForAppenders().hasNext()).isTrue();
    assertThat(ctx.getLogger("zcproxy.access").getAppender("ACCESS_FILE")).isNull();
  }

  @Test
  void stdoutAndOffHaveNothingToReopen() {
    LogSetup.apply(new ProxyConfig.Logging("off", "info", true)).run();
    LogSetup.apply(new ProxyConfig.Logging("stdout", "info", true)).run();
    assertThat(dir.toFile().list()).isEmpty();
  }

  @Test
  void sigusr1ReopensTheFileInAChildJvm() throws Exception {
    Path log = dir.resolve("access.log");
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process child = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), Child.class.getName(), log.toString())
        .redirectError(ProcessBuilder.Redirect.INHERIT).start();
    try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
        Writer in = new OutputStreamWriter(child.getOutputStream(), StandardCharsets.UTF_8)) {
      assertThat(line(out)).isEqualTo("installed true");
      in.write("before\n");
      in.flush();
      assertThat(line(out)).isEqualTo("logged before");
      Path rotated = dir.resolve("access.log.1");
      Files.move(log, rotated);
      Process kill = new ProcessBuilder("kill", "-USR1", Long.toString(child.pid())).inheritIO().start();
      assertThat(kill.waitFor(20, TimeUnit.SECONDS)).isTrue();
      assertThat(kill.exitValue()).isZero();
      assertThat(line(out)).isEqualTo("reopened");
      in.write("after\n");
      in.flush();
      assertThat(line(out)).isEqualTo("logged after");
      assertThat(Files.readAllLines(rotated)).containsExactly("before");
      assertThat(Files.readAllLines(log)).containsExactly("after");
    } finally {
      child.destroy();
      child.waitFor(20, TimeUnit.SECONDS);
    }
  }

  private static String line(BufferedReader out) throws Exception {
    return CompletableFuture.supplyAsync(() -> {
      try {
        return out.readLine();
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }).get(60, TimeUnit.SECONDS);
  }

  /** Sets up a JSON access-log file as {@link Main} does, then logs each stdin line and reports on stdout. */
  static final class Child {
    public static void main(String[] args) throws Exception {
      Runnable reopen = LogSetup.apply(new ProxyConfig.Logging(args[0], "info", true, "json"));
      boolean installed = LogSetup.reopenOnSigusr1(() -> {
        reopen.run();
        System.out.println("reopened");
      });
      System.out.println("installed " + installed);
      org.slf4j.Logger access = LoggerFactory.getLogger("zcproxy.access");
      BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      String l;
      while ((l = in.readLine()) != null) {
        access.info(l);
        System.out.println("logged " + l);
      }
    }
  }
}
