package dev.zcproxy.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.proxy.config.ConfigLoader;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.net.NetServer;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tunnels follow the request's site like every other request: an {@code Upgrade} and a {@code CONNECT} for
 * one site reach that site's servers (picked by its pool, a server that refuses connections skipped), never
 * {@code origin.url} nor the other site's; an unknown host is 421.
 */
class SiteTunnelsIT {
  @TempDir
  Path cacheDir;
  Vertx vertx;
  ProxyFixture proxy;
  /** Upgrades each upgrade origin answered, and the Host it was asked with. */
  final AtomicInteger shopUpgrades = new AtomicInteger();
  final AtomicInteger blogUpgrades = new AtomicInteger();
  final List<String> hostsSeen = new CopyOnWriteArrayList<>();

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
  }

  @AfterEach
  void stop() throws Exception {
    if (proxy != null) {
      proxy.close();
    }
    vertx.close().toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
  }

  /** An origin on {@code host} that switches every upgrade to a raw echo with {@code tag} in front. */
  private int upgradeOrigin(String host, String tag, AtomicInteger count) throws Exception {
    HttpServer s = vertx.createHttpServer().requestHandler(req -> {
      hostsSeen.add(tag + req.getHeader("Host"));
      count.incrementAndGet();
      req.toNetSocket().onSuccess(ns -> ns.handler(b -> ns.write(Buffer.buffer(tag).appendBuffer(b))));
    });
    return s.listen(0, host).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS).actualPort();
  }

  private int echo(String host, String tag) throws Exception {
    NetServer s = vertx.createNetServer().connectHandler(ns -> ns.handler(b -> ns.write(Buffer.buffer(tag).appendBuffer(b))));
    return s.listen(0, host).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS).actualPort();
  }

  private static int closedPort() throws Exception {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
      return s.getLocalPort(); // nothing listens there once closed: connects are refused
    }
  }

  private static String readHead(InputStream in) throws Exception {
    StringBuilder sb = new StringBuilder();
    while (!sb.toString().endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) {
        break;
      }
      sb.append((char) b);
    }
    return sb.toString();
  }

  /** Sends {@code head}, reads the answer's head; after a 101 or 200, sends "ping" and returns head + echo. */
  private String through(String head) throws Exception {
    try (Socket s = new Socket("127.0.0.1", proxy.server.port())) {
      s.setSoTimeout(10_000);
      OutputStream out = s.getOutputStream();
      InputStream in = s.getInputStream();
      out.write(head.getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      String answer = readHead(in);
      if (!answer.startsWith("HTTP/1.1 101") && !answer.startsWith("HTTP/1.1 200")) {
        return answer;
      }
      out.write("ping".getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      byte[] echo = in.readNBytes(6);
      return answer + new String(echo, StandardCharsets.ISO_8859_1);
    }
  }

  private static String upgrade(String host) {
    return "GET /chat HTTP/1.1\r\nHost: " + host + "\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n";
  }

  private static String connect(String host, int port) {
    return "CONNECT " + host + ":" + port + " HTTP/1.1\r\nHost: " + host + ":" + port + "\r\n\r\n";
  }

  @Test
  void upgradesAndConnectsGoToTheirSitesServers() throws Exception {
    int dead = closedPort();
    int shop = upgradeOrigin("127.0.0.1", "S:", shopUpgrades);
    int blog = upgradeOrigin("127.0.0.2", "B:", blogUpgrades); // another address: CONNECT keeps the host, takes its port
    int shopEcho = echo("127.0.0.1", "s:");
    int blogEcho = echo("127.0.0.2", "b:");
    proxy = ProxyFixture.start(ConfigLoader.parse("listen:\n  address: 127.0.0.1:0\n  event-loops: 1\n"
        + "cache:\n  dir: " + cacheDir + "\n  max-size: 64MiB\nadmin:\n  enabled: false\nlogging:\n  access-log: off\n"
        + "transfer:\n  connect-ports: [" + shopEcho + ", " + blogEcho + "]\n"
        + "sites:\n"
        + "  - name: shop\n    hosts: [shop.test]\n    balance: round-robin\n"
        + "    origins: [http://127.0.0.1:" + dead + ", http://127.0.0.1:" + shop + "]\n"
        + "  - name: blog\n    hosts: [blog.test]\n    preserve-host: false\n    origins: [http://127.0.0.2:" + blog + "]\n",
        "site-tunnels.yaml"));

    // round-robin offers the dead server to every other tunnel: its refused connect moves on to the live one
    for (int i = 0; i < 4; i++) {
      assertThat(through(upgrade("shop.test"))).startsWith("HTTP/1.1 101").endsWith("S:ping");
    }
    assertThat(shopUpgrades).hasValue(4);
    assertThat(through(upgrade("blog.test"))).startsWith("HTTP/1.1 101").endsWith("B:ping");
    assertThat(blogUpgrades).hasValue(1);
    assertThat(hostsSeen).contains("S:shop.test", "B:127.0.0.2:" + blog); // blog asks its server with its own host
    assertThat(through(upgrade("nobody.test"))).startsWith("HTTP/1.1 421").containsIgnoringCase("detail=unknown-host");
    assertThat(shopUpgrades.get() + blogUpgrades.get()).isEqualTo(5);

    // CONNECT names a site's host and an allowed port: opened to that port of one of the site's servers
    assertThat(through(connect("blog.test", blogEcho))).startsWith("HTTP/1.1 200").endsWith("b:ping");
    assertThat(through(connect("shop.test", shopEcho))).startsWith("HTTP/1.1 200").endsWith("s:ping");
    assertThat(through(connect("nobody.test", shopEcho))).startsWith("HTTP/1.1 403");
    assertThat(through(connect("blog.test", 1))).startsWith("HTTP/1.1 403");
  }

  @Test
  void aSiteWhoseServersAllRefuseAnswers502() throws Exception {
    int dead = closedPort();
    proxy = ProxyFixture.start(ConfigLoader.parse("listen:\n  address: 127.0.0.1:0\n  event-loops: 1\n"
        + "cache:\n  dir: " + cacheDir + "\n  max-size: 64MiB\nadmin:\n  enabled: false\nlogging:\n  access-log: off\n"
        + "sites:\n  - name: shop\n    hosts: [shop.test]\n    origins: [http://127.0.0.1:" + dead + "]\n",
        "site-tunnels.yaml"));
    assertThat(through(upgrade("shop.test"))).startsWith("HTTP/1.1 502").containsIgnoringCase("detail=origin-unreachable");
  }
}
