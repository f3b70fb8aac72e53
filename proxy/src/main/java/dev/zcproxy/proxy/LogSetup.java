package dev.zcproxy.proxy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.FileAppender;
import dev.zcproxy.proxy.config.ProxyConfig;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.LoggerFactory;

/**
 * Applies the {@code logging} section to Logback: the root level and where the access log goes; an
 * access-log file is reopened on {@code SIGUSR1}, as nginx does, so logrotate can move it away.
 */
final class LogSetup {
  private static final org.slf4j.Logger LOG = LoggerFactory.getLogger(LogSetup.class);
  private static final Runnable NOTHING = () -> { };
  private static final String FILE_APPENDER = "ACCESS_FILE";
  private static final String CONSOLE_KEY = "zcproxy.access.console-appenders";
  private static final String ADDITIVE_KEY = "zcproxy.access.additive";

  private LogSetup() {}

  /**
   * Configures Logback for {@code logging}.
   *
   * @return what reopens the access-log file at its configured path (a no-op unless it goes to a file)
   */
  static Runnable apply(ProxyConfig.Logging logging) {
    if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext ctx)) {
      return NOTHING;
    }
    ctx.getLogger(Logger.ROOT_LOGGER_NAME).setLevel(Level.toLevel(logging.level(), Level.INFO));
    ctx.getLogger("com.hazelcast").setLevel(Level.toLevel(logging.clusterLevel(), Level.WARN));
    Logger access = ctx.getLogger("zcproxy.access");
    // Applied again by a reload: the file of the last call goes, the appenders of logback.xml come back.
    List<Appender<ILoggingEvent>> console = consoleAppenders(ctx, access);
    Appender<ILoggingEvent> previous = access.getAppender(FILE_APPENDER);
    if (previous != null) {
      access.detachAppender(previous);
      previous.stop();
    }
    for (Appender<ILoggingEvent> a : console) {
      if (access.getAppender(a.getName()) == null) {
        access.addAppender(a);
      }
    }
    access.setAdditive(ctx.getObject(ADDITIVE_KEY) != Boolean.FALSE);
    switch (logging.accessLog()) {
      case "off" -> {
        access.setLevel(Level.OFF);
        return NOTHING;
      }
      case "stdout" -> {
        access.setLevel(Level.INFO);
        return NOTHING;
      }
      default -> {
        PatternLayoutEncoder enc = new PatternLayoutEncoder();
        enc.setContext(ctx);
        // a JSON line carries its own time
        enc.setPattern(logging.accessLogJson() ? "%msg%n" : "%d{" + LogDefaults.DATE_FORMAT + "} %msg%n");
        enc.start();
        FileAppender<ch.qos.logback.classic.spi.ILoggingEvent> file = new FileAppender<>();
        file.setContext(ctx);
        file.setName(FILE_APPENDER);
        file.setFile(logging.accessLog());
        file.setAppend(true);
        file.setEncoder(enc);
        file.start();
        console.forEach(access::detachAppender); // kept running: a reload back to stdout attaches them again
        access.setAdditive(false);
        access.addAppender(file);
        access.setLevel(Level.INFO);
        return () -> reopen(file);
      }
    }
  }

  /**
   * The access logger's appenders as logback.xml made them (and its additivity), remembered on the
   * logger context at the first call so that later calls can put them back.
   */
  @SuppressWarnings("unchecked")
  private static List<Appender<ILoggingEvent>> consoleAppenders(LoggerContext ctx, Logger access) {
    Object saved = ctx.getObject(CONSOLE_KEY);
    if (saved != null) {
      return (List<Appender<ILoggingEvent>>) saved;
    }
    List<Appender<ILoggingEvent>> list = new ArrayList<>();
    access.iteratorForAppenders().forEachRemaining(a -> {
      if (!FILE_APPENDER.equals(a.getName())) {
        list.add(a);
      }
    });
    ctx.putObject(CONSOLE_KEY, List.copyOf(list));
    ctx.putObject(ADDITIVE_KEY, access.isAdditive());
    return list;
  }

  /** Closes the access-log file and opens its path again (a new file if it was moved), under the appender's lock. */
  private static void reopen(FileAppender<?> file) {
    try {
      file.openFile(file.getFile());
    } catch (java.io.IOException e) {
      LOG.error("could not reopen the access log {}: {}", file.getFile(), e.toString());
    }
  }

  /**
   * Runs {@code reopen} on every {@code SIGUSR1} (logrotate's {@code postrotate}: {@code kill -USR1 <pid>}).
   *
   * @return whether the handler was installed; where it cannot be (no {@code sun.misc.Signal}, signal
   *     reserved by the JVM), a warning says to use logrotate's {@code copytruncate} instead
   */
  static boolean reopenOnSigusr1(Runnable reopen) {
    try {
      sun.misc.Signal.handle(new sun.misc.Signal("USR1"), sig -> reopen.run());
      return true;
    } catch (LinkageError | IllegalArgumentException | UnsupportedOperationException e) {
      LOG.warn("SIGUSR1 cannot reopen the access log here ({}); use logrotate's copytruncate", e.toString());
      return false;
    }
  }
}
