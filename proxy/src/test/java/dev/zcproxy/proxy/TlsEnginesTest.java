package dev.zcproxy.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.proxy.config.ProxyConfig.ListenTls;
import io.vertx.core.net.JdkSSLEngineOptions;
import io.vertx.core.net.OpenSSLEngineOptions;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Which TLS engine each {@code listen.tls.provider} gives. */
class TlsEnginesTest {
  private static ListenTls tls(String provider) {
    return new ListenTls(List.of(), ListenTls.KNOWN_PROTOCOLS, List.of(), Duration.ofSeconds(10), Duration.ofSeconds(10),
        provider);
  }

  @Test
  void autoIsTheDefaultAndTakesOpenSslWhereItLoadsElseTheJdks() {
    assertThat(ListenTls.OFF.provider()).isEqualTo("auto");
    // netty-tcnative-boringssl-static ships for Linux x86-64, where the build and CI run
    assertThat(OpenSSLEngineOptions.isAvailable()).as("OpenSSL loads on this machine").isTrue();
    assertThat(TlsEngines.of(tls("auto"))).isInstanceOf(OpenSSLEngineOptions.class);
  }

  @Test
  void jdkAndOpenSslAreTakenAsConfigured() {
    assertThat(TlsEngines.of(tls("jdk"))).isInstanceOf(JdkSSLEngineOptions.class);
    assertThat(TlsEngines.of(tls("openssl"))).isInstanceOf(OpenSSLEngineOptions.class);
  }
}
