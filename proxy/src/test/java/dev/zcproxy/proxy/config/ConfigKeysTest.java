package dev.zcproxy.proxy.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConfigKeysTest {

  @Test
  void everyRecordComponentOfEverySectionHasAKey() {
    List<String> unbound = new ArrayList<>();
    for (ConfigKeys.Section s : ConfigKeys.SECTIONS) {
      Class<?> type = ConfigKeys.component(ProxyConfig.defaults(), s.name()).getClass();
      collect(type, s, "", unbound);
    }
    assertThat(unbound).as("record components no ConfigKeys declaration binds").isEmpty();
  }

  private static void collect(Class<?> type, ConfigKeys.Section s, String prefix, List<String> unbound) {
    for (RecordComponent c : type.getRecordComponents()) {
      String path = prefix + c.getName();
      boolean direct = s.keys().stream().anyMatch(k -> k.component().equals(path));
      boolean nested = s.keys().stream().anyMatch(k -> k.component().startsWith(path + "."));
      if (nested) {
        collect(c.getType(), s, path + ".", unbound);
      } else if (!direct) {
        unbound.add(s.name() + ": " + path);
      }
    }
  }

  @Test
  void everySectionIsAProxyConfigComponentAndEveryComponentASectionOrSites() {
    List<String> components = new ArrayList<>();
    for (RecordComponent c : ProxyConfig.class.getRecordComponents()) {
      components.add(c.getName());
    }
    List<String> expected = new ArrayList<>(ConfigKeys.table().keySet());
    expected.add("sites");
    assertThat(components).containsExactlyInAnyOrderElementsOf(expected);
  }

  @Test
  void everyKeyHasAOneLineComment() {
    for (ConfigKeys.Section s : ConfigKeys.SECTIONS) {
      for (ConfigKeys.Key k : s.keys()) {
        List<ConfigKeys.Key> leaves = k.children().isEmpty() ? List.of(k) : k.children();
        for (ConfigKeys.Key leaf : leaves) {
          assertThat(leaf.doc()).as(s.name() + "." + leaf.name()).isNotBlank().doesNotContain("\n");
        }
      }
    }
  }

  @Test
  void flagsAndEnvironmentComeFromTheDeclarations() {
    assertThat(ConfigKeys.flags()).extracting(f -> f.flag().name() + "=" + f.path())
        .containsExactly("--listen=listen.address", "--origin=origin.url", "--cache-dir=cache.dir",
            "--cache-size=cache.max-size", "--admin=admin.address", "--access-log=logging.access-log",
            "--cluster-port=cluster.port", "--cluster-members=cluster.members");
    assertThat(ConfigKeys.envs()).containsExactly(
        java.util.Map.entry(ConfigLoader.ADMIN_TOKEN_ENV, "admin.token"),
        java.util.Map.entry(ConfigLoader.CLUSTER_SECRET_ENV, "cluster.secret"));
    assertThat(ConfigLoader.usage()).contains("  --cluster-members HOST:PORT,...\n" + " ".repeat(22) + "join these");
  }
}
