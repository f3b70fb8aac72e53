package dev.zcproxy.proxy;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Initializes, on a second thread, what the start needs later while the main thread parses the config
 * and builds the metrics registry: Logback, then the Netty and Vert.x classes that building Vert.x, the
 * store and the handler initialize (a list kept in the jar), then (while Main goes on) the log's time-zone
 * rules. A class's static
 * initializer runs once, on whichever thread touches it first, so this moves work off the path to the
 * listener onto the other core without changing what runs.
 *
 * <p>Main waits for each step before it enters that step's library itself ({@link #awaitLogging()} before
 * Logback, {@link #awaitClasses()} before Vert.x), so no library is initialized by two threads at once: a
 * cycle between two static initializers run from two threads would deadlock.
 */
final class StartupWarmer {
  /** The Netty and Vert.x classes to initialize, one name a line; {@code #} starts a comment. */
  static final String CLASS_LIST = "startup-classes.txt";
  private static final String EPOLL = "io.netty.channel.epoll.";
  /** How long Main waits for a step before going on without it. */
  private static final long WAIT_SECONDS = 20;

  private final CountDownLatch logging = new CountDownLatch(1);
  private final CountDownLatch classes = new CountDownLatch(1);
  private volatile int initialized;
  private volatile int missing;

  private StartupWarmer() {}

  /**
   * Starts the warming thread (a daemon: it never holds the JVM up); with {@code -Dzcproxy.warm=false} none,
   * and every await returns at once (to measure a start without it).
   */
  static StartupWarmer start() {
    StartupWarmer w = new StartupWarmer();
    if ("false".equals(System.getProperty("zcproxy.warm"))) {
      w.logging.countDown();
      w.classes.countDown();
      return w;
    }
    Thread t = new Thread(w::run, "zcproxy-warm");
    t.setDaemon(true);
    t.start();
    return w;
  }

  private void run() {
    try {
      try {
        org.slf4j.LoggerFactory.getILoggerFactory(); // Logback configures itself here (LogDefaults)
      } finally {
        logging.countDown();
      }
      initializeClasses(StartupWarmer.class.getClassLoader());
      classes.countDown();
      // off the path to the listener now (Main goes on to Vert.x): what the first time-stamped log line needs
      warmDateFormat();
    } catch (Throwable t) {
      // only a head start: whatever failed here fails again, and is reported, where the start needs it
    } finally {
      logging.countDown();
      classes.countDown();
    }
  }

  /**
   * Formats one time stamp as the log's {@code %d} does, so that the system time zone's rules (read from the
   * JDK's time-zone database, tens of ms) are loaded before the first log line, which {@link LazyDateConverter}
   * no longer prepares at configuration: that line may be an access-log line on an event loop.
   */
  static void warmDateFormat() {
    new ch.qos.logback.core.util.CachingDateFormatter(LogDefaults.DATE_FORMAT).format(System.currentTimeMillis());
  }

  /** Initializes the listed classes with {@code loader}; those it cannot find or initialize are skipped. */
  void initializeClasses(ClassLoader loader) throws IOException {
    InputStream in = StartupWarmer.class.getResourceAsStream(CLASS_LIST);
    if (in == null) {
      return;
    }
    Boolean epoll = null;
    int done = 0;
    int absent = 0;
    try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
      for (String line; (line = r.readLine()) != null; ) {
        String name = line.strip();
        if (name.isEmpty() || name.startsWith("#")) {
          continue;
        }
        if (name.startsWith(EPOLL) && !name.equals(EPOLL + "Epoll")) {
          // the native transport's classes only where it loads (Epoll's own initializer catches that failure;
          // theirs would fail with a worse message when Vert.x later asks)
          if (epoll == null) {
            epoll = epollAvailable(loader);
          }
          if (!epoll) {
            continue;
          }
        }
        try {
          Class.forName(name, true, loader);
          done++;
        } catch (ClassNotFoundException | LinkageError e) {
          absent++;
        }
      }
    } finally {
      initialized = done;
      missing = absent;
    }
  }

  private static boolean epollAvailable(ClassLoader loader) {
    try {
      return (Boolean) Class.forName(EPOLL + "Epoll", true, loader).getMethod("isAvailable").invoke(null);
    } catch (ReflectiveOperationException | LinkageError e) {
      return false;
    }
  }

  /** Waits (bounded) until Logback has configured itself. */
  void awaitLogging() {
    await(logging);
  }

  /** Waits (bounded) until the listed classes are initialized. */
  void awaitClasses() {
    await(classes);
  }

  /** Classes of the list initialized, and those not found or failing, so far. */
  int[] counts() {
    return new int[] {initialized, missing};
  }

  private static void await(CountDownLatch latch) {
    try {
      latch.await(WAIT_SECONDS, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
