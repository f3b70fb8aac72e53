package dev.zcproxy.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class VersionInfoTest {
  @Test
  void versionIsRequestedByTheFlagAnywhereButHelpWins() {
    assertThat(VersionInfo.requested(new String[] {"--version"})).isTrue();
    assertThat(VersionInfo.requested(new String[] {"--config", "x.yaml", "--version"})).isTrue();
    assertThat(VersionInfo.requested(new String[] {"--version", "--help"})).isFalse();
    assertThat(VersionInfo.requested(new String[] {"-h", "--version"})).isFalse();
    assertThat(VersionInfo.requested(new String[] {"--config", "--version.yaml"})).isFalse();
    assertThat(VersionInfo.requested(new String[0])).isFalse();
  }

  @Test
  void textHasOneLinePerFact() {
    String[] lines = VersionInfo.text().split("\n");
    assertThat(lines).hasSize(4);
    assertThat(lines[0]).startsWith("zcproxy ");
    assertThat(lines[1]).matches("commit ([0-9a-f]+|unknown)");
    assertThat(lines[2]).isEqualTo("java " + System.getProperty("java.version") + " (" + System.getProperty("java.vendor") + ")");
    assertThat(lines[3]).matches("transport (epoll|io_uring|kqueue|nio.*)");
  }
}
