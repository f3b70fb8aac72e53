package dev.zcproxy.proxy.it;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.function.Predicate;

/**
 * A minimal W3C WebDriver client for the browser tests: starts {@code chromedriver} on a free loopback
 * port, opens a headless Chromium session and speaks the protocol with the JDK's HttpClient (no
 * Selenium). {@link #close()} ends the session and kills chromedriver and its browser by PID.
 */
final class WebDriver implements AutoCloseable {
  static final String SKIP_PROPERTY = "zcproxy.skipBrowserTests";
  private static final String ELEMENT = "element-6066-11e4-a52e-4f735466cecf";
  private final Process driver;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final String base;
  private String session;

  private WebDriver(Process driver, int port) {
    this.driver = driver;
    this.base = "http://127.0.0.1:" + port;
  }

  /** The path of an executable on the PATH (or in /usr/bin, /usr/lib/chromium), or null. */
  static Path which(String name) {
    String path = System.getenv().getOrDefault("PATH", "") + ":/usr/bin:/usr/lib/chromium";
    for (String dir : path.split(":")) {
      if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, name))) {
        return Path.of(dir, name);
      }
    }
    return null;
  }

  /**
   * Starts chromedriver and a headless Chromium session with its profile under {@code profileDir};
   * fails with a message that says what to install when either is missing.
   */
  static WebDriver start(Path profileDir, int width, int height) throws Exception {
    Path chromedriver = which("chromedriver");
    Path chromium = which("chromium") != null ? which("chromium") : which("chromium-browser");
    if (chromedriver == null || chromium == null) {
      throw new IllegalStateException("the browser tests need Debian's chromium and chromium-driver"
          + " (apt-get install -y chromium chromium-driver; .ci/run installs them), found chromium=" + chromium
          + " chromedriver=" + chromedriver + "; -D" + SKIP_PROPERTY + "=true skips these tests locally");
    }
    int port;
    try (ServerSocket free = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = free.getLocalPort();
    }
    Path log = profileDir.resolve("chromedriver.log");
    Files.createDirectories(profileDir);
    Process p = new ProcessBuilder(chromedriver.toString(), "--port=" + port, "--allowed-ips=127.0.0.1")
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    WebDriver wd = new WebDriver(p, port);
    try {
      wd.awaitReady(Duration.ofSeconds(20));
      JsonObject options = new JsonObject().put("binary", chromium.toString()).put("args", new JsonArray()
          .add("--headless=new").add("--no-sandbox").add("--disable-gpu").add("--disable-dev-shm-usage")
          .add("--no-first-run").add("--disable-extensions").add("--window-size=" + width + "," + height)
          .add("--user-data-dir=" + profileDir.resolve("profile")));
      JsonObject caps = new JsonObject().put("capabilities", new JsonObject().put("alwaysMatch", new JsonObject()
          .put("browserName", "chrome").put("goog:chromeOptions", options)));
      JsonObject created = wd.call("POST", "/session", caps);
      wd.session = created.getString("sessionId");
      return wd;
    } catch (Exception | Error e) {
      wd.close();
      throw e;
    }
  }

  private void awaitReady(Duration max) throws Exception {
    long deadline = System.nanoTime() + max.toNanos();
    Exception last = null;
    while (System.nanoTime() < deadline) {
      if (!driver.isAlive()) {
        throw new IllegalStateException("chromedriver exited with " + driver.exitValue());
      }
      try {
        JsonObject status = call("GET", "/status", null);
        if (status.getBoolean("ready", false)) {
          return;
        }
      } catch (IOException e) {
        last = e;
      }
      Thread.sleep(100); // polling another process's readiness: nothing to wait on
    }
    throw new IllegalStateException("chromedriver not ready after " + max, last);
  }

  /** One protocol call: returns the answer's {@code value} as an object ({@code {"value": v}} if it is not one). */
  private JsonObject call(String method, String path, JsonObject body) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60))
        .header("content-type", "application/json; charset=utf-8");
    b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body.encode()));
    HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    JsonObject answer = new JsonObject(r.body());
    Object value = answer.getValue("value");
    if (r.statusCode() != 200) {
      throw new IllegalStateException("WebDriver " + method + " " + path + " answered " + r.statusCode() + ": " + value);
    }
    return value instanceof JsonObject o ? o : new JsonObject().put("value", value);
  }

  private String s(String rest) {
    return "/session/" + session + rest;
  }

  void open(String url) throws Exception {
    call("POST", s("/url"), new JsonObject().put("url", url));
  }

  /** Runs {@code script} (a function body) in the page and returns its result. */
  Object script(String script, Object... args) throws Exception {
    return call("POST", s("/execute/sync"), new JsonObject().put("script", script).put("args", new JsonArray(java.util.List.of(args))))
        .getValue("value");
  }

  /** The text of the element with id {@code id} ("" when it does not exist). */
  String text(String id) throws Exception {
    Object v = script("var e = document.getElementById(arguments[0]); return e ? e.textContent : '';", id);
    return v == null ? "" : v.toString();
  }

  /** Polls the text of {@code id} until {@code ok}; fails naming the last value seen. */
  String awaitText(String id, Predicate<String> ok, Duration max) throws Exception {
    long deadline = System.nanoTime() + max.toNanos();
    String last = text(id);
    while (!ok.test(last)) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("#" + id + " still '" + last + "' after " + max);
      }
      Thread.sleep(100); // the page updates once a second: poll it, boundedly
      last = text(id);
    }
    return last;
  }

  private String find(String css) throws Exception {
    return call("POST", s("/element"), new JsonObject().put("using", "css selector").put("value", css)).getString(ELEMENT);
  }

  void click(String css) throws Exception {
    call("POST", s("/element/" + find(css) + "/click"), new JsonObject());
  }

  /** Clears the input matched by {@code css} and types {@code text} into it. */
  void type(String css, String text) throws Exception {
    String el = find(css);
    call("POST", s("/element/" + el + "/clear"), new JsonObject());
    call("POST", s("/element/" + el + "/value"), new JsonObject().put("text", text));
  }

  /** Saves a PNG of the viewport. */
  void screenshot(Path file) throws Exception {
    String png = call("GET", s("/screenshot"), null).getString("value");
    Files.createDirectories(file.getParent());
    Files.write(file, Base64.getDecoder().decode(png));
  }

  @Override
  public void close() {
    try {
      if (session != null && driver.isAlive()) {
        call("DELETE", s(""), null);
      }
    } catch (Exception e) {
      // killed below anyway
    } finally {
      driver.descendants().forEach(ProcessHandle::destroyForcibly);
      driver.destroyForcibly();
      try {
        driver.waitFor(10, java.util.concurrent.TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
