package dev.zcproxy.proxy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.core.FileAppender;
import dev.zcproxy.proxy.config.ProxyConfig;
import org.slf4j.LoggerFactory;

/** Applies the {@code logging} section to Logback: the root level and where the access log goes. */
final class LogSetup {
  private LogSetup() {}

  static void apply(ProxyConfig.Logging logging) {
    if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext ctx)) {
      return;
    }
    ctx.getLogger(Logger.ROOT_LOGGER_NAME).setLevel(Level.toLevel(logging.level(), Level.INFO));
    Logger access = ctx.getLogger("zcproxy.access");
    switch (logging.accessLog()) {
      case "off" -> access.setLevel(Level.OFF);
      case "stdout" -> access.setLevel(Level.INFO);
      default -> {
        PatternLayoutEncoder enc = new PatternLayoutEncoder();
        enc.setContext(ctx);
        enc.setPattern("%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %msg%n");
        enc.start();
        FileAppender<ch.qos.logback.classic.spi.ILoggingEvent> file = new FileAppender<>();
        file.setContext(ctx);
        file.setName("ACCESS_FILE");
        file.setFile(logging.accessLog());
        file.setAppend(true);
        file.setEncoder(enc);
        file.start();
        access.detachAndStopAllAppenders();
        access.setAdditive(false);
        access.addAppender(file);
        access.setLevel(Level.INFO);
      }
    }
  }
}
