package dev.zcproxy.proxy.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SignerTest {
  @Test
  void theClusterNameDependsOnNameAndSecretAndShowsNeitherSecret() {
    String a = Signer.clusterName("edge", "secret-one-0123456789");
    assertThat(a).startsWith("edge-").doesNotContain("secret");
    assertThat(Signer.clusterName("edge", "secret-one-0123456789")).isEqualTo(a);
    assertThat(Signer.clusterName("edge", "secret-two-0123456789")).isNotEqualTo(a);
    assertThat(Signer.clusterName("edge2", "secret-one-0123456789")).isNotEqualTo(a);
  }

  @Test
  void onlyTheSameSecretVerifies() {
    Signer mine = new Signer("secret-one-0123456789");
    String mac = mine.sign("{\"kind\":\"PURGE\"}");
    assertThat(mine.verify("{\"kind\":\"PURGE\"}", mac)).isTrue();
    assertThat(mine.verify("{\"kind\":\"BAN\"}", mac)).isFalse();
    assertThat(new Signer("secret-two-0123456789").verify("{\"kind\":\"PURGE\"}", mac)).isFalse();
    assertThat(mine.verify("{\"kind\":\"PURGE\"}", null)).isFalse();
  }
}
