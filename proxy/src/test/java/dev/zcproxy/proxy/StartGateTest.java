package dev.zcproxy.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class StartGateTest {
  @Test
  void holdsTasksUntilOpenThenRunsThemInOrderAndPassesLaterOnesStraightThrough() {
    List<String> ran = new ArrayList<>();
    List<Runnable> passed = new ArrayList<>();
    StartGate gate = new StartGate(passed::add);
    gate.execute(() -> ran.add("scan"));
    gate.execute(() -> ran.add("second"));
    assertEquals(0, passed.size(), "nothing reaches the executor before open");
    assertEquals(2, gate.held());
    gate.open();
    gate.open(); // idempotent: nothing passed twice
    assertEquals(2, passed.size());
    gate.execute(() -> ran.add("later"));
    assertEquals(0, gate.held());
    passed.forEach(Runnable::run);
    assertEquals(List.of("scan", "second", "later"), ran);
  }
}
