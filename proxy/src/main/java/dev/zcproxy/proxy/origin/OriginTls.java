package dev.zcproxy.proxy.origin;

import dev.zcproxy.proxy.config.ProxyConfig;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/**
 * How the proxy's client to an {@code https://} origin does TLS ({@code origin.tls}): certificate and
 * host-name verification (on by default), the CAs it trusts, the SNI server name, an optional client
 * certificate. Build one per origin TLS setting and apply it to every {@link HttpClientOptions} made
 * for a server with an https URL.
 *
 * <p>The files are read once, here, so a missing or unreadable file fails at start with the key's name.
 */
public final class OriginTls {
  private final ProxyConfig.OriginTls config;
  private final PemTrustOptions trust;
  private final PemKeyCertOptions clientCert;

  /** @throws IllegalArgumentException naming the {@code origin.tls} key whose file cannot be read */
  public OriginTls(ProxyConfig.OriginTls config) {
    this.config = Objects.requireNonNull(config, "config");
    this.trust = config.caFile() == null ? null
        : new PemTrustOptions().addCertValue(pem(config.caFile(), "origin.tls.ca-file", "-----BEGIN CERTIFICATE-----"));
    this.clientCert = config.cert() == null ? null
        : new PemKeyCertOptions()
            .addCertValue(pem(config.cert(), "origin.tls.cert", "-----BEGIN CERTIFICATE-----"))
            .addKeyValue(pem(config.key(), "origin.tls.key", "PRIVATE KEY-----"));
  }

  /** Turns TLS on in {@code options} with these settings; returns {@code options}. */
  public HttpClientOptions applyTo(HttpClientOptions options) {
    options.setSsl(true).setForceSni(true);
    if (!config.verify()) {
      options.setTrustAll(true).setVerifyHost(false);
    } else {
      options.setTrustAll(false).setVerifyHost(true);
      if (trust != null) {
        options.setTrustOptions(trust);
      }
    }
    if (clientCert != null) {
      options.setKeyCertOptions(clientCert);
    }
    return options;
  }

  /** The name sent as SNI and verified against the origin's certificate: {@code origin.tls.sni}, else {@code urlHost}. */
  public String serverName(String urlHost) {
    return config.sni().isEmpty() ? urlHost : config.sni();
  }

  /** Whether an SNI name other than the URL's host is configured (the request then connects to the URL's address). */
  public boolean overridesServerName() {
    return !config.sni().isEmpty();
  }

  private static Buffer pem(Path file, String key, String marker) {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (IOException e) {
      throw new IllegalArgumentException(key + ": " + file + ": cannot read (" + e.getClass().getSimpleName()
          + ") (expected: a readable PEM file)");
    }
    Buffer b = Buffer.buffer(bytes);
    if (!b.toString().contains(marker)) {
      throw new IllegalArgumentException(key + ": " + file + " (expected: a PEM file with " + marker + ")");
    }
    return b;
  }
}
