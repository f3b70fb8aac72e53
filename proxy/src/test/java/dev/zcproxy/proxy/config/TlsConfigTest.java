package dev.zcproxy.proxy.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.zcproxy.proxy.config.ProxyConfig.CertKey;
import dev.zcproxy.proxy.config.ProxyConfig.HostPort;
import dev.zcproxy.proxy.config.ProxyConfig.ListenTls;
import dev.zcproxy.proxy.config.ProxyConfig.OriginTls;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** The {@code listen.tls}, {@code listen.http2}, {@code listen.http2-cleartext}, {@code listen.plain-address} and {@code origin.tls} keys. */
class TlsConfigTest {
  @Test
  void defaultsArePlainHttp11AndVerifiedOrigins() {
    ProxyConfig d = ProxyConfig.defaults();
    assertThat(d.listen().tls()).isEqualTo(ListenTls.OFF);
    assertThat(d.listen().tls().enabled()).isFalse();
    assertThat(d.listen().http2()).isFalse();
    assertThat(d.listen().http2Cleartext()).isFalse();
    assertThat(d.listen().plainAddress()).isNull();
    assertThat(d.listen().tls().protocols()).containsExactly("TLSv1.3", "TLSv1.2");
    assertThat(d.listen().tls().effectiveCiphers()).isEqualTo(ListenTls.MODERN_CIPHERS);
    assertThat(d.listen().tls().provider()).isEqualTo("auto");
    assertThat(d.origin().tls()).isEqualTo(OriginTls.DEFAULT);
    assertThat(d.origin().tls().verify()).isTrue();
  }

  @Test
  void everyKeyIsBound() {
    ProxyConfig c = ConfigLoader.parse("""
        listen:
          address: :8443
          http2: true
          http2-cleartext: true
          plain-address: 127.0.0.1:8080
          tls:
            certificates:
              - {cert: /etc/a.pem, key: /etc/a.key}
              - cert: /etc/b.pem
                key: /etc/b.key
            protocols: [TLSv1.3]
            ciphers: [TLS_AES_128_GCM_SHA256]
            reload-check: 0
            handshake-timeout: 3s
            provider: openssl
        origin:
          url: https://origin.example
          tls: {verify: false, ca-file: /etc/ca.pem, sni: o.example, cert: /etc/c.pem, key: /etc/c.key}
        """, "tls.yaml");
    assertThat(c.listen().http2()).isTrue();
    assertThat(c.listen().http2Cleartext()).isTrue();
    assertThat(c.listen().plainAddress()).isEqualTo(new HostPort("127.0.0.1", 8080));
    assertThat(c.listen().tls()).isEqualTo(new ListenTls(
        List.of(new CertKey(Path.of("/etc/a.pem"), Path.of("/etc/a.key")), new CertKey(Path.of("/etc/b.pem"), Path.of("/etc/b.key"))),
        List.of("TLSv1.3"), List.of("TLS_AES_128_GCM_SHA256"), Duration.ZERO, Duration.ofSeconds(3), "openssl"));
    assertThat(c.origin().tls()).isEqualTo(new OriginTls(false, Path.of("/etc/ca.pem"), "o.example",
        Path.of("/etc/c.pem"), Path.of("/etc/c.key")));
  }

  @ParameterizedTest(name = "{1}")
  @CsvSource(delimiter = '|', value = {
      "listen:\\n  tls: {certificates: [{cert: a.pem}]}|t.yaml:2: listen.tls.certificates: has an item without cert and key",
      "listen:\\n  tls:\\n    protocols: [SSLv3]|t.yaml:3: listen.tls.protocols: SSLv3 (expected: one or more of TLSv1.3, TLSv1.2)",
      "listen:\\n  tls:\\n    reload-chek: 1s|t.yaml:3: listen.tls.reload-chek: unknown key (did you mean listen.tls.reload-check?",
      "listen:\\n  tls:\\n    handshake-timeout: 0|t.yaml:3: listen.tls.handshake-timeout: 0 (expected: > 0)",
      "listen:\\n  tls: yes|t.yaml:2: listen.tls: is not a mapping",
      "listen:\\n  tls:\\n    provider: gnutls|t.yaml:3: listen.tls.provider: gnutls (expected: one of auto, jdk, openssl)",
      "listen:\\n  plain-address: :8080|t.yaml:2: listen.plain-address: 0.0.0.0:8080 (expected: \"\" unless listen.tls has certificates",
      "origin:\\n  tls:\\n    verify: maybe|t.yaml:3: origin.tls.verify: \"maybe\" is not a boolean",
      "origin:\\n  tls:\\n    cert: c.pem|t.yaml:3: origin.tls.key: \"\" (expected: origin.tls.cert and origin.tls.key both set, or neither)",
  })
  void errorsNameTheKeyAndTheLine(String yaml, String message) {
    ConfigException e = catchThrowableOfType(() -> ConfigLoader.parse(yaml.replace("\\n", "\n"), "t.yaml"), ConfigException.class);
    assertThat(e).isNotNull();
    assertThat(e.getMessage()).startsWith(message);
  }
}
