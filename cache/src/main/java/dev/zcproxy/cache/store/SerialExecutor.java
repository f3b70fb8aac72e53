package dev.zcproxy.cache.store;

import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs tasks one at a time, in submission order, on a shared executor (a per-writer task chain).
 *
 * <p>At most {@value #BATCH} tasks run per hop so that one busy writer cannot hold an I/O thread.
 */
final class SerialExecutor implements Executor {
  private static final Logger LOG = LoggerFactory.getLogger(SerialExecutor.class);
  private static final int BATCH = 64;

  private final Executor delegate;
  private final Queue<Runnable> tasks = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean scheduled = new AtomicBoolean();

  SerialExecutor(Executor delegate) {
    this.delegate = delegate;
  }

  @Override
  public void execute(Runnable task) {
    tasks.add(task);
    schedule();
  }

  private void schedule() {
    if (scheduled.compareAndSet(false, true)) {
      try {
        delegate.execute(this::drain);
      } catch (RuntimeException e) {
        scheduled.set(false);
        throw e;
      }
    }
  }

  private void drain() {
    for (int i = 0; i < BATCH; i++) {
      Runnable r = tasks.poll();
      if (r == null) {
        break;
      }
      try {
        r.run();
      } catch (Throwable t) { // a task must not kill the chain
        LOG.error("store task failed", t);
      }
    }
    scheduled.set(false);
    if (!tasks.isEmpty()) {
      schedule();
    }
  }
}
