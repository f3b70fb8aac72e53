package dev.zcproxy.proxy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Wall time and process CPU time of each start-up phase, counted from the process's exec, for the one
 * start-up timing line (what to cut when the listener comes up late).
 *
 * <p>CPU time is the whole process's (every thread: the JIT compilers and the collector too), read from
 * the operating system; where it cannot be read, only wall times are shown.
 */
final class StartupPhases {
  /** {@link System#nanoTime()} when {@link #execToCreatedMillis} was read. */
  private final long startNanos;
  /** Wall milliseconds from exec to this object, or -1 when the process start time is unknown. */
  private final long execToCreatedMillis;
  private final List<String> names = new ArrayList<>();
  private final List<long[]> marks = new ArrayList<>();

  StartupPhases() {
    execToCreatedMillis = execToNowMillis();
    // taken after the read (its first file access loads classes: tens of ms on a busy machine), not before it,
    // or that time would be counted twice
    startNanos = System.nanoTime();
    mark("jvm");
  }

  /**
   * Wall milliseconds from exec to now, or -1. Not {@code ProcessHandle.Info.startInstant()}: the JDK adds
   * the start ticks to {@code /proc/stat}'s boot time, which is whole seconds, so it puts the exec up to a
   * second early (the phase "jvm" looked 0.4 s longer than it was, with no CPU to show for it).
   */
  private static long execToNowMillis() {
    try {
      String stat = new String(Files.readAllBytes(Path.of("/proc/self/stat")), StandardCharsets.US_ASCII);
      String uptime = new String(Files.readAllBytes(Path.of("/proc/uptime")), StandardCharsets.US_ASCII);
      // USER_HZ, what the kernel counts these in: 100 on every Linux the JDK runs on
      long millis = execToNowMillis(stat, uptime, 100);
      if (millis >= 0) {
        return millis;
      }
    } catch (IOException | RuntimeException e) {
      // not Linux: the JDK's start instant, to the second
    }
    long exec = ProcessHandle.current().info().startInstant().map(Instant::toEpochMilli).orElse(-1L);
    return exec < 0 ? -1 : Math.max(0, System.currentTimeMillis() - exec);
  }

  /**
   * Wall milliseconds from a process's exec to now, from {@code /proc/self/stat}'s start time and
   * {@code /proc/uptime} (both counted from boot, in ticks of 1/{@code ticksPerSecond} s), or -1 when they
   * cannot be read.
   */
  static long execToNowMillis(String procSelfStat, String procUptime, long ticksPerSecond) {
    try {
      // the command name (field 2) may hold spaces and parentheses: fields are counted after the last ')'
      String[] fields = procSelfStat.substring(procSelfStat.lastIndexOf(')') + 2).trim().split(" ");
      long startTicks = Long.parseLong(fields[19]); // field 22, starttime
      String up = procUptime.trim();
      int space = up.indexOf(' ');
      double uptimeSeconds = Double.parseDouble(space < 0 ? up : up.substring(0, space));
      long millis = Math.round(uptimeSeconds * 1000) - startTicks * 1000 / ticksPerSecond;
      return millis < 0 || millis > 3_600_000 ? -1 : millis;
    } catch (RuntimeException e) {
      return -1;
    }
  }

  /** Ends the phase {@code name} now (it began where the last one ended). */
  synchronized void mark(String name) {
    names.add(name);
    marks.add(new long[] {wallMillis(), cpuMillis()});
  }

  /** Wall milliseconds since exec (or since this object when the exec time is unknown). */
  long wallMillis() {
    return Math.max(0, execToCreatedMillis) + (System.nanoTime() - startNanos) / 1_000_000;
  }

  /** CPU milliseconds the process has used so far, or -1 when unknown. */
  static long cpuMillis() {
    return ProcessHandle.current().info().totalCpuDuration().map(d -> d.toMillis()).orElse(-1L);
  }

  /**
   * The phases in one line, e.g. {@code "started in 812 ms (CPU 1430 ms) after exec: jvm 180 ms/240 cpu,
   * config 60/90, ..."}: wall then CPU milliseconds each phase took.
   */
  synchronized String summary() {
    StringBuilder out = new StringBuilder();
    long[] last = marks.get(marks.size() - 1);
    out.append("started in ").append(last[0]).append(" ms");
    if (last[1] >= 0) {
      out.append(" (").append(last[1]).append(" ms of CPU)");
    }
    out.append(execToCreatedMillis < 0 ? " (no exec time: from main)" : " after exec").append(": ");
    long[] before = {0, 0};
    for (int i = 0; i < names.size(); i++) {
      long[] m = marks.get(i);
      out.append(i == 0 ? "" : ", ").append(names.get(i)).append(' ').append(m[0] - before[0]);
      if (m[1] >= 0) {
        out.append('/').append(m[1] - before[1]);
      }
      before = m;
    }
    return out.append(" (wall/CPU ms)").toString();
  }
}
