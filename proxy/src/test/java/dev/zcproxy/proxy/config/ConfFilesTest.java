package dev.zcproxy.proxy.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The shipped files under {@code conf/} must never rot. */
class ConfFilesTest {
  private static final Path CONF = Path.of("..", "conf");

  static List<Path> yamlFiles() throws IOException {
    try (Stream<Path> files = Files.walk(CONF)) {
      return files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
    }
  }

  @Test
  void confDirectoryHasTheExpectedFiles() throws IOException {
    assertThat(yamlFiles())
        .contains(
            CONF.resolve("proxy.yaml"),
            CONF.resolve("examples/minimal.yaml"),
            CONF.resolve("examples/dev-loopback.yaml"),
            CONF.resolve("examples/sites.yaml"),
            CONF.resolve("examples/tls.yaml"),
            CONF.resolve("examples/sites-tls.yaml"));
  }

  @ParameterizedTest
  @MethodSource("yamlFiles")
  void everyShippedYamlValidates(Path file) {
    assertThat(ConfigLoader.load(file)).isNotNull();
  }

  @Test
  void referenceEqualsDefaults() {
    assertThat(ConfigLoader.load(CONF.resolve("proxy.yaml"))).isEqualTo(ProxyConfig.defaults());
  }

  /**
   * {@code conf/proxy.yaml} is what {@link ConfigKeys} declares; with {@code -Dzcproxy.writeReference=true}
   * this test rewrites the file instead (then review the diff).
   */
  @Test
  void referenceIsGeneratedFromTheDeclarations() throws IOException {
    Path reference = CONF.resolve("proxy.yaml");
    if (Boolean.getBoolean("zcproxy.writeReference")) {
      Files.writeString(reference, ConfigKeys.reference());
    }
    assertThat(Files.readString(reference))
        .as("conf/proxy.yaml differs from ConfigKeys: regenerate it with -Dzcproxy.writeReference=true (see ConfigKeys)")
        .isEqualTo(ConfigKeys.reference());
  }

  @Test
  void referenceListsEveryKeyInOrder() throws IOException {
    List<String> expected =
        ConfigLoader.KEYS.entrySet().stream()
            .flatMap((Map.Entry<String, List<String>> e) ->
                e.getValue().stream().map(k -> e.getKey() + "." + k))
            .collect(java.util.stream.Collectors.toCollection(java.util.ArrayList::new));
    expected.addAll(SitesLoader.TOP_LEVEL);
    String reference = Files.readString(CONF.resolve("proxy.yaml"));
    assertThat(ConfigLoader.keyPaths(reference, "proxy.yaml")).isEqualTo(expected);
  }

  @Test
  void referenceWarnsThatTlsOrCompressionDisableSendfile() throws IOException {
    String reference = Files.readString(CONF.resolve("proxy.yaml"));
    assertThat(reference).contains("TLS", "compression", "sendfile is disabled");
  }

  @Test
  void minimalExampleIsOriginAndDirOnly() throws IOException {
    String minimal = Files.readString(CONF.resolve("examples/minimal.yaml"));
    assertThat(ConfigLoader.keyPaths(minimal, "minimal.yaml")).containsExactly("origin.url", "cache.dir");
  }

  @Test
  void devLoopbackStaysOnLoopbackWithCacheUnderTarget() {
    ProxyConfig dev = ConfigLoader.load(CONF.resolve("examples/dev-loopback.yaml"));
    assertThat(dev.listen().address().host()).isEqualTo("127.0.0.1");
    assertThat(dev.admin().address().host()).isEqualTo("127.0.0.1");
    assertThat(dev.origin().url().host()).isEqualTo("127.0.0.1");
    assertThat(dev.cache().dir().startsWith("target")).isTrue();
  }

  @Test
  void logbackCopyInTheJarMatchesConf() throws IOException {
    assertThat(Files.readString(Path.of("src/main/resources/logback.xml")))
        .isEqualTo(Files.readString(CONF.resolve("logback.xml")))
        .contains("zcproxy.access");
  }
}
