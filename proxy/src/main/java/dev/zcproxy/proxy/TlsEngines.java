package dev.zcproxy.proxy;

import dev.zcproxy.proxy.config.ProxyConfig;
import io.netty.handler.ssl.OpenSsl;
import io.vertx.core.net.JdkSSLEngineOptions;
import io.vertx.core.net.OpenSSLEngineOptions;
import io.vertx.core.net.SSLEngineOptions;

/** The TLS engine of the client listener, as {@code listen.tls.provider} names it. */
final class TlsEngines {
  private TlsEngines() {}

  /**
   * The engine for {@code tls}: the JDK's, or OpenSSL (BoringSSL from netty-tcnative).
   *
   * @throws IllegalStateException when {@code openssl} is asked for and its native library cannot be
   *     loaded here (another OS or CPU, a noexec temp directory): the proxy does not start on another
   *     engine than the one configured
   */
  static SSLEngineOptions of(ProxyConfig.ListenTls tls) {
    if (!tls.openssl()) {
      return new JdkSSLEngineOptions();
    }
    if (!OpenSSLEngineOptions.isAvailable()) {
      Throwable cause = OpenSsl.unavailabilityCause();
      throw new IllegalStateException("listen.tls.provider: openssl is not available on this machine ("
          + (cause == null ? "unknown reason" : cause.toString())
          + "); netty-tcnative-boringssl-static ships for Linux x86-64 only. Use provider: jdk", cause);
    }
    return new OpenSSLEngineOptions();
  }
}
