package dev.zcproxy.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Which changed keys a reload applies live and which it names as needing a restart. */
class ReloadPlanTest {
  @Test
  void originPolicyLoggingTokenAndTransferKnobsAreLive() {
    ReloadPlan p = ReloadPlan.of(List.of("origin.url", "origin.connect-timeout", "cache.coalesce", "cache.keep",
        "logging.level", "logging.access-log", "admin.token", "transfer.splice-min-size", "listen.max-connections",
        "cache.invalidate-methods"));
    assertThat(p.restartRequired()).isEmpty();
    assertThat(p.changed()).hasSize(10);
    assertThat(p.rebindListener()).isFalse();
    assertThat(p.rebindAdmin()).isFalse();
    assertThat(p.touches("origin")).isTrue();
  }

  @Test
  void storeEventLoopsTransportAndUnknownSectionsNeedARestart() {
    ReloadPlan p = ReloadPlan.of(List.of("cache.dir", "cache.max-size", "cache.index-heap", "listen.event-loops",
        "transfer.native-transport", "cluster.members", "cache.coalesce"));
    assertThat(p.restartRequired()).containsExactly("cache.dir", "cache.max-size", "cache.index-heap", "listen.event-loops",
        "transfer.native-transport", "cluster.members");
    assertThat(p.changed()).containsExactly("cache.coalesce");
  }

  @Test
  void listenerOptionsApplyOnlyWhenTheListenerIsRebound() {
    assertThat(ReloadPlan.of(List.of("listen.idle-timeout")).restartRequired()).containsExactly("listen.idle-timeout");
    ReloadPlan moved = ReloadPlan.of(List.of("listen.address", "listen.idle-timeout"));
    assertThat(moved.changed()).containsExactly("listen.address", "listen.idle-timeout");
    assertThat(moved.rebindListener()).isTrue();
    assertThat(ReloadPlan.of(List.of("admin.address")).rebindAdmin()).isTrue();
  }
}
