package dev.zcproxy.proxy.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class CidrTest {
  @Test
  void matchesAddressesInsideTheBlockOnly() {
    Cidr ten = Cidr.parse("10.0.0.0/8");
    assertThat(ten.contains("10.1.2.3")).isTrue();
    assertThat(ten.contains("11.0.0.1")).isFalse();
    assertThat(ten.contains("::ffff:10.9.9.9")).isTrue();
    assertThat(Cidr.parse("192.168.1.128/25").contains("192.168.1.200")).isTrue();
    assertThat(Cidr.parse("192.168.1.128/25").contains("192.168.1.100")).isFalse();
    assertThat(Cidr.parse("127.0.0.1").contains("127.0.0.1")).isTrue();
    assertThat(Cidr.parse("127.0.0.1").contains("127.0.0.2")).isFalse();
    assertThat(Cidr.parse("::1/128").contains("0:0:0:0:0:0:0:1")).isTrue();
    assertThat(Cidr.parse("2001:db8::/32").contains("2001:db8:1::5")).isTrue();
    assertThat(Cidr.parse("0.0.0.0/0").contains("8.8.8.8")).isTrue();
    assertThat(ten.contains(null)).isFalse();
    assertThat(ten.contains("not-an-ip")).isFalse();
  }

  @Test
  void rejectsWhatIsNotAnAddressBlockWithoutResolvingNames() {
    assertThatIllegalArgumentException().isThrownBy(() -> Cidr.parse("localhost"));
    assertThatIllegalArgumentException().isThrownBy(() -> Cidr.parse("10.0.0.0/33"));
    assertThatIllegalArgumentException().isThrownBy(() -> Cidr.parse("1.2.3.999"));
    assertThatIllegalArgumentException().isThrownBy(() -> Cidr.parse("10.0.0.0/x"));
  }

  @Test
  void aBadTrustedProxyNamesTheKey() {
    assertThatThrownBy(() -> ConfigLoader.parse("listen:\n  trusted-proxies: [10.0.0.0/8, example.com]\n", "t.yaml"))
        .isInstanceOf(ConfigException.class).hasMessageContaining("listen.trusted-proxies").hasMessageContaining("example.com");
  }

  @Test
  void theNewListenAndOriginKeysBind() {
    ProxyConfig c = ConfigLoader.parse("listen:\n  trusted-proxies: [\"10.0.0.0/8\", \"::1\"]\n  max-body-size: 2MiB\n"
        + "  body-buffer-size: 8KiB\n  body-buffer-total: 1MiB\n  body-timeout: 5s\n  body-temp-dir: /tmp/b\n"
        + "origin:\n  strip-request-headers: [X-Original-URL]\n", "t.yaml");
    assertThat(c.listen().trustedProxies()).containsExactly("10.0.0.0/8", "::1");
    assertThat(c.listen().maxBodyBytes()).isEqualTo(2L << 20);
    assertThat(c.listen().bodyBufferBytes()).isEqualTo(8192);
    assertThat(c.listen().bodyBufferTotalBytes()).isEqualTo(1L << 20);
    assertThat(c.listen().bodyTimeout()).hasSeconds(5);
    assertThat(c.listen().bodyTempDir()).hasToString("/tmp/b");
    assertThat(c.origin().stripRequestHeaders()).containsExactly("X-Original-URL");
  }
}
