package dev.zcproxy.proxy;

import dev.zcproxy.proxy.config.ProxyConfig;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.KeyCertOptions;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The client listeners a {@link ProxyConfig.Listen} asks for: {@code listen.address} (TLS when
 * {@code listen.tls} has certificates) and, with TLS, an optional plain {@code listen.plain-address};
 * each with the HTTP versions it speaks and the transfer modes its hits can use.
 */
final class Listeners {
  private Listeners() {}

  /**
   * One listener: where, its Vert.x options, whether it speaks TLS and HTTP/2. A configured port 0 with
   * several event loops is given to Vert.x as a negative key (-1 main, -2 plain) so every loop's
   * instance shares one random port per listener.
   */
  record Spec(ProxyConfig.HostPort address, HttpServerOptions options, boolean tls, boolean http2, boolean h2c) {
    String scheme() {
      return tls ? "https" : "http";
    }

    /** What the start line says about this listener: protocols and how hits move. */
    String describe(boolean sendfile) {
      String h1 = tls ? (options.getSslEngineOptions() instanceof io.vertx.core.net.OpenSSLEngineOptions ? "copy-tls (openssl)" : "copy-tls")
          : sendfile ? "sendfile" : "copy";
      if (tls ? http2 : h2c) {
        return (tls ? "h2" : "h2c") + " + http/1.1, hits by " + h1 + " / copy-h2";
      }
      return "http/1.1, hits by " + h1;
    }
  }

  /** The listeners for {@code l}, the main one first; {@code certs} is used when TLS is on. */
  static List<Spec> specs(ProxyConfig.Listen l, int loops, KeyCertOptions certs) {
    List<Spec> out = new ArrayList<>();
    boolean tls = l.tls().enabled();
    out.add(new Spec(l.address(), options(l, l.address(), loops, -1, tls ? certs : null), tls, l.http2(),
        !tls && l.http2Cleartext()));
    if (tls && l.plainAddress() != null) {
      out.add(new Spec(l.plainAddress(), options(l, l.plainAddress(), loops, -2, null), false, l.http2(), l.http2Cleartext()));
    }
    return out;
  }

  private static HttpServerOptions options(ProxyConfig.Listen l, ProxyConfig.HostPort address, int loops, int sharedKey,
      KeyCertOptions certs) {
    HttpServerOptions options = new HttpServerOptions()
        .setHost(address.host())
        .setPort(address.port() == 0 && loops > 1 ? sharedKey : address.port())
        .setMaxHeaderSize(l.maxHeaderBytes())
        .setMaxInitialLineLength(l.maxInitialLineBytes())
        .setIdleTimeout((int) l.idleTimeout().toSeconds())
        .setIdleTimeoutUnit(TimeUnit.SECONDS)
        .setCompressionSupported(false)
        // 100 Continue is sent by the handler once the request passed its checks and its body is wanted.
        .setHandle100ContinueAutomatically(false)
        // HTTP/1.x for Vert.x on plain listeners: the strict request decoder, the head timer and the
        // half-close hook are installed per connection before its first byte. Vert.x's h2c detector sets up
        // the HTTP/1 connection only after the first request head (with it on, RequestSmugglingIT failed 36
        // of 38); with listen.http2-cleartext our own detector (PriorKnowledge) switches a connection that
        // starts with the HTTP/2 preface instead. HTTP/2 on TLS listeners is offered by ALPN.
        .setHttp2ClearTextEnabled(false)
        .setTcpNoDelay(true);
    if (l.sendBufferBytes() > 0) {
      options.setSendBufferSize(l.sendBufferBytes()); // accepted connections inherit it; 0: the kernel autotunes
    }
    if (certs != null) {
      ProxyConfig.ListenTls t = l.tls();
      options.setSsl(true)
          .setSni(true)
          .setKeyCertOptions(certs)
          .setEnabledSecureTransportProtocols(new LinkedHashSet<>(t.protocols()))
          .setSslHandshakeTimeout(t.handshakeTimeout().toMillis())
          .setSslHandshakeTimeoutUnit(TimeUnit.MILLISECONDS)
          .setUseAlpn(true)
          .setAlpnVersions(l.http2() ? List.of(HttpVersion.HTTP_2, HttpVersion.HTTP_1_1) : List.of(HttpVersion.HTTP_1_1));
      for (String c : t.effectiveCiphers()) {
        options.addEnabledCipherSuite(c);
      }
      options.setSslEngineOptions(TlsEngines.of(t));
    }
    return options;
  }
}
