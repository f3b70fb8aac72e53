package dev.zcproxy.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.CacheOutcome;
import dev.zcproxy.proxy.transfer.TransferMode;
import io.vertx.core.http.HttpClient;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The client-side TLS listener: hits and misses over TLS (copied, counted as copy-tls), certificates
 * chosen by SNI, certificates replaced on disk served without a restart, and hostile clients (plaintext
 * to the TLS port, a handshake that never completes).
 */
class TlsIT extends OriginAndProxy {
  @TempDir
  Path certDir;
  TestCerts certs;
  TlsClients clients;

  @BeforeEach
  void makeCa() throws Exception {
    certs = TestCerts.create(certDir);
    clients = new TlsClients();
  }

  @AfterEach
  void closeClients() throws Exception {
    if (clients != null) {
      clients.close();
    }
  }

  /** The TLS engine under test ({@code listen.tls.provider}); {@link TlsOpenSslIT} runs every test with OpenSSL. */
  String provider() {
    return "jdk";
  }

  /** {@link #tlsYaml(String, TestCerts.Leaf...)} with {@link #provider()}. */
  String tls(String handshakeTimeout, TestCerts.Leaf... leaves) {
    String yaml = tlsYaml(handshakeTimeout, leaves);
    return yaml.substring(0, yaml.length() - 1) + ", provider: " + provider() + "}";
  }

  String tls(TestCerts.Leaf... leaves) {
    return tls("10s", leaves);
  }

  static String tlsYaml(TestCerts.Leaf... leaves) {
    return tlsYaml("10s", leaves);
  }

  /** {@code listen.tls} with these certificates, a fast reload check and the given handshake timeout. */
  static String tlsYaml(String handshakeTimeout, TestCerts.Leaf... leaves) {
    StringBuilder b = new StringBuilder("listen.tls: {certificates: [");
    for (int i = 0; i < leaves.length; i++) {
      b.append(i == 0 ? "" : ", ").append("{cert: ").append(leaves[i].cert()).append(", key: ").append(leaves[i].key()).append('}');
    }
    return b.append("], reload-check: 100ms, handshake-timeout: ").append(handshakeTimeout).append("}").toString();
  }

  @Test
  void missThenHitOverTlsReachTheOriginOnceAndAreCopied() throws Exception {
    origin.serve("/t", "hello over tls".getBytes(StandardCharsets.UTF_8), "Cache-Control", "max-age=600");
    TestCerts.Leaf a = certs.leaf("a.test");
    // RAM tier off: a small body would be kept from its fill and its hits written from RAM, not from the file
    proxy = ProxyFixture.start(origin.url(), cacheDir, tls(a), "listen.plain-address: 127.0.0.1:0", "cache.ram-size: 0");
    HttpClient c = clients.tls(certs.caCert, false);

    TlsClients.Got miss = TlsClients.get(c, proxy.server.port(), "a.test", "/t");
    assertThat(miss.status()).isEqualTo(200);
    assertThat(miss.body().toString()).isEqualTo("hello over tls");
    assertThat(miss.header("x-cache")).isEqualTo("MISS");
    proxy.server.metrics().whenStored(1).get(20, TimeUnit.SECONDS);
    TlsClients.Got hit = TlsClients.get(c, proxy.server.port(), "a.test", "/t");
    assertThat(hit.header("x-cache")).isEqualTo("HIT");
    assertThat(hit.body().toString()).isEqualTo("hello over tls");
    assertThat(origin.requests("/t")).isEqualTo(1);
    proxy.server.metrics().whenResponses(CacheOutcome.MISS, 1).get(10, TimeUnit.SECONDS);
    proxy.server.metrics().whenResponses(CacheOutcome.HIT, 1).get(10, TimeUnit.SECONDS);
    assertThat(proxy.server.metrics().responses(TransferMode.COPY_TLS)).isEqualTo(2);
    assertThat(proxy.server.metrics().responses(TransferMode.SENDFILE)).isZero();

    // The plain listener beside it serves the same cache (the key has the scheme, as nginx's default
    // $scheme$proxy_host$request_uri: http and https are separate entries) and keeps sendfile.
    assertThat(proxy.server.plainPort()).isPositive();
    java.net.URI plainUri = java.net.URI.create("http://127.0.0.1:" + proxy.server.plainPort() + "/t");
    for (String expected : new String[] {"MISS", "HIT"}) {
      java.net.http.HttpResponse<byte[]> plain = proxy.client.send(java.net.http.HttpRequest.newBuilder(plainUri).build(),
          java.net.http.HttpResponse.BodyHandlers.ofByteArray());
      assertThat(plain.headers().firstValue("x-cache")).hasValue(expected);
      proxy.server.metrics().whenStored(2).get(20, TimeUnit.SECONDS);
    }
    assertThat(origin.requests("/t")).isEqualTo(2);
    proxy.server.metrics().whenResponses(CacheOutcome.HIT, 2).get(10, TimeUnit.SECONDS);
    proxy.server.metrics().whenResponses(CacheOutcome.MISS, 2).get(10, TimeUnit.SECONDS);
    // The hit of this small body is read with its head and sent as one buffer (HeadPrefix.WHOLE: a copy, no sendfile);
    // the miss is sent from the fill's memory (held whole).
    assertThat(proxy.server.metrics().responses(TransferMode.SENDFILE)).isZero();
    assertThat(proxy.server.metrics().responses(TransferMode.COPY)).isEqualTo(2);
    assertThat(proxy.server.metrics().responses(TransferMode.COPY_TLS)).isEqualTo(2);
    assertThat(proxy.server.startupLine()).contains("https://127.0.0.1:" + proxy.server.port(), "copy-tls",
        "http://127.0.0.1:" + proxy.server.plainPort(), "sendfile");
    if (provider().equals("openssl")) {
      assertThat(proxy.server.startupLine()).contains("copy-tls (openssl)");
    } else {
      assertThat(proxy.server.startupLine()).doesNotContain("openssl");
    }
  }

  @Test
  void sniPicksTheCertificateForTheServerName() throws Exception {
    origin.serve("/s", "x".getBytes(StandardCharsets.UTF_8), "Cache-Control", "max-age=600");
    TestCerts.Leaf a = certs.leaf("a.test");
    TestCerts.Leaf b = certs.leaf("b.test", "*.b.test");
    proxy = ProxyFixture.start(origin.url(), cacheDir, tls(a, b));
    HttpClient c = clients.tls(certs.caCert, false);
    assertThat(TlsClients.get(c, proxy.server.port(), "b.test", "/s").peerSubject()).isEqualTo("CN=b.test");
    assertThat(TlsClients.get(c, proxy.server.port(), "www.b.test", "/s").peerSubject()).isEqualTo("CN=b.test");
    assertThat(TlsClients.get(c, proxy.server.port(), "a.test", "/s").peerSubject()).isEqualTo("CN=a.test");
  }

  @Test
  void aReplacedCertificateIsServedWithoutRestart() throws Exception {
    origin.serve("/r", "x".getBytes(StandardCharsets.UTF_8), "Cache-Control", "max-age=600");
    TestCerts.Leaf old = certs.leaf("a.test");
    Path cert = certDir.resolve("live.pem");
    Path key = certDir.resolve("live.key");
    Files.copy(old.cert(), cert);
    Files.copy(old.key(), key);
    proxy = ProxyFixture.start(origin.url(), cacheDir, tls(new TestCerts.Leaf(cert, key, "a.test")));
    HttpClient c = clients.tls(certs.caCert, false);
    assertThat(serial(c)).isEqualTo(1001);

    // what certbot and friends do: new files moved into place; the proxy notices within reload-check
    TestCerts.Leaf renewed = certs.leaf("a.test");
    Files.copy(renewed.key(), certDir.resolve("tmp.key"));
    Files.copy(renewed.cert(), certDir.resolve("tmp.pem"));
    Files.move(certDir.resolve("tmp.key"), key, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    Files.move(certDir.resolve("tmp.pem"), cert, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    int seen = serial(c);
    while (seen != 1002 && System.nanoTime() < deadline) {
      Thread.sleep(100); // bounded poll: the reload is timer-driven by design (listen.tls.reload-check)
      seen = serial(c);
    }
    assertThat(seen).isEqualTo(1002);
    // an explicit reload with nothing changed still succeeds and keeps serving
    assertThat(proxy.server.reloadCertificates().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS)).isTrue();
    assertThat(serial(c)).isEqualTo(1002);
    assertThat(origin.requests("/r")).isEqualTo(1);
  }

  /** The serial number of the certificate a new connection gets. */
  private int serial(HttpClient c) throws Exception {
    HttpClient fresh = clients.tls(certs.caCert, false); // a new pool: a new handshake
    try {
      io.vertx.core.http.HttpClientRequest req = fresh.request(new io.vertx.core.http.RequestOptions().setHost("a.test")
          .setPort(proxy.server.port()).setURI("/r")
          .setServer(io.vertx.core.net.SocketAddress.inetSocketAddress(proxy.server.port(), "127.0.0.1")))
          .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      req.send().compose(r -> r.body()).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      return ((java.security.cert.X509Certificate) req.connection().peerCertificates().get(0)).getSerialNumber().intValue();
    } finally {
      fresh.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void plaintextToTheTlsPortIsClosedWithoutAnAnswerAndTlsStillWorks() throws Exception {
    origin.serve("/p", "x".getBytes(StandardCharsets.UTF_8), "Cache-Control", "max-age=600");
    proxy = ProxyFixture.start(origin.url(), cacheDir, tls(certs.leaf("a.test")));
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", proxy.server.port()), 5000);
      s.setSoTimeout(10_000);
      s.getOutputStream().write("GET /p HTTP/1.1\r\nHost: a.test\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      String got = new String(readToEof(s.getInputStream()), StandardCharsets.ISO_8859_1);
      assertThat(got).doesNotContain("HTTP/1.1 200");
    }
    assertThat(origin.requests("/p")).isZero();
    assertThat(TlsClients.get(clients.tls(certs.caCert, false), proxy.server.port(), "a.test", "/p").status()).isEqualTo(200);
  }

  @Test
  void aStalledHandshakeIsClosedAfterTheHandshakeTimeout() throws Exception {
    proxy = ProxyFixture.start(origin.url(), cacheDir, tls("1s", certs.leaf("a.test")));
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", proxy.server.port()), 5000);
      s.setSoTimeout(10_000);
      // the start of a ClientHello record, then nothing
      s.getOutputStream().write(new byte[] {0x16, 0x03, 0x01, 0x01, 0x00, 0x01});
      long t0 = System.nanoTime();
      readToEof(s.getInputStream()); // a SocketTimeoutException here (10 s) means the proxy never closed it
      long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
      assertThat(ms).isBetween(500L, 8_000L); // handshake-timeout: 1s
    }
    assertThat(origin.totalRequests()).isZero();
  }

  @Test
  void aSlowHeadOverTlsGets408InTheTlsStreamAfterTheRequestHeadTimeout() throws Exception {
    proxy = ProxyFixture.start(origin.url(), cacheDir, tls(certs.leaf("a.test")), "listen.request-head-timeout: 1s");
    javax.net.ssl.TrustManagerFactory tmf = javax.net.ssl.TrustManagerFactory.getInstance(javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
    java.security.KeyStore ks = java.security.KeyStore.getInstance(java.security.KeyStore.getDefaultType());
    ks.load(null, null);
    try (InputStream in = Files.newInputStream(certs.caCert)) {
      ks.setCertificateEntry("ca", java.security.cert.CertificateFactory.getInstance("X.509").generateCertificate(in));
    }
    tmf.init(ks);
    javax.net.ssl.SSLContext ctx = javax.net.ssl.SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    try (javax.net.ssl.SSLSocket s = (javax.net.ssl.SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", proxy.server.port())) {
      s.setSoTimeout(10_000);
      s.startHandshake();
      s.getOutputStream().write("GET /slow HTTP/1.1\r\nHost: a.test\r\n".getBytes(StandardCharsets.US_ASCII)); // never ends
      s.getOutputStream().flush();
      String got = new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
      assertThat(got).startsWith("HTTP/1.1 408");
    }
    assertThat(origin.totalRequests()).isZero();
  }

  static byte[] readToEof(InputStream in) throws Exception {
    return in.readAllBytes();
  }
}
