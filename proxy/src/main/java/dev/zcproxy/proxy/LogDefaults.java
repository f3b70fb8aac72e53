package dev.zcproxy.proxy;

import ch.qos.logback.classic.AsyncAppender;
import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ConfiguratorRank;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.CoreConstants;
import ch.qos.logback.core.pattern.DynamicConverter;
import ch.qos.logback.core.spi.ContextAwareBase;
import ch.qos.logback.core.status.Status;
import ch.qos.logback.core.status.NopStatusListener;
import ch.qos.logback.core.status.StatusUtil;
import ch.qos.logback.core.util.StatusPrinter;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Logback's default configuration, the one in the jar's {@code logback.xml}, built in code: Logback's XML
 * reader takes about a fifth of zcproxy's start-up CPU (a few hundred classes, an XML parser) before the
 * listener can open.
 *
 * <p>Found by Logback through {@code META-INF/services}; it steps aside, so that Logback reads the file
 * as before, when {@code -Dlogback.configurationFile} names one or a {@code logback-test.xml} is on the
 * class path. {@code LogDefaultsTest} keeps it equal to {@code logback.xml}.
 */
@ConfiguratorRank(ConfiguratorRank.CUSTOM_HIGH_PRIORITY)
public final class LogDefaults extends ContextAwareBase implements Configurator {
  /** The time stamp's format in logback.xml's patterns (and the access-log file's, {@code LogSetup}). */
  static final String DATE_FORMAT = "yyyy-MM-dd'T'HH:mm:ss.SSSXXX";
  /** The console line of logback.xml's {@code CONSOLE} appender. */
  static final String CONSOLE_PATTERN = "%d{" + DATE_FORMAT + "} %-5level [%thread] %logger{36} - %msg%n";

  /** Logback's: public, no arguments. */
  public LogDefaults() {}

  @Override
  public ExecutionStatus configure(LoggerContext ctx) {
    if (System.getProperty("logback.configurationFile") != null
        || LogDefaults.class.getClassLoader().getResource("logback-test.xml") != null) {
      return ExecutionStatus.INVOKE_NEXT_IF_ANY;
    }
    apply(ctx);
    printProblemsOnce(ctx);
    return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
  }

  /**
   * What Logback's service provider does after configuring, without its cost when there is nothing to say: it
   * prints the status messages when one is a warning or an error and the context has no status listener, and
   * just asking its printer initializes the printer's time-stamp format, which looks up the system time zone's
   * rules (tens of ms of a start, on the way to the listener). Here the same check, the same printer only when
   * there is a warning or an error, then a listener that prints nothing, so the provider does not ask again.
   */
  static void printProblemsOnce(LoggerContext ctx) {
    if (StatusUtil.contextHasStatusListener(ctx)) {
      return; // -Dlogback.statusListenerClass: the provider leaves the printing to it, and so does this
    }
    if (new StatusUtil(ctx).getHighestLevel(0) >= Status.WARN) {
      StatusPrinter.printInCaseOfErrorsOrWarnings(ctx);
    }
    // Logback prints its status messages once, after configuring: later ones are not printed either way
    ctx.getStatusManager().add(new NopStatusListener());
  }

  /** Configures {@code ctx} as logback.xml does. */
  static void apply(LoggerContext ctx) {
    // %d formats as before, but looks up the time zone at its first line, not here (LazyDateConverter)
    Map<String, Supplier<DynamicConverter>> rules = new HashMap<>();
    rules.put("d", LazyDateConverter::new);
    rules.put("date", LazyDateConverter::new);
    ctx.putObject(CoreConstants.PATTERN_RULE_REGISTRY_FOR_SUPPLIERS, rules);
    ConsoleAppender<ILoggingEvent> console = console(ctx, "CONSOLE", CONSOLE_PATTERN);
    ConsoleAppender<ILoggingEvent> accessConsole = console(ctx, "ACCESS_CONSOLE", "%msg%n");
    // one line per request through an async queue: the event loop never blocks on the console; lines
    // are dropped, not waited for, when the queue is full
    AsyncAppender async = new AsyncAppender();
    async.setContext(ctx);
    async.setName("ASYNC_ACCESS");
    async.setQueueSize(8192);
    async.setDiscardingThreshold(0);
    async.setNeverBlock(true);
    async.addAppender(accessConsole);
    async.start();
    Logger access = ctx.getLogger("zcproxy.access");
    access.setLevel(Level.INFO);
    access.setAdditive(false);
    access.addAppender(async);
    ctx.getLogger("io.netty").setLevel(Level.INFO);
    ctx.getLogger("io.vertx").setLevel(Level.INFO);
    ctx.getLogger("com.hazelcast").setLevel(Level.WARN);
    Logger root = ctx.getLogger(Logger.ROOT_LOGGER_NAME);
    root.setLevel(Level.INFO);
    root.addAppender(console);
  }

  private static ConsoleAppender<ILoggingEvent> console(LoggerContext ctx, String name, String pattern) {
    PatternLayoutEncoder encoder = new PatternLayoutEncoder();
    encoder.setContext(ctx);
    encoder.setPattern(pattern);
    encoder.start();
    ConsoleAppender<ILoggingEvent> appender = new ConsoleAppender<>();
    appender.setContext(ctx);
    appender.setName(name);
    appender.setEncoder(encoder);
    appender.start();
    return appender;
  }
}
