package dev.zcproxy.proxy.origin;

import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.proxy.config.ProxyConfig;
import dev.zcproxy.proxy.config.Sites;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class OriginServerTest {
  private static final long SEC = 1_000_000_000L;

  private static OriginServer server(String path, boolean ejectable) {
    Sites.Health h = new Sites.Health(path, Duration.ofSeconds(1), Duration.ofSeconds(1), 200, 399, 2, 3, 3, Duration.ofSeconds(10));
    return new OriginServer(new Sites.Server(new ProxyConfig.OriginUrl("http", "10.0.0.1", 8080), 1), null, h, ejectable);
  }

  @Test
  void ejectedAfterFailuresInARowThenBackOnlyAfterItsChecksPassOnceTheBackoffIsOver() {
    OriginServer s = server("/healthz", true);
    s.requestResult(true, "reset", 0);
    s.requestResult(true, "reset", 0);
    s.requestResult(false, "", 0); // a success breaks the run
    s.requestResult(true, "reset", 0);
    s.requestResult(true, "reset", 0);
    assertThat(s.state()).isEqualTo(OriginServer.State.UP);
    s.requestResult(true, "status 502", 0);
    assertThat(s.state()).isEqualTo(OriginServer.State.EJECTED);
    assertThat(s.usable(1 * SEC)).isFalse();
    // checks passed during the backoff do not count
    s.checkResult(true, null, 2 * SEC);
    s.checkResult(true, null, 3 * SEC);
    assertThat(s.usable(11 * SEC)).isFalse();
    s.checkResult(true, null, 11 * SEC);
    assertThat(s.state()).isEqualTo(OriginServer.State.EJECTED);
    s.checkResult(true, null, 12 * SEC);
    assertThat(s.state()).isEqualTo(OriginServer.State.UP);
    assertThat(s.usable(12 * SEC)).isTrue();
    assertThat(s.ejections()).isEqualTo(1);
  }

  @Test
  void withoutChecksAnEjectedServerIsTriedAgainAfterItsBackoff() {
    OriginServer s = server("", true);
    for (int i = 0; i < 3; i++) {
      s.requestResult(true, "refused", 0);
    }
    assertThat(s.usable(9 * SEC)).isFalse();
    assertThat(s.usable(10 * SEC)).isTrue();
    assertThat(s.state()).isEqualTo(OriginServer.State.UP);
  }

  @Test
  void failedChecksTakeAServerDownAndPassedOnesBringItBack() {
    OriginServer s = server("/healthz", true);
    s.checkResult(false, "status 500", 0);
    s.checkResult(false, "status 500", 0);
    assertThat(s.usable(0)).isTrue();
    s.checkResult(false, "status 500", 0);
    assertThat(s.state()).isEqualTo(OriginServer.State.DOWN);
    assertThat(s.lastProblem()).isEqualTo("status 500");
    s.checkResult(true, null, 0);
    assertThat(s.usable(0)).isFalse();
    s.checkResult(true, null, 0);
    assertThat(s.usable(0)).isTrue();
  }

  @Test
  void aLoneServerIsNeverEjected() {
    OriginServer s = server("", false);
    for (int i = 0; i < 10; i++) {
      s.requestResult(true, "refused", 0);
    }
    assertThat(s.usable(0)).isTrue();
    assertThat(s.errors()).isEqualTo(10);
  }
}
