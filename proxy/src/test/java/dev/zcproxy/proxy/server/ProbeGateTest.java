package dev.zcproxy.proxy.server;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The RAM tier's probe gate: fewer probes while reads into the full tier buy no RAM hits, all again when they do. */
class ProbeGateTest {
  /** One epoch of lookups with {@code ramPercent} of them RAM hits, and {@code reads} bodies read into the full tier. */
  private static void epoch(ProbeGate gate, int ramPercent, int reads) {
    for (int i = 0; i < reads; i++) {
      gate.readIntoFullTier();
    }
    int ram = ProbeGate.EPOCH * ramPercent / 100;
    for (int i = 0; i < ProbeGate.EPOCH; i++) {
      if (i < ram) {
        gate.ramHit();
      } else {
        gate.fileHit();
      }
    }
  }

  private static int probes(ProbeGate gate, int tries) {
    int n = 0;
    for (int i = 0; i < tries; i++) {
      n += gate.mayProbe() ? 1 : 0;
    }
    return n;
  }

  @Test
  void readsThatBuyNoRamHitsCloseTheGateToItsFloor() {
    ProbeGate gate = new ProbeGate();
    epoch(gate, 37, 100);
    assertThat(gate.oneIn()).as("the first epoch only takes its share").isEqualTo(1);
    assertThat(probes(gate, 1000)).isEqualTo(1000);
    for (int e = 1; e <= 5; e++) {
      epoch(gate, e % 2 == 0 ? 37 : 38, 100); // uniform keys: the share stays, whatever was read in
      assertThat(gate.oneIn()).as("closed at the first epoch whose reads bought nothing").isEqualTo(64);
    }
    int probes = probes(gate, 64_000);
    assertThat(probes).as("about 1 in 64 of 64,000").isBetween(500, 1500);
  }

  @Test
  void anEpochWithoutReadsKeepsTheGate() {
    ProbeGate gate = new ProbeGate();
    epoch(gate, 50, 10);
    epoch(gate, 50, 10);
    epoch(gate, 53, 10); // a rise: one step open
    assertThat(gate.oneIn()).isEqualTo(32);
    epoch(gate, 53, 0);
    epoch(gate, 54, 0);
    assertThat(gate.oneIn()).isEqualTo(32);
  }

  @Test
  void aRisingShareOpensTheGateStepByStepEvenWhenEachEpochRisesLessThanTheMargin() {
    ProbeGate gate = new ProbeGate();
    epoch(gate, 30, 10);
    epoch(gate, 30, 10);
    assertThat(gate.oneIn()).isEqualTo(64);
    epoch(gate, 31, 0); // +1 point on the share last taken: not yet a rise
    assertThat(gate.oneIn()).isEqualTo(64);
    epoch(gate, 32, 0); // +2 points since: the reads paid
    assertThat(gate.oneIn()).isEqualTo(32);
    epoch(gate, 35, 10);
    assertThat(gate.oneIn()).isEqualTo(16);
    epoch(gate, 38, 10);
    assertThat(gate.oneIn()).isEqualTo(8);
  }

  @Test
  void aFallingShareOpensTheGateAtOnce() {
    ProbeGate gate = new ProbeGate();
    for (int i = 0; i < 10; i++) {
      epoch(gate, 60, 10);
    }
    assertThat(gate.oneIn()).isEqualTo(1 << ProbeGate.MAX_SHIFT);
    epoch(gate, 50, 10); // a new hot set: the tier must take newcomers again
    assertThat(gate.oneIn()).isEqualTo(1);
    assertThat(probes(gate, 1000)).isEqualTo(1000);
  }
}
