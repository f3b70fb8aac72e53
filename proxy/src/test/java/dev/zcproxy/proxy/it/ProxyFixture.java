package dev.zcproxy.proxy.it;

import dev.zcproxy.proxy.ProxyServer;
import dev.zcproxy.proxy.config.ConfigLoader;
import dev.zcproxy.proxy.config.ProxyConfig;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/** A zcproxy started in the test's JVM in front of a {@link FixtureOrigin}, with a fake clock and a java.net.http client. */
final class ProxyFixture implements AutoCloseable {
  /** The fake clock, epoch millis; tests advance it instead of sleeping. */
  final AtomicLong clock = new AtomicLong(System.currentTimeMillis());
  final ProxyServer server;
  final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();

  private ProxyFixture(ProxyConfig config) throws Exception {
    this(config, dev.zcproxy.proxy.transfer.TransferPlatform.internals());
  }

  private ProxyFixture(ProxyConfig config, dev.zcproxy.proxy.transfer.TransferPlatform platform) throws Exception {
    this(config, s -> s.transferPlatform(platform));
  }

  private ProxyFixture(ProxyConfig config, java.util.function.Consumer<ProxyServer> beforeStart) throws Exception {
    server = new ProxyServer(config, clock::get);
    beforeStart.accept(server);
    server.start().toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
  }

  /** A proxy with exactly {@code config}, handed to {@code beforeStart} before it starts. */
  static ProxyFixture start(ProxyConfig config, java.util.function.Consumer<ProxyServer> beforeStart) throws Exception {
    return new ProxyFixture(config, beforeStart);
  }

  /** A proxy with exactly {@code config} whose sendfile, splice and written-byte counts go through {@code platform}. */
  static ProxyFixture start(ProxyConfig config, dev.zcproxy.proxy.transfer.TransferPlatform platform) throws Exception {
    return new ProxyFixture(config, platform);
  }

  /** A proxy with one event loop, cache in {@code cacheDir}, admin on a free port, plus any extra YAML lines. */
  static ProxyFixture start(String originUrl, Path cacheDir, String... extraYaml) throws Exception {
    return new ProxyFixture(config(originUrl, cacheDir, extraYaml));
  }

  /** A proxy with exactly {@code config}. */
  static ProxyFixture start(ProxyConfig config) throws Exception {
    return new ProxyFixture(config);
  }

  static ProxyConfig config(String originUrl, Path cacheDir, String... extraYaml) {
    StringBuilder yaml = new StringBuilder()
        .append("listen:\n  address: 127.0.0.1:0\n  event-loops: 1\n  shutdown-grace: 5s\n")
        .append("origin:\n  url: ").append(originUrl).append("\n  connect-timeout: 2s\n  first-byte-timeout: 5s\n  idle-timeout: 5s\n")
        .append("cache:\n  dir: ").append(cacheDir).append("\n  max-size: 512MiB\n")
        .append("admin:\n  address: 127.0.0.1:0\n")
        .append("logging:\n  access-log: off\n");
    String base = yaml.toString();
    if (Boolean.getBoolean("zcproxy.it.h2c")) {
      // -Dzcproxy.it.h2c=true: every IT with h2c prior knowledge on, to show the HTTP/1 hooks still hold
      base = merge(base, "listen.http2-cleartext: true");
    }
    String front = System.getProperty("zcproxy.it.frontHits");
    if (front != null && !front.isEmpty()) {
      // -Dzcproxy.it.frontHits=false: every IT with plain GET hits left to Vert.x (the other way of transfer.front-hits)
      base = merge(base, "transfer.front-hits: " + front);
    }
    for (String extra : extraYaml) {
      base = merge(base, extra);
    }
    return ConfigLoader.parse(base, "test.yaml");
  }

  /** Replaces or adds {@code section.key: value} lines given as {@code "section.key: value"}. */
  private static String merge(String yaml, String extra) {
    int colon = extra.indexOf(':');
    String path = extra.substring(0, colon).trim();
    String value = extra.substring(colon + 1).trim();
    String section = path.substring(0, path.indexOf('.'));
    String key = path.substring(path.indexOf('.') + 1);
    StringBuilder out = new StringBuilder();
    boolean inSection = false;
    boolean done = false;
    for (String line : yaml.split("\n", -1)) {
      if (!line.startsWith(" ") && !line.isEmpty()) {
        if (inSection && !done) {
          out.append("  ").append(key).append(": ").append(value).append('\n');
          done = true;
        }
        inSection = line.equals(section + ":");
      }
      if (inSection && line.trim().startsWith(key + ":")) {
        out.append("  ").append(key).append(": ").append(value).append('\n');
        done = true;
        continue;
      }
      out.append(line).append('\n');
    }
    if (!done) {
      if (!inSection) {
        out.append(section).append(":\n");
      }
      out.append("  ").append(key).append(": ").append(value).append('\n');
    }
    return out.toString().replaceAll("\n+$", "\n");
  }

  String url(String path) {
    return "http://127.0.0.1:" + server.port() + path;
  }

  HttpResponse<byte[]> get(String path, String... headers) throws Exception {
    return send("GET", path, headers);
  }

  HttpResponse<byte[]> send(String method, String path, String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url(path))).timeout(Duration.ofSeconds(30))
        .method(method, HttpRequest.BodyPublishers.noBody());
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return client.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  /** A GET whose body is streamed into a SHA-256 rather than held: for bodies of hundreds of MiB. */
  record Streamed(HttpResponse<?> response, long bytes, String sha256) {}

  Streamed getStreamed(String path) throws Exception {
    HttpResponse<java.io.InputStream> r = client.send(HttpRequest.newBuilder(URI.create(url(path))).build(),
        HttpResponse.BodyHandlers.ofInputStream());
    java.security.MessageDigest md = java.security.MessageDigest.getInstance("SHA-256");
    long n = 0;
    try (java.io.InputStream in = r.body()) {
      byte[] buf = new byte[1 << 16];
      int k;
      while ((k = in.read(buf)) > 0) {
        md.update(buf, 0, k);
        n += k;
      }
    }
    return new Streamed(r, n, java.util.HexFormat.of().formatHex(md.digest()));
  }

  void advance(Duration d) {
    clock.addAndGet(d.toMillis());
  }

  @Override
  public void close() throws Exception {
    server.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }
}
