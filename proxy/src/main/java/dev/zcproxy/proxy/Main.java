package dev.zcproxy.proxy;

import dev.zcproxy.proxy.config.ConfigException;
import dev.zcproxy.proxy.config.ConfigLoader;
import dev.zcproxy.proxy.config.ProxyConfig;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The command-line entry point: loads the config, starts the proxy, reloads it on SIGHUP, drains and
 * stops it gracefully on SIGTERM.
 */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    StartupPhases phases = new StartupPhases();
    // Netty 4.2 registers JFR events for its allocator at the first buffer: about 100 JDK classes, a dozen
    // dynamic proxies and their reflection on the first request's thread. Off unless -Dio.netty.jfr.enabled=true.
    if (System.getProperty("io.netty.jfr.enabled") == null) {
      System.setProperty("io.netty.jfr.enabled", "false");
    }
    if (VersionInfo.requested(args)) {
      System.out.println(VersionInfo.text());
      System.exit(0);
      return;
    }
    // Logback, Netty and Vert.x initialize on a second thread while this one reads the config and builds the metrics
    StartupWarmer warmer = StartupWarmer.start();
    ConfigLoader.Loaded loaded;
    java.util.Map<String, String> env = System.getenv();
    try {
      loaded = ConfigLoader.loadArgs(args, env);
    } catch (ConfigException.InfoRequested e) {
      System.out.println(e.getMessage());
      System.exit(e.exitCode());
      return;
    } catch (ConfigException e) {
      System.err.println("zcproxy: " + e.getMessage());
      System.exit(e.exitCode());
      return;
    }
    ProxyConfig config = loaded.config();
    phases.mark("config");
    warmer.awaitLogging();
    Runnable reopenAccessLog = LogSetup.apply(config.logging());
    phases.mark("logging");
    // the same file and flags again: flags keep winning over the file
    ProxyServer server = new ProxyServer(loaded, () -> ConfigLoader.loadArgs(args, env), System::currentTimeMillis);
    server.ownLogging(reopenAccessLog);
    phases.mark("metrics");
    warmer.awaitClasses(); // before Vert.x: no library is initialized by two threads at once
    phases.mark("warm");
    server.startupPhases(phases);
    // always: a reload may move the access log to a file (and SIGUSR1's default would end the JVM)
    LogSetup.reopenOnSigusr1(server::reopenAccessLog);
    try {
      // joining a cluster (Hazelcast's start and join) can take longer than starting the listeners
      server.start().toCompletionStage().toCompletableFuture().get(config.cluster().enabled() ? 180 : 60, TimeUnit.SECONDS);
    } catch (Exception e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      System.err.println("zcproxy: could not start: " + cause);
      server.close();
      System.exit(1);
      return;
    }
    // before the start line: whoever waits for it may send SIGHUP at once (the JVM's default would end it)
    Signals.reloadOnSighup(server.lifecycle());
    System.out.println(server.startupLine());
    ClassArchive.started();
    org.slf4j.LoggerFactory.getLogger(Main.class).info("{}", phases.summary());
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      ProxyConfig now = server.config();
      // /health says draining (or stopping) from here on
      io.vertx.core.Future<Void> stop = server.drainAndClose();
      System.out.println("zcproxy: stopping (" + (now.listen().drainTime().isZero() ? ""
          : "draining for " + now.listen().drainTime().toSeconds() + "s, then ")
          + "in-flight responses get " + now.listen().shutdownGrace().toSeconds() + "s)");
      try {
        stop.toCompletionStage().toCompletableFuture()
            .get(now.listen().drainTime().toMillis() + now.listen().shutdownGrace().toMillis() + 10_000, TimeUnit.MILLISECONDS);
      } catch (Exception e) {
        System.err.println("zcproxy: shutdown did not complete cleanly: " + e);
      }
      stopped.countDown();
    }, "zcproxy-shutdown"));
  }
}
