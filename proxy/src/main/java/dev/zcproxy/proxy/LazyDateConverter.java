package dev.zcproxy.proxy;

import ch.qos.logback.classic.pattern.ClassicConverter;
import ch.qos.logback.classic.pattern.DateConverter;
import ch.qos.logback.classic.spi.ILoggingEvent;

/**
 * Logback's {@code %d} converter, started at the first event it formats instead of when the pattern is
 * configured: starting it looks up the system time zone's rules (java.time's zone provider reads the JDK's
 * time-zone database), about a third of Logback's configuration time, on the way to the listener.
 *
 * <p>It formats with Logback's own {@link DateConverter} (same options: pattern, zone, locale), so every line
 * is what {@code %d} writes. Thread-safe: the delegate is made once under this object's lock and published
 * through a volatile field; after that, each call is the delegate's own (thread-safe) conversion.
 */
final class LazyDateConverter extends ClassicConverter {
  private volatile DateConverter delegate;

  /** Logback's: made by the pattern layout, one per {@code %d} in a pattern. */
  LazyDateConverter() {}

  @Override
  public String convert(ILoggingEvent event) {
    return delegate().convert(event);
  }

  /** The started {@code DateConverter}, made at the first call. */
  DateConverter delegate() {
    DateConverter d = delegate;
    if (d == null) {
      synchronized (this) {
        d = delegate;
        if (d == null) {
          d = new DateConverter();
          d.setContext(getContext());
          d.setOptionList(getOptionList());
          d.start();
          delegate = d;
        }
      }
    }
    return d;
  }

  /** Whether the delegate was made (the zone rules looked up) yet. */
  boolean delegateStarted() {
    return delegate != null;
  }
}
