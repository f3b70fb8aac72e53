package dev.zcproxy.proxy;

import dev.zcproxy.proxy.config.ProxyConfig;
import io.netty.handler.ssl.OpenSsl;
import io.vertx.core.net.JdkSSLEngineOptions;
import io.vertx.core.net.OpenSSLEngineOptions;
import io.vertx.core.net.SSLEngineOptions;

/** The TLS engine of the client listener, as {@code listen.tls.provider} names it. */
final class TlsEngines {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(TlsEngines.class);

  private TlsEngines() {}

  /**
   * The engine for {@code tls}: the JDK's, OpenSSL (BoringSSL from netty-tcnative), or for {@code auto}
   * OpenSSL where its native library loads and the JDK's elsewhere.
   *
   * @throws IllegalStateException when {@code openssl} is asked for and its native library cannot be
   *     loaded here (another OS or CPU, a noexec temp directory): the proxy does not start on another
   *     engine than the one configured
   */
  static SSLEngineOptions of(ProxyConfig.ListenTls tls) {
    if (tls.auto()) {
      // measured faster than the JDK's engine (loadtest/results/TLS-*.md); the JDK's where it cannot load
      if (OpenSSLEngineOptions.isAvailable()) {
        return new OpenSSLEngineOptions();
      }
      LOG.info("listen.tls.provider auto: OpenSSL is not available here ({}); using the JDK's TLS engine",
          String.valueOf(OpenSsl.unavailabilityCause()));
      return new JdkSSLEngineOptions();
    }
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
