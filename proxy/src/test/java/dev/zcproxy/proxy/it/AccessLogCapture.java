package dev.zcproxy.proxy.it;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.slf4j.LoggerFactory;

/**
 * Captures what the real {@code zcproxy.access} logger writes during each test (register it with
 * {@code @RegisterExtension}): one formatted message per line in {@link #lines}, attached before the
 * test's own {@code @BeforeEach} and detached after its {@code @AfterEach}.
 */
final class AccessLogCapture implements BeforeEachCallback, AfterEachCallback {
  /** The captured lines, oldest first. */
  final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
  private final AppenderBase<ILoggingEvent> appender = new AppenderBase<>() {
    @Override
    protected void append(ILoggingEvent e) {
      lines.add(e.getFormattedMessage());
    }
  };

  private static Logger accessLogger() {
    return (Logger) LoggerFactory.getLogger("zcproxy.access");
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    appender.start();
    accessLogger().addAppender(appender);
  }

  @Override
  public void afterEach(ExtensionContext context) {
    accessLogger().detachAppender(appender);
    appender.stop();
  }
}
