package dev.zcproxy.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.PatternLayout;
import ch.qos.logback.classic.pattern.DateConverter;
import ch.qos.logback.classic.spi.LoggingEvent;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link LazyDateConverter} writes what Logback's own {@code %d} writes, and looks up the time zone only at
 * its first line.
 */
class LazyDateConverterTest {
  /** Instants across seconds, milliseconds, years and a summer and a winter day. */
  private static final long[] TIMES = {0L, 999L, 1_000L, 1_764_691_200_123L, 1_764_691_200_999L, 1_764_691_201_000L,
      1_751_362_245_678L, 1_735_689_599_999L, 4_102_444_800_001L};

  @Test
  void theDefaultsFormatEveryLineAsLogbacksOwnConverter() {
    LoggerContext defaults = new LoggerContext();
    LoggerContext plain = new LoggerContext();
    try {
      LogDefaults.apply(defaults);
      for (String pattern : List.of(LogDefaults.CONSOLE_PATTERN, "%d{" + LogDefaults.DATE_FORMAT + "} %msg%n",
          "%date %d{ISO8601} %d{HH:mm:ss.SSS, Europe/Berlin} %d{yyyy-MM-dd'T'HH:mm:ssXXX, America/St_Johns} [%-30d] %msg%n")) {
        PatternLayout lazy = layout(defaults, pattern);
        PatternLayout own = layout(plain, pattern);
        assertThat(lazy.getEffectiveConverterMap().get("d").get()).isInstanceOf(LazyDateConverter.class);
        assertThat(own.getEffectiveConverterMap().get("d").get()).isInstanceOf(DateConverter.class);
        List<String> a = new ArrayList<>();
        List<String> b = new ArrayList<>();
        for (long t : TIMES) {
          a.add(lazy.doLayout(event(defaults, t)));
          b.add(own.doLayout(event(plain, t)));
        }
        assertThat(a).as(pattern).isEqualTo(b).allSatisfy(line -> assertThat(line).contains("hello"));
      }
    } finally {
      defaults.stop();
      plain.stop();
    }
  }

  @Test
  void startsLogbacksConverterAtTheFirstLineOnly() {
    LoggerContext ctx = new LoggerContext();
    try {
      LazyDateConverter lazy = new LazyDateConverter();
      lazy.setContext(ctx);
      lazy.setOptionList(List.of(LogDefaults.DATE_FORMAT));
      lazy.start();
      assertThat(lazy.delegateStarted()).isFalse();
      DateConverter own = new DateConverter();
      own.setContext(ctx);
      own.setOptionList(List.of(LogDefaults.DATE_FORMAT));
      own.start();
      LoggingEvent e = event(ctx, 1_764_691_200_123L);
      assertThat(lazy.convert(e)).isEqualTo(own.convert(e)).startsWith("20");
      assertThat(lazy.delegateStarted()).isTrue();
      assertThat(lazy.delegate()).isSameAs(lazy.delegate());
    } finally {
      ctx.stop();
    }
  }

  @Test
  void theWarmerFormatsTheLogsTimeStamp() {
    StartupWarmer.warmDateFormat(); // what the warming thread runs after its class list: must not throw
  }

  private static PatternLayout layout(LoggerContext ctx, String pattern) {
    PatternLayout l = new PatternLayout();
    l.setContext(ctx);
    l.setPattern(pattern);
    l.start();
    assertThat(l.isStarted()).isTrue();
    return l;
  }

  private static LoggingEvent event(LoggerContext ctx, long millis) {
    LoggingEvent e = new LoggingEvent("x", ctx.getLogger("a.b.C"), Level.INFO, "hello", null, null);
    e.setTimeStamp(millis);
    e.setThreadName("t");
    return e;
  }
}
