package dev.zcproxy.proxy.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import dev.zcproxy.proxy.config.ProxyConfig.Admin;
import dev.zcproxy.proxy.config.ProxyConfig.HostPort;
import dev.zcproxy.proxy.config.ProxyConfig.Listen;
import dev.zcproxy.proxy.config.ProxyConfig.Logging;
import dev.zcproxy.proxy.config.ProxyConfig.Origin;
import dev.zcproxy.proxy.config.ProxyConfig.OriginUrl;
import dev.zcproxy.proxy.config.ProxyConfig.Transfer;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The compact constructors validate on their own, for configs built in code (tests, embedding). */
class ProxyConfigTest {
  @Test
  void defaultsAreTheDocumentedValues() {
    ProxyConfig d = ProxyConfig.defaults();
    assertThat(d.listen().address()).hasToString("127.0.0.1:8080");
    assertThat(d.origin().url()).hasToString("http://127.0.0.1:8081");
    assertThat(d.origin().url().tls()).isFalse();
    assertThat(d.cache().dir()).isEqualTo(Path.of("./var/cache"));
    assertThat(d.cache().maxSizeBytes()).isEqualTo(1L << 30);
    assertThat(d.admin().address()).hasToString("127.0.0.1:8079");
    assertThat(d.logging().level()).isEqualTo("info");
  }

  @Test
  void theIndexHeapIsAShareOfTheMaximumHeapOrASizeCappedBelowIt() {
    long max = 128L << 20;
    assertThat(ProxyConfig.defaults().cache().indexHeap()).hasToString("25%");
    assertThat(ProxyConfig.defaults().cache().indexHeap().resolve(max)).isEqualTo(max / 100 * 25);
    assertThat(ProxyConfig.IndexHeap.bytes(64L << 20).resolve(max)).isEqualTo(64L << 20);
    assertThat(ProxyConfig.IndexHeap.bytes(64L << 20)).hasToString("64MiB");
    assertThat(ProxyConfig.IndexHeap.bytes(1L << 30).resolve(max)).isEqualTo(max / 100 * 90);
    assertThat(ProxyConfig.IndexHeap.percent(1).resolve(16L << 20)).isEqualTo(1L << 20);
  }

  @Test
  void messagesNameTheKeyPathValueAndExpectation() {
    Listen l = ProxyConfig.defaults().listen();
    assertThatIllegalArgumentException()
        .isThrownBy(() -> new Listen(l.address(), 0, 1, Duration.ZERO, 0, Duration.ZERO, 1, Duration.ZERO))
        .withMessage("listen.max-header-size: 0 (expected: > 0)");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> new Listen(l.address(), 1, 1, Duration.ofSeconds(-1), 0, Duration.ZERO, 1, Duration.ZERO))
        .withMessage("listen.idle-timeout: PT-1S (expected: >= 0, 0 = off)");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> new Listen(l.address(), 1, 1, Duration.ZERO, 0, Duration.ZERO, 0, Duration.ZERO))
        .withMessage("listen.max-connections: 0 (expected: > 0)");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> new Origin(new OriginUrl("http", "h", 80), Duration.ZERO,
            Duration.ofSeconds(1), Duration.ZERO, 1, Duration.ZERO, true))
        .withMessage("origin.connect-timeout: 0 (expected: > 0)");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> new Transfer(true, true, -1, true))
        .withMessage("transfer.splice-min-size: -1 (expected: >= 0)");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> new Logging("stdout", "verbose", true))
        .withMessage("logging.level: verbose (expected: one of error, warn, info, debug, trace)");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> new HostPort("h", 65536))
        .withMessage("port: 65536 (expected: 0..65535)");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> new OriginUrl("ftp", "h", 21))
        .withMessage("scheme: ftp (expected: http or https)");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> new OriginUrl("http", "h", 0))
        .withMessage("port: 0 (expected: 1..65535)");
  }

  @Test
  void hostPortToStringBracketsIpv6() {
    assertThat(new HostPort("::1", 80)).hasToString("[::1]:80");
    assertThat(new Admin(false, new HostPort("0.0.0.0", 0)).address()).hasToString("0.0.0.0:0");
  }
}
