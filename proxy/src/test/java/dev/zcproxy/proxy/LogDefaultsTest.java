package dev.zcproxy.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.AsyncAppender;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.OutputStreamAppender;
import ch.qos.logback.core.status.InfoStatus;
import ch.qos.logback.core.status.StatusUtil;
import ch.qos.logback.core.status.WarnStatus;
import ch.qos.logback.core.util.StatusPrinter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * The configuration {@link LogDefaults} builds in code is the one {@code logback.xml} describes (the
 * jar's copy and {@code conf/}'s), so editing one without the other fails here.
 */
class LogDefaultsTest {
  @Test
  void buildsWhatTheJarsLogbackXmlDescribes() throws Exception {
    LoggerContext fromXml = new LoggerContext();
    JoranConfigurator joran = new JoranConfigurator();
    joran.setContext(fromXml);
    joran.doConfigure(LogDefaults.class.getClassLoader().getResource("logback.xml"));
    LoggerContext fromCode = new LoggerContext();
    LogDefaults.apply(fromCode);
    try {
      assertThat(describe(fromCode)).isEqualTo(describe(fromXml)).contains("zcproxy.access");
    } finally {
      fromXml.stop();
      fromCode.stop();
    }
  }

  @Test
  void confLogbackXmlIsTheSameConfiguration() throws Exception {
    LoggerContext fromConf = new LoggerContext();
    JoranConfigurator joran = new JoranConfigurator();
    joran.setContext(fromConf);
    joran.doConfigure(Path.of("..", "conf", "logback.xml").toFile());
    LoggerContext fromCode = new LoggerContext();
    LogDefaults.apply(fromCode);
    try {
      assertThat(describe(fromCode)).isEqualTo(describe(fromConf));
    } finally {
      fromConf.stop();
      fromCode.stop();
    }
  }

  @Test
  void stepsAsideForAConfigurationFile() {
    String before = System.getProperty("logback.configurationFile");
    System.setProperty("logback.configurationFile", "/nonexistent/logback.xml");
    LoggerContext ctx = new LoggerContext();
    try {
      LogDefaults defaults = new LogDefaults();
      defaults.setContext(ctx);
      assertThat(defaults.configure(ctx)).isEqualTo(Configurator.ExecutionStatus.INVOKE_NEXT_IF_ANY);
      assertThat(ctx.getLogger(Logger.ROOT_LOGGER_NAME).iteratorForAppenders().hasNext()).isFalse();
    } finally {
      if (before == null) {
        System.clearProperty("logback.configurationFile");
      } else {
        System.setProperty("logback.configurationFile", before);
      }
      ctx.stop();
    }
  }

  @Test
  void printsLogbacksStatusOnlyWhenThereIsAWarningOrAnError() {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    StatusPrinter.setPrintStream(new java.io.PrintStream(out, true, java.nio.charset.StandardCharsets.UTF_8));
    LoggerContext quiet = new LoggerContext();
    LoggerContext warned = new LoggerContext();
    LoggerContext listened = new LoggerContext();
    try {
      LogDefaults.apply(quiet);
      quiet.getStatusManager().add(new InfoStatus("all is well", this));
      LogDefaults.printProblemsOnce(quiet);
      assertThat(out.toString(java.nio.charset.StandardCharsets.UTF_8)).isEmpty();
      // the service provider, which asks after configuring, sees a listener and does not ask the printer
      assertThat(StatusUtil.contextHasStatusListener(quiet)).isTrue();

      LogDefaults.apply(warned);
      warned.getStatusManager().add(new WarnStatus("something is off", this));
      LogDefaults.printProblemsOnce(warned);
      assertThat(out.toString(java.nio.charset.StandardCharsets.UTF_8)).contains("WARN", "something is off");
      assertThat(StatusUtil.contextHasStatusListener(warned)).isTrue();

      out.reset();
      listened.getStatusManager().add(new ch.qos.logback.core.status.NopStatusListener());
      listened.getStatusManager().add(new WarnStatus("for the user's listener", this));
      LogDefaults.printProblemsOnce(listened);
      assertThat(out.toString(java.nio.charset.StandardCharsets.UTF_8)).isEmpty();
      assertThat(listened.getStatusManager().getCopyOfStatusListenerList()).hasSize(1);
    } finally {
      StatusPrinter.setPrintStream(System.out);
      quiet.stop();
      warned.stop();
      listened.stop();
    }
  }

  /** Every logger with a level or appenders: level, additivity and its appenders, in name order. */
  private static String describe(LoggerContext ctx) {
    TreeMap<String, String> out = new TreeMap<>();
    for (Logger l : ctx.getLoggerList()) {
      List<String> appenders = new ArrayList<>();
      l.iteratorForAppenders().forEachRemaining(a -> appenders.add(describe(a)));
      if (l.getLevel() != null || !appenders.isEmpty() || !l.isAdditive()) {
        out.put(l.getName(), l.getLevel() + " additive=" + l.isAdditive() + " " + appenders);
      }
    }
    return out.toString();
  }

  private static String describe(Appender<ILoggingEvent> a) {
    String s = a.getName() + ":" + a.getClass().getName() + (a.isStarted() ? " started" : " stopped");
    if (a instanceof OutputStreamAppender<ILoggingEvent> o && o.getEncoder() instanceof PatternLayoutEncoder e) {
      s += " pattern=" + e.getPattern();
    }
    if (a instanceof AsyncAppender async) {
      List<String> inner = new ArrayList<>();
      async.iteratorForAppenders().forEachRemaining(x -> inner.add(describe(x)));
      s += " queue=" + async.getQueueSize() + " discard=" + async.getDiscardingThreshold()
          + " neverBlock=" + async.isNeverBlock() + " " + inner;
    }
    return s;
  }
}
