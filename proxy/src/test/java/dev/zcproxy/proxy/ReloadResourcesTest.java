package dev.zcproxy.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.proxy.config.ConfigLoader;
import dev.zcproxy.proxy.config.ProxyConfig;
import io.vertx.core.Vertx;
import io.vertx.core.internal.CloseFuture;
import io.vertx.core.internal.VertxInternal;
import java.lang.reflect.Field;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A reload builds a new handler around the same resources: it must not leave a Vert.x client behind each
 * time (every reload made a tunnel connection client that was never closed).
 */
class ReloadResourcesTest {
  @TempDir
  Path dir;

  @Test
  void reloadsDoNotAddConnectionClients() throws Exception {
    ProxyConfig config = ConfigLoader.parse("""
        listen:
          address: 127.0.0.1:0
          event-loops: 1
        origin:
          url: http://127.0.0.1:9
        cache:
          dir: %s
        admin:
          enabled: false
        logging:
          access-log: off
        """.formatted(dir.resolve("cache")), "reload.yaml");
    ProxyServer server = new ProxyServer(config);
    server.start().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    try {
      int before = netClients(server.vertx());
      assertThat(before).as("the tunnels' client, at least").isPositive();
      for (int i = 0; i < 5; i++) {
        server.apply(config, ReloadPlan.of(List.of())).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      }
      assertThat(netClients(server.vertx())).as("NetClients held by Vert.x after 5 reloads").isEqualTo(before);
    } finally {
      server.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  /** The NetClients Vert.x keeps open until it closes (its root close hooks). */
  private static int netClients(Vertx vertx) throws Exception {
    CloseFuture root = ((VertxInternal) vertx).closeFuture();
    Field children = CloseFuture.class.getDeclaredField("children");
    children.setAccessible(true);
    synchronized (root) {
      Map<?, ?> map = (Map<?, ?>) children.get(root);
      return map == null ? 0 : (int) map.keySet().stream().filter(k -> k.getClass().getSimpleName().contains("NetClient")).count();
    }
  }
}
