package dev.zcproxy.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.CacheOutcome;
import dev.zcproxy.proxy.transfer.TransferMode;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpVersion;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * HTTP/2 clients (ALPN h2 over TLS, Vert.x and curl) get misses and hits like HTTP/1.1 ones, with one
 * origin request per key and coalesced concurrent misses; hits are copied (counted as copy-h2). Plain
 * listeners stay HTTP/1.1 with {@code listen.http2} on: no h2c by prior knowledge or {@code Upgrade}.
 */
class Http2IT extends OriginAndProxy {
  @TempDir
  Path certDir;
  TlsClients clients;

  @BeforeEach
  void makeClients() {
    clients = new TlsClients();
  }

  @AfterEach
  void closeClients() throws Exception {
    clients.close();
  }

  private static final byte[] BODY = "h2 body, cached once".getBytes(StandardCharsets.UTF_8);

  private void missThenHit(HttpClient c, int port, String host) throws Exception {
    origin.serve("/h2", BODY, "Cache-Control", "max-age=600");
    TlsClients.Got miss = TlsClients.get(c, port, host, "/h2");
    assertThat(miss.version()).isEqualTo(HttpVersion.HTTP_2);
    assertThat(miss.status()).isEqualTo(200);
    assertThat(miss.header("x-cache")).isEqualTo("MISS");
    assertThat(miss.body().getBytes()).isEqualTo(BODY);
    proxy.server.metrics().whenStored(1).get(20, TimeUnit.SECONDS);
    proxy.server.metrics().whenRamLoaded(1).get(10, TimeUnit.SECONDS); // the small body is kept from its fill
    TlsClients.Got hit = TlsClients.get(c, port, host, "/h2");
    assertThat(hit.version()).isEqualTo(HttpVersion.HTTP_2);
    assertThat(hit.header("x-cache")).isEqualTo("HIT");
    assertThat(hit.header("cache-status")).startsWith("zcproxy; hit");
    assertThat(hit.body().getBytes()).isEqualTo(BODY);
    assertThat(origin.requests("/h2")).isEqualTo(1);
    proxy.server.metrics().whenResponses(CacheOutcome.MISS, 1).get(10, TimeUnit.SECONDS);
    proxy.server.metrics().whenResponses(CacheOutcome.HIT, 1).get(10, TimeUnit.SECONDS);
    // the miss copied into frames; the hit from the RAM tier (its body kept from the fill), framed the same way
    assertThat(proxy.server.metrics().responses(TransferMode.COPY_H2)).isEqualTo(1);
    assertThat(proxy.server.metrics().responses(TransferMode.RAM)).isEqualTo(1);
    assertThat(proxy.server.metrics().responses(TransferMode.SENDFILE)).isZero();
  }

  @Test
  void h2OverTlsByAlpnMissesThenHits() throws Exception {
    TestCerts certs = TestCerts.create(certDir);
    proxy = ProxyFixture.start(origin.url(), cacheDir, TlsIT.tlsYaml(certs.leaf("a.test")), "listen.http2: true");
    missThenHit(clients.tls(certs.caCert, true), proxy.server.port(), "a.test");
    assertThat(proxy.server.startupLine()).contains("h2 + http/1.1", "copy-h2");
  }

  @Test
  void aLargeBodyIsByteIdenticalOverH2AndHttp11OverTls() throws Exception {
    TestCerts certs = TestCerts.create(certDir);
    byte[] big = CachingIT.body(1 << 20, 7);
    origin.serve("/big", big, "Cache-Control", "max-age=600");
    proxy = ProxyFixture.start(origin.url(), cacheDir, TlsIT.tlsYaml(certs.leaf("a.test")), "listen.http2: true");
    HttpClient h2 = clients.tls(certs.caCert, true);
    HttpClient h1 = clients.tls(certs.caCert, false);
    TlsClients.Got miss = TlsClients.get(h2, proxy.server.port(), "a.test", "/big");
    assertThat(CachingIT.sha256(miss.body().getBytes())).isEqualTo(CachingIT.sha256(big));
    proxy.server.metrics().whenStored(1).get(20, TimeUnit.SECONDS);
    TlsClients.Got hit2 = TlsClients.get(h2, proxy.server.port(), "a.test", "/big");
    TlsClients.Got hit1 = TlsClients.get(h1, proxy.server.port(), "a.test", "/big");
    assertThat(hit2.header("x-cache")).isEqualTo("HIT");
    assertThat(hit1.header("x-cache")).isEqualTo("HIT");
    assertThat(hit1.version()).isEqualTo(HttpVersion.HTTP_1_1);
    assertThat(CachingIT.sha256(hit2.body().getBytes())).isEqualTo(CachingIT.sha256(big));
    assertThat(CachingIT.sha256(hit1.body().getBytes())).isEqualTo(CachingIT.sha256(big));
    assertThat(origin.requests("/big")).isEqualTo(1);
    proxy.server.metrics().whenResponses(CacheOutcome.HIT, 2).get(10, TimeUnit.SECONDS);
    assertThat(proxy.server.metrics().bytes(TransferMode.COPY_H2)).isEqualTo(2L * big.length);
    assertThat(proxy.server.metrics().bytes(TransferMode.COPY_TLS)).isEqualTo(big.length);
  }

  @Test
  void earlyHintsReachAnH2Client() throws Exception {
    TestCerts certs = TestCerts.create(certDir);
    origin.route("/hints", req -> req.response()
        .writeEarlyHints(io.vertx.core.http.HttpHeaders.headers().add("link", "</style.css>; rel=preload; as=style"))
        .onComplete(x -> req.response().putHeader("cache-control", "max-age=600").end("hinted")));
    proxy = ProxyFixture.start(origin.url(), cacheDir, TlsIT.tlsYaml(certs.leaf("a.test")), "listen.http2: true");
    HttpClient c = clients.tls(certs.caCert, true);
    java.util.concurrent.CompletableFuture<String> hint = new java.util.concurrent.CompletableFuture<>();
    String body = c.request(new io.vertx.core.http.RequestOptions().setHost("a.test").setPort(proxy.server.port())
            .setURI("/hints").setServer(io.vertx.core.net.SocketAddress.inetSocketAddress(proxy.server.port(), "127.0.0.1")))
        .compose(req -> {
          req.earlyHintsHandler(h -> hint.complete(h.get("link")));
          return req.send().compose(r -> r.body());
        })
        .toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS).toString();
    assertThat(body).isEqualTo("hinted");
    assertThat(hint.get(5, TimeUnit.SECONDS)).isEqualTo("</style.css>; rel=preload; as=style");
    assertThat(origin.requests("/hints")).isEqualTo(1);
  }

  @Test
  void aPlainListenerStaysHttp11WithHttp2On() throws Exception {
    origin.serve("/h2", BODY, "Cache-Control", "max-age=600");
    proxy = ProxyFixture.start(origin.url(), cacheDir, "listen.http2: true");
    // prior knowledge: the preface is not an HTTP/1.1 request
    String got = InterimResponseIT.exchange(proxy.server.port(), "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    assertThat(got).doesNotContain(" 200 "); // Vert.x's HTTP/1 decoder answers the preface 501
    assertThat(origin.requests("/h2")).isZero();
  }

  @Test
  void concurrentH2StreamsForOneKeyAreCoalescedIntoOneOriginRequest() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    CountDownLatch arrived = new CountDownLatch(1);
    origin.route("/slow", req -> {
      arrived.countDown();
      clients.vertx.executeBlocking(() -> release.await(20, TimeUnit.SECONDS)).onComplete(x ->
          req.response().putHeader("cache-control", "max-age=600").end("slow body"));
    });
    TestCerts certs = TestCerts.create(certDir);
    proxy = ProxyFixture.start(origin.url(), cacheDir, TlsIT.tlsYaml(certs.leaf("a.test")), "listen.http2: true");
    HttpClient c = clients.tls(certs.caCert, true);
    List<java.util.concurrent.CompletableFuture<TlsClients.Got>> got = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      got.add(java.util.concurrent.CompletableFuture.supplyAsync(() -> {
        try {
          return TlsClients.get(c, proxy.server.port(), "a.test", "/slow");
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      }));
    }
    assertThat(arrived.await(20, TimeUnit.SECONDS)).isTrue();
    // every stream is at the proxy before the origin answers: the others wait on the one fill
    proxy.server.metrics().whenCollapsed(4).get(30, TimeUnit.SECONDS);
    release.countDown();
    for (var f : got) {
      TlsClients.Got g = f.get(30, TimeUnit.SECONDS);
      assertThat(g.status()).isEqualTo(200);
      assertThat(g.body().toString()).isEqualTo("slow body");
      assertThat(g.version()).isEqualTo(HttpVersion.HTTP_2);
    }
    assertThat(origin.requests("/slow")).isEqualTo(1);
  }

  @Test
  void curlGetsMissThenHitOverH2() throws Exception {
    Assumptions.assumeTrue(curlHasHttp2(), "curl with HTTP/2 support not installed: curl part skipped");
    TestCerts certs = TestCerts.create(certDir);
    origin.serve("/c", BODY, "Cache-Control", "max-age=600");
    proxy = ProxyFixture.start(origin.url(), cacheDir, TlsIT.tlsYaml(certs.leaf("a.test")), "listen.http2: true",
        "listen.plain-address: 127.0.0.1:0");
    String tlsUrl = "https://a.test:" + proxy.server.port() + "/c";
    List<String> tls = List.of("--http2", "--cacert", certs.caCert.toString(), "--resolve",
        "a.test:" + proxy.server.port() + ":127.0.0.1", tlsUrl);
    assertThat(curl(tls)).contains("HTTP/2 200", "x-cache: miss");
    proxy.server.metrics().whenStored(1).get(20, TimeUnit.SECONDS);
    assertThat(curl(tls)).contains("HTTP/2 200", "x-cache: hit");
    assertThat(origin.requests("/c")).isEqualTo(1);
    String plainUrl = "http://127.0.0.1:" + proxy.server.plainPort() + "/c";
    assertThat(curl(List.of("--http2", plainUrl))).startsWith("HTTP/1.1 200"); // no h2c upgrade
  }

  static boolean curlHasHttp2() {
    try {
      Process p = new ProcessBuilder("curl", "--version").redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      return p.waitFor(10, TimeUnit.SECONDS) && out.contains("HTTP2");
    } catch (IOException | InterruptedException e) {
      return false;
    }
  }

  /** Runs curl with {@code -sS -i} (head and body on stdout) and returns what it printed. */
  static String curl(List<String> args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "-i", "--max-time", "20"));
    cmd.addAll(args);
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
    return out.toLowerCase(java.util.Locale.ROOT).replace("http/2", "HTTP/2").replace("http/1.1", "HTTP/1.1");
  }
}
