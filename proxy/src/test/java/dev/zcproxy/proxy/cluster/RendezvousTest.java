package dev.zcproxy.proxy.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RendezvousTest {
  private static final List<Cluster.Node> THREE = List.of(node("10.0.0.1", 8080), node("10.0.0.2", 8080),
      node("10.0.0.3", 8080));

  private static Cluster.Node node(String host, int port) {
    return new Cluster.Node("id-" + host, host, port);
  }

  private static List<String> keys(int n) {
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      keys.add("http://site.test/object/" + i);
    }
    return keys;
  }

  @Test
  void keysSpreadEvenlyAndEveryNodeDecidesAlikeWhateverTheOrderOfItsList() {
    Map<String, Integer> perNode = new HashMap<>();
    List<Cluster.Node> reversed = new ArrayList<>(THREE);
    java.util.Collections.reverse(reversed);
    for (String k : keys(30_000)) {
      Cluster.Node owner = Rendezvous.owner(THREE, k);
      assertThat(Rendezvous.owner(reversed, k)).isEqualTo(owner);
      perNode.merge(owner.address(), 1, Integer::sum);
    }
    assertThat(perNode).hasSize(3);
    assertThat(perNode.values()).allSatisfy(n -> assertThat(n).isBetween(9_000, 11_000));
  }

  @Test
  void aNodeLeavingMovesOnlyItsKeysAndTheyComeBackWhenItReturns() {
    List<Cluster.Node> two = List.of(THREE.get(0), THREE.get(2));
    int moved = 0;
    for (String k : keys(10_000)) {
      Cluster.Node before = Rendezvous.owner(THREE, k);
      Cluster.Node during = Rendezvous.owner(two, k);
      if (!before.equals(THREE.get(1))) {
        assertThat(during).isEqualTo(before); // keys of the nodes that stayed never move
      } else {
        moved++;
      }
      assertThat(Rendezvous.owner(THREE, k)).isEqualTo(before);
    }
    assertThat(moved).isBetween(3_000, 3_700);
  }

  @Test
  void ownershipFollowsTheDataAddressNotTheMemberIdSoARestartedNodeKeepsItsKeys() {
    Cluster.Node restarted = new Cluster.Node("another-uuid", "10.0.0.2", 8080);
    List<Cluster.Node> after = List.of(THREE.get(0), restarted, THREE.get(2));
    for (String k : keys(1000)) {
      assertThat(Rendezvous.owner(after, k).address()).isEqualTo(Rendezvous.owner(THREE, k).address());
    }
  }

  @Test
  void noMembersNoOwner() {
    assertThat(Rendezvous.owner(List.of(), "k")).isNull();
  }
}
