package dev.zcproxy.proxy.it;

import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.core.net.SocketAddress;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.concurrent.TimeUnit;

/** Vert.x clients for the TLS and HTTP/2 ITs: TLS with a test CA and SNI, HTTP/2 by ALPN. */
final class TlsClients implements AutoCloseable {
  /** What a request got: status, head, body, protocol version and the server certificate's subject (or null). */
  record Got(int status, MultiMap headers, Buffer body, HttpVersion version, String peerSubject) {
    String header(String name) {
      return headers.get(name);
    }
  }

  final Vertx vertx = Vertx.vertx();

  /** A client over TLS trusting {@code ca}, speaking HTTP/2 (ALPN h2) or HTTP/1.1. */
  HttpClient tls(Path ca, boolean http2) {
    return vertx.createHttpClient(new HttpClientOptions().setSsl(true).setVerifyHost(true)
        .setTrustOptions(new PemTrustOptions().addCertPath(ca.toString()))
        .setUseAlpn(true).setProtocolVersion(http2 ? HttpVersion.HTTP_2 : HttpVersion.HTTP_1_1)
        .setConnectTimeout(5000));
  }

  /** GET {@code path} from 127.0.0.1:{@code port}, with {@code host} as the TLS server name and Host. */
  static Got get(HttpClient client, int port, String host, String path, String... headers) throws Exception {
    RequestOptions ro = new RequestOptions().setMethod(HttpMethod.GET).setHost(host).setPort(port).setURI(path)
        .setServer(SocketAddress.inetSocketAddress(port, "127.0.0.1"));
    for (int i = 0; i < headers.length; i += 2) {
      ro.addHeader(headers[i], headers[i + 1]);
    }
    return client.request(ro)
        .compose(req -> req.send().compose(resp -> resp.body().map(body -> {
          String subject = null;
          try {
            if (req.connection().isSsl()) {
              subject = ((X509Certificate) req.connection().peerCertificates().get(0)).getSubjectX500Principal().getName();
            }
          } catch (Exception e) {
            subject = "unverified: " + e;
          }
          return new Got(resp.statusCode(), resp.headers(), body, resp.version(), subject);
        })))
        .toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
  }

  @Override
  public void close() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
  }
}
