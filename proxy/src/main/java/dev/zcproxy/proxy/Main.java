package dev.zcproxy.proxy;

import dev.zcproxy.proxy.config.ConfigException;
import dev.zcproxy.proxy.config.ConfigLoader;
import dev.zcproxy.proxy.config.ProxyConfig;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** The command-line entry point: loads the config, starts the proxy, stops it gracefully on SIGTERM. */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    if (VersionInfo.requested(args)) {
      System.out.println(VersionInfo.text());
      System.exit(0);
      return;
    }
    ProxyConfig config;
    try {
      config = ConfigLoader.fromArgs(args);
    } catch (ConfigException.InfoRequested e) {
      System.out.println(e.getMessage());
      System.exit(e.exitCode());
      return;
    } catch (ConfigException e) {
      System.err.println("zcproxy: " + e.getMessage());
      System.exit(e.exitCode());
      return;
    }
    Runnable reopenAccessLog = LogSetup.apply(config.logging());
    if (!config.logging().accessLog().equals("stdout") && !config.logging().accessLogOff()) {
      LogSetup.reopenOnSigusr1(reopenAccessLog);
    }
    ProxyServer server = new ProxyServer(config);
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
    System.out.println(server.startupLine());
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      System.out.println("zcproxy: stopping (in-flight responses get " + config.listen().shutdownGrace().toSeconds() + "s)");
      try {
        server.close().toCompletionStage().toCompletableFuture()
            .get(config.listen().shutdownGrace().toMillis() + 10_000, TimeUnit.MILLISECONDS);
      } catch (Exception e) {
        System.err.println("zcproxy: shutdown did not complete cleanly: " + e);
      }
      stopped.countDown();
    }, "zcproxy-shutdown"));
  }
}
