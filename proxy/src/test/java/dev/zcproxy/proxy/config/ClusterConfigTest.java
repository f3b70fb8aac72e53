package dev.zcproxy.proxy.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The {@code cluster:} section, its flags and its environment variable. */
class ClusterConfigTest {
  private static final String SECRET = "0123456789abcdef-secret";

  private static ConfigException error(String yaml) {
    ConfigException e = catchThrowableOfType(() -> ConfigLoader.parse(yaml, "c.yaml"), ConfigException.class);
    assertThat(e).isNotNull();
    return e;
  }

  @Test
  void offByDefault() {
    ProxyConfig.Cluster c = ProxyConfig.defaults().cluster();
    assertThat(c.enabled()).isFalse();
    assertThat(c.localCopy()).isFalse();
    assertThat(c.members()).isEmpty();
    assertThat(c.ownerTimeout()).isEqualTo(Duration.ofSeconds(2));
  }

  @Test
  void everyKeyBinds() {
    ProxyConfig.Cluster c = ConfigLoader.parse("""
        cluster:
          enabled: true
          name: edge
          secret: %s
          port: 5801
          bus-port: 5802
          advertise: 10.0.0.1
          members: [10.0.0.1:5801, 10.0.0.2:5801]
          owner-timeout: 500ms
          failure-timeout: 4s
          local-copy: true
          local-copy-entries: 50
          ban-retention: 2h
          invalidation-log: 500
          invalidation-retention: 3h
          handoff-window: 0s
        """.formatted(SECRET), "c.yaml").cluster();
    assertThat(c).isEqualTo(new ProxyConfig.Cluster(true, "edge", SECRET, 5801, 5802, "10.0.0.1",
        List.of("10.0.0.1:5801", "10.0.0.2:5801"), Duration.ofMillis(500), Duration.ofSeconds(4), true, 50,
        Duration.ofHours(2), 500, Duration.ofHours(3), Duration.ZERO));
    assertThat(c.toString()).doesNotContain(SECRET);
  }

  @Test
  void enabledNeedsASecretAndTheMessageHidesIt() {
    assertThat(error("cluster:\n  enabled: true\n  secret: short-one\n").getMessage())
        .contains("cluster.secret").contains("at least 16").doesNotContain("short-one");
    assertThat(error("cluster:\n  enabled: true\n").getMessage()).contains("cluster.secret");
  }

  @Test
  void badValuesNameTheKey() {
    assertThat(error("cluster:\n  members: [10.0.0.1]\n").getMessage()).contains("cluster.members").contains("HOST:PORT");
    assertThat(error("cluster:\n  port: 0\n").getMessage()).contains("cluster.port");
    assertThat(error("cluster:\n  owner-timeout: 0s\n").getMessage()).contains("cluster.owner-timeout");
    assertThat(error("cluster:\n  failure-timeout: 500ms\n").getMessage()).contains("cluster.failure-timeout");
    assertThat(error("cluster:\n  gossip: true\n").getMessage()).contains("cluster.gossip");
    assertThat(error("cluster:\n  invalidation-log: 0\n").getMessage()).contains("cluster.invalidation-log");
    assertThat(error("cluster:\n  invalidation-retention: 500ms\n").getMessage()).contains("cluster.invalidation-retention");
    assertThat(error("cluster:\n  handoff-window: -1s\n").getMessage()).contains("cluster.handoff-window");
  }

  @Test
  void hazelcastLogsWarningsOnlyUnlessLoggingClusterLevelSaysOtherwise() {
    assertThat(ConfigLoader.parse("", "d.yaml").logging().clusterLevel()).isEqualTo("warn");
    assertThat(ConfigLoader.parse("logging:\n  cluster-level: info\n", "l.yaml").logging().clusterLevel()).isEqualTo("info");
    assertThat(error("logging:\n  cluster-level: loud\n").getMessage()).contains("logging.cluster-level").contains("loud");
  }

  @Test
  void flagsAndEnvironment() {
    ProxyConfig c = ConfigLoader.fromArgs(new String[] {"--cluster-port", "5901", "--cluster-members",
        "10.0.0.1:5901,10.0.0.2:5901"}, Map.of(ConfigLoader.CLUSTER_SECRET_ENV, SECRET));
    assertThat(c.cluster().enabled()).isTrue();
    assertThat(c.cluster().port()).isEqualTo(5901);
    assertThat(c.cluster().members()).containsExactly("10.0.0.1:5901", "10.0.0.2:5901");
    assertThat(c.cluster().secret()).isEqualTo(SECRET);
    ConfigException noSecret = catchThrowableOfType(
        () -> ConfigLoader.fromArgs(new String[] {"--cluster-members", "10.0.0.1:5901"}, Map.of()), ConfigException.class);
    assertThat(noSecret.getMessage()).contains("cluster.secret").contains("ZCPROXY_CLUSTER_SECRET");
  }
}
