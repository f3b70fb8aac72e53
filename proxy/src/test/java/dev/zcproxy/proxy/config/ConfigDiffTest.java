package dev.zcproxy.proxy.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which keys a reload sees as changed, by key path, and a config with some keys kept as they were. */
class ConfigDiffTest {
  @TempDir
  Path dir;

  private ConfigLoader.Loaded load(String yaml, String... flags) throws Exception {
    Path file = dir.resolve("proxy.yaml");
    Files.writeString(file, yaml);
    String[] args = new String[flags.length + 2];
    args[0] = "--config";
    args[1] = file.toString();
    System.arraycopy(flags, 0, args, 2, flags.length);
    return ConfigLoader.loadArgs(args, Map.of());
  }

  @Test
  void namesEveryChangedKeyByItsPathInAnySection() throws Exception {
    ConfigLoader.Loaded old = load("origin:\n  url: http://127.0.0.1:9001\ncache:\n  coalesce: true\n");
    ConfigLoader.Loaded next = load("origin:\n  url: http://127.0.0.1:9002\ncache:\n  coalesce: false\n"
        + "logging:\n  level: debug\n");
    assertThat(ConfigDiff.changedKeys(old, next)).containsExactly("origin.url", "cache.coalesce", "logging.level");
  }

  @Test
  void theSameValueWrittenDifferentlyOrAKeyRemovedThatHadItsDefaultIsNoChange() throws Exception {
    ConfigLoader.Loaded old = load("origin:\n  connect-timeout: 5s\nlisten:\n  idle-timeout: 60s\n");
    ConfigLoader.Loaded next = load("origin:\n  connect-timeout: 5000ms\n");
    assertThat(ConfigDiff.changedKeys(old, next)).isEmpty();
    assertThat(ConfigDiff.changedKeys(old, load("origin:\n  connect-timeout: 6s\n"))).containsExactly("origin.connect-timeout");
  }

  @Test
  void aKeyRemovedFromTheFileGoesBackToItsDefaultAndIsAChange() throws Exception {
    ConfigLoader.Loaded old = load("cache:\n  max-variants: 4\n");
    ConfigLoader.Loaded next = load("");
    assertThat(ConfigDiff.changedKeys(old, next)).containsExactly("cache.max-variants");
  }

  @Test
  void flagsKeepWinningOverTheFile() throws Exception {
    ConfigLoader.Loaded old = load("origin:\n  url: http://127.0.0.1:9001\n", "--origin", "http://127.0.0.1:9100");
    ConfigLoader.Loaded next = load("origin:\n  url: http://127.0.0.1:9002\n", "--origin", "http://127.0.0.1:9100");
    assertThat(ConfigDiff.changedKeys(old, next)).isEmpty();
    assertThat(next.config().origin().url().port()).isEqualTo(9100);
  }

  @Test
  void keepingPutsBackTheOldValuesOfTheNamedKeysOnly() throws Exception {
    ConfigLoader.Loaded old = load("cache:\n  dir: /tmp/a\n  coalesce: true\nlisten:\n  event-loops: 2\n");
    ConfigLoader.Loaded next = load("cache:\n  dir: /tmp/b\n  coalesce: false\n");
    List<String> changed = ConfigDiff.changedKeys(old, next);
    assertThat(changed).containsExactlyInAnyOrder("cache.dir", "cache.coalesce", "listen.event-loops");
    ProxyConfig kept = ConfigDiff.keeping(next, old, List.of("cache.dir", "listen.event-loops")).config();
    assertThat(kept.cache().dir()).isEqualTo(Path.of("/tmp/a"));
    assertThat(kept.listen().eventLoops()).isEqualTo(2);
    assertThat(kept.cache().coalesce()).isFalse();
  }

  @Test
  void drainTimeIsAKeyWithDefaultZero() throws Exception {
    assertThat(load("").config().listen().drainTime()).isEqualTo(Duration.ZERO);
    assertThat(load("listen:\n  drain-time: 15s\n").config().listen().drainTime()).isEqualTo(Duration.ofSeconds(15));
    assertThatExceptionOfType(ConfigException.class).isThrownBy(() -> load("listen:\n  drain-time: -1s\n"))
        .withMessageContaining("listen.drain-time");
  }
}
