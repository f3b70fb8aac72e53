package dev.zcproxy.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ClientConnectionsTest {
  @Test
  void theBoundIsMaxConnectionsOrHalfTheDescriptorLimitWhicheverIsLess() {
    assertThat(ClientConnections.boundFor(10_000, 20_000)).as("the default at this machine's limit").isEqualTo(10_000);
    assertThat(ClientConnections.boundFor(10_000, 1024)).as("the default under ulimit -n 1024").isEqualTo(512);
    assertThat(ClientConnections.boundFor(100, 1024)).isEqualTo(100);
    assertThat(ClientConnections.boundFor(10_000, -1)).as("limit unknown").isEqualTo(10_000);
    assertThat(ClientConnections.boundFor(10_000, 1)).as("at least one").isEqualTo(1);
    assertThat(ClientConnections.boundFor(Integer.MAX_VALUE, 1L << 40)).isEqualTo(Integer.MAX_VALUE);
  }

  @Test
  void aReloadKeepsTheBoundUnderHalfTheLimit() {
    ClientConnections c = new ClientConnections(10_000, 0, 2048);
    assertThat(c.max()).isEqualTo(1024);
    c.reconfigure(500, 0);
    assertThat(c.max()).isEqualTo(500);
    c.reconfigure(5_000, 0);
    assertThat(c.max()).isEqualTo(1024);
  }
}
