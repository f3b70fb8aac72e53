package dev.zcproxy.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The real command line in a child JVM: the start line, config errors with exit code 2, graceful SIGTERM. */
class MainIT {
  @TempDir
  Path tmp;

  private Process launch(String... args) throws Exception {
    return launch(java.util.Map.of(), args);
  }

  private Process launch(java.util.Map<String, String> env, String... args) throws Exception {
    return launch(env, List.of(), args);
  }

  private Process launch(java.util.Map<String, String> env, List<String> jvmOptions, String... args) throws Exception {
    // The shaded jar that 'mvn package' built: the artifact operators run.
    Path jar = Path.of("target", "zcproxy.jar").toAbsolutePath();
    assertThat(jar).exists();
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
    cmd.addAll(jvmOptions);
    cmd.addAll(List.of("-jar", jar.toString()));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().remove("ZCPROXY_ADMIN_TOKEN");
    pb.environment().putAll(env);
    return pb.start();
  }

  /** The line the proxy prints once it listens, or {@code null} when its output ended first. */
  private static String startLine(Process p) throws java.io.IOException {
    BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    String line;
    while ((line = out.readLine()) != null) {
      if (line.startsWith("zcproxy listening on")) {
        return line;
      }
    }
    return null;
  }

  @Test
  void theAdminTokenFromTheEnvironmentIsRequiredToPurgeAndTheStartLineSaysSo() throws Exception {
    try (FixtureOrigin origin = FixtureOrigin.start()) {
      String token = "env-admin-token-0123456789";
      Process p = launch(java.util.Map.of("ZCPROXY_ADMIN_TOKEN", token), "--listen", "127.0.0.1:0", "--origin", origin.url(),
          "--cache-dir", tmp.resolve("cache").toString(), "--admin", "127.0.0.1:0", "--access-log", "off");
      try {
        String startLine = startLine(p);
        assertThat(startLine).isNotNull().contains("purge needs the admin token").doesNotContain(token);
        Matcher m = Pattern.compile("admin http://127\\.0\\.0\\.1:(\\d+)").matcher(startLine);
        assertThat(m.find()).isTrue();
        URI purge = URI.create("http://127.0.0.1:" + m.group(1) + "/purge?url=http://127.0.0.1/x");
        var client = java.net.http.HttpClient.newHttpClient();
        assertThat(client.send(HttpRequest.newBuilder(purge).POST(HttpRequest.BodyPublishers.noBody()).build(),
            HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(401);
        HttpResponse<String> ok = client.send(HttpRequest.newBuilder(purge).header("Authorization", "Bearer " + token)
            .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(ok.statusCode()).isEqualTo(200);
        assertThat(ok.body()).contains("\"purged\":0");
      } finally {
        p.destroy();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
      }
    }
  }

  @Test
  void badConfigNamesTheKeyAndExitsWith2() throws Exception {
    Path yaml = tmp.resolve("bad.yaml");
    Files.writeString(yaml, "origin:\n  url: http://127.0.0.1:1\ncache:\n  max-size: lots\n");
    Process p = launch("--config", yaml.toString());
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).isEqualTo(2);
    assertThat(out).contains("cache.max-size").contains("lots").contains(":4");
  }

  @Test
  void startsPrintsOneLineServesAndStopsGracefullyOnSigterm() throws Exception {
    try (FixtureOrigin origin = FixtureOrigin.start()) {
      origin.serve("/x", "hello".getBytes(), "Cache-Control", "max-age=60");
      Path cache = tmp.resolve("cache");
      Process p = launch("--listen", "127.0.0.1:0", "--origin", origin.url(), "--cache-dir", cache.toString(), "--admin", "off");
      String startLine = startLine(p);
      assertThat(startLine).isNotNull().contains("origin " + origin.url()).contains("cache " + cache).containsPattern("transport (epoll|nio)")
          .contains("hits by sendfile");
      Matcher m = Pattern.compile("http://127\\.0\\.0\\.1:(\\d+)").matcher(startLine);
      assertThat(m.find()).isTrue();
      int port = Integer.parseInt(m.group(1));
      var client = java.net.http.HttpClient.newHttpClient();
      HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/x")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(r.body()).isEqualTo("hello");
      p.destroy(); // SIGTERM
      assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
      try (Stream<Path> files = Files.walk(cache)) {
        assertThat(files.filter(Files::isRegularFile).map(Path::toString).filter(s -> s.endsWith(".tmp"))).isEmpty();
      }
    }
  }

  @Test
  void aKilledProxyLeavesNoVertxFileCacheDirectoryBehind() throws Exception {
    try (FixtureOrigin origin = FixtureOrigin.start()) {
      origin.serve("/x", "hello".getBytes(), "Cache-Control", "max-age=60");
      Path jvmTmp = Files.createDirectories(tmp.resolve("jvm-tmp"));
      Process p = launch(java.util.Map.of(), List.of("-Djava.io.tmpdir=" + jvmTmp), "--listen", "127.0.0.1:0",
          "--origin", origin.url(), "--cache-dir", tmp.resolve("cache").toString(), "--admin", "off", "--access-log", "off");
      try {
        String startLine = startLine(p);
        assertThat(startLine).isNotNull();
        Matcher m = Pattern.compile("http://127\\.0\\.0\\.1:(\\d+)").matcher(startLine);
        assertThat(m.find()).isTrue();
        var client = java.net.http.HttpClient.newHttpClient();
        URI x = URI.create("http://127.0.0.1:" + m.group(1) + "/x");
        for (int i = 0; i < 2; i++) { // a MISS that fills, then a HIT
          assertThat(client.send(HttpRequest.newBuilder(x).build(), HttpResponse.BodyHandlers.ofString()).body()).isEqualTo("hello");
        }
        assertThat(origin.requests("/x")).isEqualTo(1);
      } finally {
        p.destroyForcibly(); // SIGKILL: no shutdown hook runs to delete what the start made
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
      }
      // Vert.x's class-path file resolver made a vertx-cache-<uuid> directory under java.io.tmpdir at every start,
      // deleted only by a shutdown hook: each killed or crashed proxy left one in /tmp.
      try (Stream<Path> left = Files.list(jvmTmp)) {
        assertThat(left.map(f -> f.getFileName().toString()).filter(n -> n.startsWith("vertx-cache"))).isEmpty();
      }
    }
  }
}
