package dev.zcproxy.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.http.ClientAuth;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * HTTPS origins: the certificate chain and host name are verified by default (502 with
 * {@code detail=origin-tls-failed} when they do not check out, nothing reaches the origin), a CA file
 * makes a private CA trusted, {@code origin.tls.sni} names the server, a client certificate is sent when set.
 */
class OriginTlsIT {
  @TempDir
  Path certDir;
  @TempDir
  Path cacheDir;
  TestCerts certs;
  TlsClients clients;
  ProxyFixture proxy;
  HttpServer https;
  /** The SNI server name of each request the https origin answered. */
  final List<String> served = new CopyOnWriteArrayList<>();

  @BeforeEach
  void makeCa() throws Exception {
    certs = TestCerts.create(certDir);
    clients = new TlsClients();
  }

  @AfterEach
  void close() throws Exception {
    try {
      if (proxy != null) {
        proxy.close();
      }
    } finally {
      clients.close();
    }
  }

  private String startOrigin(TestCerts.Leaf leaf, boolean clientAuth) throws Exception {
    HttpServerOptions o = new HttpServerOptions().setSsl(true).setSni(true)
        .setKeyCertOptions(new PemKeyCertOptions().setCertPath(leaf.cert().toString()).setKeyPath(leaf.key().toString()));
    if (clientAuth) {
      o.setClientAuth(ClientAuth.REQUIRED).setTrustOptions(new PemTrustOptions().addCertPath(certs.caCert.toString()));
    }
    https = clients.vertx.createHttpServer(o).requestHandler(req -> {
      served.add(String.valueOf(req.connection().indicatedServerName()));
      req.response().putHeader("cache-control", "max-age=600").end("secure");
    }).listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    return "https://127.0.0.1:" + https.actualPort();
  }

  @Test
  void anOriginSignedByAnUnknownCaIsRefusedWithoutTheCaFileAndTrustedWithIt() throws Exception {
    String url = startOrigin(certs.leaf("127.0.0.1"), false);
    proxy = ProxyFixture.start(url, cacheDir);
    HttpResponse<byte[]> refused = proxy.get("/a");
    assertThat(refused.statusCode()).isEqualTo(502);
    assertThat(refused.headers().firstValue("cache-status")).hasValueSatisfying(v -> assertThat(v).contains("detail=origin-tls-failed"));
    assertThat(served).isEmpty();
    proxy.close();

    proxy = ProxyFixture.start(url, cacheDir, "origin.tls: {ca-file: " + certs.caCert + "}");
    HttpResponse<byte[]> miss = proxy.get("/a");
    assertThat(miss.statusCode()).isEqualTo(200);
    assertThat(new String(miss.body())).isEqualTo("secure");
    proxy.server.metrics().whenStored(1).get(20, TimeUnit.SECONDS);
    assertThat(proxy.get("/a").headers().firstValue("x-cache")).hasValue("HIT");
    assertThat(served).hasSize(1);
  }

  @Test
  void verifyFalseTrustsAnyCertificate() throws Exception {
    proxy = ProxyFixture.start(startOrigin(certs.leaf("other.test"), false), cacheDir, "origin.tls: {verify: false}");
    assertThat(proxy.get("/v").statusCode()).isEqualTo(200);
    assertThat(served).hasSize(1);
  }

  @Test
  void theHostNameIsVerifiedAndSniNamesTheServer() throws Exception {
    String url = startOrigin(certs.leaf("origin.test"), false);
    // trusted CA, but the certificate is for origin.test, not 127.0.0.1
    proxy = ProxyFixture.start(url, cacheDir, "origin.tls: {ca-file: " + certs.caCert + "}");
    HttpResponse<byte[]> mismatch = proxy.get("/n");
    assertThat(mismatch.statusCode()).isEqualTo(502);
    assertThat(mismatch.headers().firstValue("cache-status")).hasValueSatisfying(v -> assertThat(v).contains("origin-tls-failed"));
    assertThat(served).isEmpty();
    proxy.close();

    proxy = ProxyFixture.start(url, cacheDir, "origin.tls: {ca-file: " + certs.caCert + ", sni: origin.test}");
    assertThat(proxy.get("/n").statusCode()).isEqualTo(200);
    assertThat(served).containsExactly("origin.test");
  }

  @Test
  void aClientCertificateIsSentWhenConfigured() throws Exception {
    String url = startOrigin(certs.leaf("127.0.0.1"), true);
    proxy = ProxyFixture.start(url, cacheDir, "origin.tls: {ca-file: " + certs.caCert + "}");
    assertThat(proxy.get("/c").statusCode()).isEqualTo(502);
    assertThat(served).isEmpty();
    proxy.close();

    TestCerts.Leaf client = certs.leaf("zcproxy.client");
    proxy = ProxyFixture.start(url, cacheDir,
        "origin.tls: {ca-file: " + certs.caCert + ", cert: " + client.cert() + ", key: " + client.key() + "}");
    assertThat(proxy.get("/c").statusCode()).isEqualTo(200);
    assertThat(served).hasSize(1);
  }
}
