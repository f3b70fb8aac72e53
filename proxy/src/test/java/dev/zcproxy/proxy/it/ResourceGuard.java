package dev.zcproxy.proxy.it;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.io.IOException;
import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.slf4j.LoggerFactory;

/**
 * Guards every integration test (auto-detected, enabled by failsafe only): after each test no Netty
 * buffer leaked and no file under a test's temporary directory is still open in this JVM.
 *
 * <p>Leaks: failsafe runs with {@code io.netty.leakDetection.level=paranoid}, so every buffer is tracked;
 * Netty reports a leaked one as an ERROR on {@code io.netty.util.ResourceLeakDetector} when the buffer has
 * been garbage collected and the next tracked buffer is allocated. The guard records those reports, and
 * after each test forces a collection, waits (boundedly) for the reference handler, allocates a few buffers
 * so Netty drains its queue, and fails the test when a report arrived. A leak is reported once per
 * allocation site per JVM, and may surface one test late (when its buffer is still reachable at the check).
 *
 * <p>Open files: {@code /proc/self/fd} links that point under {@code java.io.tmpdir} into a JUnit
 * {@code @TempDir} or a {@code zcproxy} directory must all be gone, polled for a bounded time because
 * cache files close asynchronously on the cache-io pool.
 */
public final class ResourceGuard implements AfterEachCallback {
  static final String LEAK_LOGGER = "io.netty.util.ResourceLeakDetector";
  private static final long FD_WAIT_MS = 5_000;
  private static final ConcurrentLinkedQueue<String> REPORTS = new ConcurrentLinkedQueue<>();
  /** Open files already failed one test: reported once, so one leak does not fail every later test. */
  private static final java.util.Set<String> REPORTED_OPEN = java.util.concurrent.ConcurrentHashMap.newKeySet();
  private static volatile boolean installed;

  public ResourceGuard() {
    install();
  }

  @Override
  public void afterEach(ExtensionContext context) throws Exception {
    List<String> leaks = collectLeaks();
    List<String> open = awaitNoOpenTempFiles(FD_WAIT_MS, REPORTED_OPEN);
    REPORTED_OPEN.addAll(open);
    StringBuilder failure = new StringBuilder();
    if (!leaks.isEmpty()) {
      failure.append(leaks.size()).append(" Netty leak report(s) after ").append(context.getDisplayName())
          .append(" (a leak can surface one test late):\n").append(String.join("\n---\n", leaks)).append('\n');
    }
    if (!open.isEmpty()) {
      failure.append("files still open ").append(FD_WAIT_MS).append(" ms after ").append(context.getDisplayName())
          .append(": ").append(open).append('\n');
    }
    if (failure.length() > 0) {
      throw new AssertionError(failure.toString());
    }
  }

  /** Attaches the recording appender to Netty's leak logger, once per JVM. */
  static synchronized void install() {
    if (installed) {
      return;
    }
    if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext ctx)) {
      throw new IllegalStateException("ResourceGuard needs Logback as the SLF4J backend");
    }
    Logger logger = ctx.getLogger(LEAK_LOGGER);
    logger.setLevel(Level.WARN); // a root level changed by a test must not silence leak reports
    AppenderBase<ILoggingEvent> recorder = new AppenderBase<>() {
      @Override
      protected void append(ILoggingEvent event) {
        if (event.getLevel().isGreaterOrEqual(Level.ERROR)) {
          REPORTS.add(event.getFormattedMessage());
        }
      }
    };
    recorder.setContext(ctx);
    recorder.setName("zcproxy-leak-recorder");
    recorder.start();
    logger.addAppender(recorder);
    installed = true;
  }

  /**
   * Makes Netty report buffers that became unreachable, and returns (and forgets) every report so far.
   * Bounded: one forced collection, at most 2 s for the reference handler, a few allocations.
   */
  static List<String> collectLeaks() throws InterruptedException {
    ReferenceQueue<Object> queue = new ReferenceQueue<>();
    WeakReference<Object> sentinel = new WeakReference<>(new Object(), queue);
    for (int i = 0; i < 3 && queue.poll() == null; i++) {
      System.gc();
      // the sentinel is enqueued by the same reference handler pass as Netty's leak references
      if (queue.remove(700) != null) {
        break;
      }
    }
    sentinel.clear();
    // Netty drains its reference queue (and reports) when it tracks a new buffer.
    for (int i = 0; i < 4; i++) {
      PooledByteBufAllocator.DEFAULT.directBuffer(16).release();
      PooledByteBufAllocator.DEFAULT.heapBuffer(16).release();
      UnpooledByteBufAllocator.DEFAULT.directBuffer(16).release();
      UnpooledByteBufAllocator.DEFAULT.heapBuffer(16).release();
    }
    List<String> out = new ArrayList<>();
    for (String r; (r = REPORTS.poll()) != null; ) {
      out.add(r);
    }
    return out;
  }

  /** Polls until no test temp file is open, for at most {@code waitMs}; returns what is still open. */
  static List<String> awaitNoOpenTempFiles(long waitMs) throws InterruptedException {
    return awaitNoOpenTempFiles(waitMs, java.util.Set.of());
  }

  /** As {@link #awaitNoOpenTempFiles(long)}, not counting the files in {@code ignore} (already reported). */
  static List<String> awaitNoOpenTempFiles(long waitMs, java.util.Set<String> ignore) throws InterruptedException {
    long deadline = System.nanoTime() + waitMs * 1_000_000;
    long pause = 5;
    while (true) {
      List<String> open = new ArrayList<>(openTempFiles());
      open.removeIf(ignore::contains);
      if (open.isEmpty() || System.nanoTime() > deadline) {
        return open;
      }
      Thread.sleep(pause); // polling an external state (the fd table) with backoff, bounded above
      pause = Math.min(pause * 2, 200);
    }
  }

  /** Targets of this JVM's open descriptors that lie in a JUnit temp dir or a zcproxy dir under java.io.tmpdir. */
  static List<String> openTempFiles() {
    Path fds = Path.of("/proc/self/fd");
    if (!Files.isDirectory(fds)) {
      return List.of(); // not Linux: nothing to check
    }
    String tmp;
    try {
      tmp = Path.of(System.getProperty("java.io.tmpdir")).toRealPath().toString();
    } catch (IOException e) {
      tmp = System.getProperty("java.io.tmpdir");
    }
    String prefix = tmp.endsWith("/") ? tmp : tmp + "/";
    // The checkout itself may lie under the temp dir (a CI clone in /tmp): its jars and classes are open
    // by design and are never a test's files.
    String checkout;
    try {
      Path dir = Path.of(System.getProperty("user.dir")).toRealPath();
      checkout = (dir.getParent() != null && Files.exists(dir.getParent().resolve("pom.xml")) ? dir.getParent() : dir) + "/";
    } catch (IOException e) {
      checkout = null;
    }
    List<String> out = new ArrayList<>();
    try (Stream<Path> links = Files.list(fds)) {
      for (Path link : (Iterable<Path>) links::iterator) {
        String target;
        try {
          target = Files.readSymbolicLink(link).toString();
        } catch (IOException e) {
          continue; // closed between list and read (including the directory stream's own fd)
        }
        if (target.startsWith(prefix) && (checkout == null || !target.startsWith(checkout))) {
          String rest = target.substring(prefix.length());
          String first = rest.indexOf('/') < 0 ? rest : rest.substring(0, rest.indexOf('/'));
          if (first.startsWith("junit") || first.contains("zcproxy")) {
            out.add(link.getFileName() + " -> " + target.replace(" (deleted)", ""));
          }
        }
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return out;
  }
}
