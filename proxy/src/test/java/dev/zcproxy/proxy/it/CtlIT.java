package dev.zcproxy.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.proxy.Ctl;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@code zcproxyctl} against a real proxy and origin: every subcommand's answer, exit codes and
 * messages, the token from the environment, a token file and the config file, and what the cache
 * holds afterwards (by counting origin requests). The last test runs the {@code bin/zcproxyctl}
 * script itself on the built jar.
 */
class CtlIT extends OriginAndProxy {
  private static final String TOKEN = "ctl-test-token-0123456789";

  /** One zcproxyctl run: exit code, stdout, stderr. */
  private record Run(int code, String out, String err) {
    JsonObject json() {
      return new JsonObject(out);
    }
  }

  private Run ctl(Map<String, String> env, String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = new Ctl(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8), env)
        .run(args);
    return new Run(code, out.toString(StandardCharsets.UTF_8).trim(), err.toString(StandardCharsets.UTF_8).trim());
  }

  private String admin() {
    return "127.0.0.1:" + proxy.server.adminPort();
  }

  private void fill(String... paths) throws Exception {
    for (String p : paths) {
      assertThat(proxy.get(p).statusCode()).isEqualTo(200);
    }
  }

  @Test
  void everySubcommandAgainstARealProxy() throws Exception {
    for (String p : new String[] {"/c/1", "/c/2", "/c/3"}) {
      origin.serve(p, ("body " + p).getBytes(StandardCharsets.UTF_8), "Cache-Control", "max-age=600", "X-Team", "web");
    }
    origin.serve("/t/1", "t1".getBytes(StandardCharsets.UTF_8), "Cache-Control", "max-age=600", "Surrogate-Key", "grp");
    origin.serve("/t/2", "t2".getBytes(StandardCharsets.UTF_8), "Cache-Control", "max-age=600", "Surrogate-Key", "grp");
    proxy = ProxyFixture.start(origin.url(), cacheDir, "admin.token: " + TOKEN);
    fill("/c/1", "/c/2", "/c/3", "/t/1", "/t/2", "/c/1");
    proxy.server.metrics().whenStored(5).get(10, TimeUnit.SECONDS);
    Map<String, String> noToken = Map.of();
    Map<String, String> envToken = Map.of("ZCPROXY_ADMIN_TOKEN", TOKEN);

    Run health = ctl(noToken, "--admin", admin(), "health");
    assertThat(health.code()).as(health.err()).isZero();
    assertThat(health.json().getString("status")).isEqualTo("ok");
    Run stats = ctl(noToken, "--admin", admin(), "stats");
    assertThat(stats.code()).isZero();
    assertThat(stats.json().getJsonObject("responses").getLong("HIT")).isEqualTo(1);
    Run entries = ctl(noToken, "--admin", admin(), "entries", proxy.url("/c/"));
    assertThat(entries.code()).as(entries.err()).isZero();
    assertThat(entries.json().getInteger("count")).isEqualTo(3);
    assertThat(entries.json().getJsonArray("entries").stream().map(o -> ((JsonObject) o).getLong("hits")))
        .containsExactlyInAnyOrder(1L, 0L, 0L); // /c/1 was a HIT once
    Run entry = ctl(noToken, "--admin", admin(), "entry", proxy.url("/c/2"));
    assertThat(entry.code()).isZero();
    assertThat(entry.out()).contains("X-Team");

    // Mutations need the token: refused with the server's message and a hint, exit 1.
    Run refused = ctl(noToken, "--admin", admin(), "purge", proxy.url("/c/1"));
    assertThat(refused.code()).isEqualTo(1);
    assertThat(refused.err()).contains("401", "missing credentials", "ZCPROXY_ADMIN_TOKEN");
    assertThat(origin.requests("/c/1")).isEqualTo(1);

    Run purged = ctl(envToken, "--admin", admin(), "purge", proxy.url("/c/1"));
    assertThat(purged.code()).as(purged.err()).isZero();
    assertThat(purged.json().getInteger("purged")).isEqualTo(1);
    assertThat(proxy.get("/c/1").headers().firstValue("x-cache")).hasValue("MISS");
    assertThat(origin.requests("/c/1")).isEqualTo(2);

    // Token from a file; a soft tag purge marks both tagged entries stale.
    Path tokenFile = cacheDir.resolveSibling(cacheDir.getFileName() + "-token");
    Files.writeString(tokenFile, TOKEN + "\n");
    try {
      Run soft = ctl(noToken, "--admin", admin(), "--token-file", tokenFile.toString(), "purge", "--tag", "grp", "--soft");
      assertThat(soft.code()).as(soft.err()).isZero();
      assertThat(soft.json().getInteger("marked_stale")).isEqualTo(2);
    } finally {
      Files.deleteIfExists(tokenFile);
    }

    // Address and token from the config file; bans by header, listed by 'bans'.
    Path conf = cacheDir.resolveSibling(cacheDir.getFileName() + "-ctl.yaml");
    Files.writeString(conf, "origin:\n  url: " + origin.url() + "\nadmin:\n  address: " + admin() + "\n  token: " + TOKEN + "\n");
    try {
      proxy.advance(java.time.Duration.ofSeconds(1));
      Run ban = ctl(noToken, "-c", conf.toString(), "ban", "--header", "X-Team", "--value", "web");
      assertThat(ban.code()).as(ban.err()).isZero();
      assertThat(ban.json().getJsonObject("ban").getString("kind")).isEqualTo("header");
      proxy.advance(java.time.Duration.ofSeconds(1));
      assertThat(proxy.get("/c/2").headers().firstValue("x-cache")).hasValue("MISS");
      assertThat(origin.requests("/c/2")).isEqualTo(2);
      Run bans = ctl(noToken, "-c", conf.toString(), "bans");
      assertThat(bans.code()).isZero();
      assertThat(bans.json().getJsonArray("bans")).hasSize(1);
      assertThat(bans.json().getJsonArray("bans").getJsonObject(0).getString("value")).isEqualTo("web");

      Run prefix = ctl(envToken, "--admin", admin(), "ban", "--prefix", proxy.url("/t/"));
      assertThat(prefix.code()).as(prefix.err()).isZero();
      Run regex = ctl(envToken, "--admin", admin(), "ban", "--regex", "(unclosed");
      assertThat(regex.code()).isEqualTo(1);
      assertThat(regex.err()).contains("400", "bad regular expression");
    } finally {
      Files.deleteIfExists(conf);
    }

    // Reload is sent as an authorised POST; the server's answer decides the exit code.
    Run reload = ctl(envToken, "--admin", admin(), "reload");
    if (reload.code() != 0) {
      assertThat(reload.code()).isEqualTo(1);
      assertThat(reload.err()).contains("POST /reload:");
    }

    // Drain: /health fails for load balancers until the drain is cancelled.
    assertThat(ctl(noToken, "--admin", admin(), "drain").code()).isEqualTo(1);
    assertThat(ctl(envToken, "--admin", admin(), "drain").code()).isZero();
    Run draining = ctl(noToken, "--admin", admin(), "health");
    assertThat(draining.code()).isEqualTo(1);
    assertThat(draining.err()).contains("draining");
    assertThat(ctl(envToken, "--admin", admin(), "drain", "--cancel").code()).isZero();
    assertThat(ctl(noToken, "--admin", admin(), "health").code()).isZero();

    // Usage errors: exit 2, nothing sent.
    int before = origin.totalRequests();
    assertThat(ctl(envToken, "--admin", admin(), "ban", "--header", "X-Team").code()).isEqualTo(2);
    assertThat(ctl(envToken, "--admin", admin(), "purge").code()).isEqualTo(2);
    assertThat(ctl(envToken, "--admin", admin(), "entries").err()).contains("PREFIX");
    assertThat(ctl(envToken, "--admin", admin(), "frobnicate").err()).contains("unknown command: frobnicate");
    assertThat(ctl(envToken, "--help").out()).contains("purge URL [--soft]", "ban --regex RE", "reload");
    assertThat(origin.totalRequests()).isEqualTo(before);

    // Nothing listening: exit 1 and says so.
    int closed;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      closed = s.getLocalPort();
    }
    Run down = ctl(noToken, "--admin", "127.0.0.1:" + closed, "health");
    assertThat(down.code()).isEqualTo(1);
    assertThat(down.err()).contains("cannot reach the admin listener");
  }

  @Test
  void theScriptRunsTheCtlFromTheBuiltJar() throws Exception {
    origin.serve("/s", "s".getBytes(StandardCharsets.UTF_8), "Cache-Control", "max-age=600");
    proxy = ProxyFixture.start(origin.url(), cacheDir, "admin.token: " + TOKEN);
    fill("/s");
    proxy.server.metrics().whenStored(1).get(10, TimeUnit.SECONDS);
    Path script = Path.of("..", "bin", "zcproxyctl").toAbsolutePath().normalize();
    assertThat(script).isExecutable();
    ProcessBuilder pb = new ProcessBuilder(script.toString(), "--admin", admin(), "purge", proxy.url("/s"))
        .redirectErrorStream(true);
    pb.environment().put("ZCPROXY_ADMIN_TOKEN", TOKEN);
    pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
    pb.environment().put("ZCPROXY_JAR", Path.of("target", "zcproxy.jar").toAbsolutePath().toString());
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
    assertThat(new JsonObject(out).getInteger("purged")).isEqualTo(1);
    assertThat(proxy.get("/s").headers().firstValue("x-cache")).hasValue("MISS");
    assertThat(origin.requests("/s")).isEqualTo(2);
  }
}
