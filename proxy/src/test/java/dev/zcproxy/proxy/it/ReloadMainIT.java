package dev.zcproxy.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The jar operators run, in a child JVM: {@code kill -HUP} reloads the config file it started with
 * (the origin moves, the cache stays), and {@code SIGTERM} drains for {@code listen.drain-time}
 * ({@code /health} 503 while requests are still served) before the graceful stop.
 */
class ReloadMainIT {
  @TempDir
  Path tmp;

  private static String yaml(FixtureOrigin origin, Path cache, String drain) {
    return "listen:\n  address: 127.0.0.1:0\n  event-loops: 1\n  shutdown-grace: 2s\n  drain-time: " + drain + "\n"
        + "origin:\n  url: " + origin.url() + "\n"
        + "cache:\n  dir: " + cache + "\n  max-size: 64MiB\n"
        + "admin:\n  address: 127.0.0.1:0\n"
        + "logging:\n  access-log: \"off\"\n";
  }

  /**
   * The next line of the child's output that contains {@code text}, within 60 s; on timeout the failure quotes the
   * lines read meanwhile (a refused reload, a stack trace), as a bare timeout said nothing when it happened under load.
   */
  private static String lineWith(BufferedReader out, String text) throws Exception {
    List<String> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
    CompletableFuture<String> found = CompletableFuture.supplyAsync(() -> {
      try {
        for (String l = out.readLine(); l != null; l = out.readLine()) {
          if (l.contains(text)) {
            return l;
          }
          seen.add(l);
        }
        return null;
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
    try {
      return found.get(60, TimeUnit.SECONDS);
    } catch (java.util.concurrent.TimeoutException e) {
      throw new AssertionError("no line with \"" + text + "\" in 60 s; the child's output meanwhile: " + seen, e);
    }
  }

  private static void signal(Process p, String sig) throws Exception {
    Process kill = new ProcessBuilder("kill", "-" + sig, Long.toString(p.pid())).inheritIO().start();
    assertThat(kill.waitFor(20, TimeUnit.SECONDS)).isTrue();
    assertThat(kill.exitValue()).isZero();
  }

  @Test
  void sighupReloadsTheConfigFileAndSigtermDrainsBeforeStopping() throws Exception {
    try (FixtureOrigin a = FixtureOrigin.start(); FixtureOrigin b = FixtureOrigin.start()) {
      a.serve("/c", "cached".getBytes(), "Cache-Control", "max-age=600");
      a.serve("/f", "from A".getBytes(), "Cache-Control", "no-store");
      b.serve("/c", "cached from B".getBytes(), "Cache-Control", "max-age=600");
      b.serve("/f", "from B".getBytes(), "Cache-Control", "no-store");
      Path cache = tmp.resolve("cache");
      Path file = tmp.resolve("proxy.yaml");
      Files.writeString(file, yaml(a, cache, "0s"));
      Path jar = Path.of("target", "zcproxy.jar").toAbsolutePath();
      ProcessBuilder pb = new ProcessBuilder(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-jar", jar.toString(), "--config", file.toString())).redirectErrorStream(true);
      pb.environment().remove("ZCPROXY_ADMIN_TOKEN");
      Process p = pb.start();
      try {
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String start = lineWith(out, "zcproxy listening on");
        Matcher m = Pattern.compile("http://127\\.0\\.0\\.1:(\\d+) .*admin http://127\\.0\\.0\\.1:(\\d+)").matcher(start);
        assertThat(m.find()).as(start).isTrue();
        String proxy = "http://127.0.0.1:" + m.group(1);
        String admin = "http://127.0.0.1:" + m.group(2);
        HttpClient client = HttpClient.newHttpClient();
        assertThat(get(client, proxy + "/c").body()).isEqualTo("cached");
        assertThat(get(client, proxy + "/f").body()).isEqualTo("from A");

        Files.writeString(file, yaml(b, cache, "2s"));
        signal(p, "HUP");
        assertThat(lineWith(out, "reloaded:")).contains("origin.url", "listen.drain-time");
        assertThat(get(client, proxy + "/f").body()).isEqualTo("from B");
        HttpResponse<String> hit = get(client, proxy + "/c");
        assertThat(hit.body()).isEqualTo("cached");
        assertThat(hit.headers().firstValue("x-cache")).hasValue("HIT");
        assertThat(b.requests("/c")).isZero();
        assertThat(get(client, admin + "/metrics").body()).contains("zcproxy_reloads_total{result=\"ok\"} 1.0");

        signal(p, "TERM");
        assertThat(lineWith(out, "zcproxy: stopping")).contains("draining for 2s");
        HttpResponse<String> health = get(client, admin + "/health");
        assertThat(health.statusCode()).isEqualTo(503);
        assertThat(health.body()).contains("\"status\":\"draining\"");
        assertThat(get(client, proxy + "/f").body()).isEqualTo("from B");
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
      } finally {
        p.destroyForcibly();
        p.waitFor(20, TimeUnit.SECONDS);
      }
    }
  }

  private static HttpResponse<String> get(HttpClient client, String url) throws Exception {
    return client.send(HttpRequest.newBuilder(URI.create(url)).timeout(java.time.Duration.ofSeconds(20)).build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
