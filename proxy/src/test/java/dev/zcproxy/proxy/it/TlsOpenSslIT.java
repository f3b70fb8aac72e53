package dev.zcproxy.proxy.it;

/**
 * {@link TlsIT} with {@code listen.tls.provider: openssl}: the same hits, misses, SNI, certificate
 * reloads and hostile clients on BoringSSL (netty-tcnative) instead of the JDK's TLS engine.
 */
class TlsOpenSslIT extends TlsIT {
  @Override
  String provider() {
    return "openssl";
  }
}
