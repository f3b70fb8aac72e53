package dev.zcproxy.proxy;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;

/**
 * An executor that holds what it is given until {@link #open()}, then passes everything straight on: the
 * store's start-up work (loading the index snapshot, the reconciling scan: a core's worth of CPU and many young
 * collections for seconds at a million entries) waits until the proxy has started and answered its first request
 * (or a second has passed), instead of taking CPU from the path to the listener and from that first request. Only
 * that work goes through it: a lookup meanwhile finds its entry on disk by its key hash, as during the scan.
 */
final class StartGate implements Executor {
  private final Executor next;
  private List<Runnable> held = new ArrayList<>();
  private volatile boolean open;

  StartGate(Executor next) {
    this.next = requireNonNull(next, "next");
  }

  @Override
  public void execute(Runnable task) {
    requireNonNull(task, "task");
    if (!open) {
      synchronized (this) {
        if (!open) {
          held.add(task);
          return;
        }
      }
    }
    next.execute(task);
  }

  /** Passes on what was held, in order, and from now on every task at once. Idempotent. */
  void open() {
    List<Runnable> tasks;
    synchronized (this) {
      if (open) {
        return;
      }
      open = true;
      tasks = held;
      held = List.of();
    }
    for (Runnable t : tasks) {
      next.execute(t);
    }
  }

  /** How many tasks wait for {@link #open()}. */
  synchronized int held() {
    return held.size();
  }
}
