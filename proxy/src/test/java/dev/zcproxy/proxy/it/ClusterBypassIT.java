package dev.zcproxy.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A proxy without {@code cluster:} (the default) loads no Hazelcast class: the shipped jar in a child
 * JVM with {@code -verbose:class}, read up to its start line and one served request.
 */
class ClusterBypassIT {
  @TempDir
  Path tmp;

  @Test
  void aSingleNodeLoadsNoHazelcastClass() throws Exception {
    Path jar = Path.of("target", "zcproxy.jar").toAbsolutePath();
    try (ZipFile z = new ZipFile(jar.toFile())) {
      // the classes are there to be loaded: what keeps them out is the bypass, not their absence
      assertThat(z.getEntry("com/hazelcast/core/HazelcastInstance.class")).isNotNull();
      assertThat(z.getEntry("dev/zcproxy/proxy/cluster/HazelcastCluster.class")).isNotNull();
    }
    try (FixtureOrigin origin = FixtureOrigin.start()) {
      origin.serve("/x", "hello".getBytes(StandardCharsets.UTF_8), "Cache-Control", "max-age=60");
      List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-verbose:class", "-jar", jar.toString(), "--listen", "127.0.0.1:0", "--origin", origin.url(),
          "--cache-dir", tmp.resolve("cache").toString(), "--admin", "off", "--access-log", "off"));
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      // every line is read as it comes (a full pipe would stop the child); the start line is awaited
      List<String> loaded = java.util.Collections.synchronizedList(new ArrayList<>());
      java.util.concurrent.CompletableFuture<String> started = new java.util.concurrent.CompletableFuture<>();
      Thread reader = new Thread(() -> {
        try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
          String line;
          while ((line = out.readLine()) != null) {
            if (line.startsWith("zcproxy listening on")) {
              started.complete(line);
            }
            loaded.add(line);
          }
        } catch (java.io.IOException e) {
          started.completeExceptionally(e);
        }
        started.complete(null);
      }, "bypass-child-output");
      reader.start();
      try {
        String startLine = started.get(60, TimeUnit.SECONDS);
        assertThat(startLine).isNotNull().doesNotContain("cluster");
        int port = Integer.parseInt(startLine.replaceFirst("^zcproxy listening on http://127\\.0\\.0\\.1:(\\d+).*$", "$1"));
        var client = java.net.http.HttpClient.newHttpClient();
        var r = client.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + "/x")).build(),
            java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(r.body()).isEqualTo("hello");
      } finally {
        p.destroy();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        reader.join(10_000);
      }
      assertThat(loaded).anyMatch(l -> l.contains("dev.zcproxy.proxy.ProxyServer")); // -verbose:class did report
      assertThat(loaded).noneMatch(l -> l.contains("com.hazelcast") || l.contains("io.vertx.spi.cluster")
          || l.contains("dev.zcproxy.proxy.cluster.Hazelcast"));
    }
  }
}
