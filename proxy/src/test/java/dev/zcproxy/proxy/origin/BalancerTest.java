package dev.zcproxy.proxy.origin;

import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.proxy.config.Sites;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class BalancerTest {
  /** A server for the balancer alone: a name, a weight and a settable number of requests in flight. */
  static final class S implements Balancer.Member {
    final String id;
    final int weight;
    int inFlight;

    S(String id, int weight) {
      this.id = id;
      this.weight = weight;
    }

    @Override
    public String id() {
      return id;
    }

    @Override
    public int weight() {
      return weight;
    }

    @Override
    public int inFlight() {
      return inFlight;
    }

    @Override
    public String toString() {
      return id;
    }
  }

  private static List<S> servers(int n) {
    List<S> out = new ArrayList<>();
    for (int i = 1; i <= n; i++) {
      out.add(new S("http://10.0.0." + i + ":8080", 1));
    }
    return out;
  }

  @Test
  void smoothWeightedRoundRobinInterleavesLikeNginx() {
    S a = new S("a", 5);
    S b = new S("b", 1);
    S c = new S("c", 1);
    Balancer<S> rr = Balancer.of(Sites.Balance.ROUND_ROBIN, List.of(a, b, c));
    StringBuilder order = new StringBuilder();
    for (int i = 0; i < 7; i++) {
      order.append(rr.pick("k", s -> true).id);
    }
    // nginx's documented sequence for weights 5,1,1
    assertThat(order.toString()).isEqualTo("aabacaa");
  }

  @Test
  void roundRobinSkipsServersThePredicateRefuses() {
    List<S> s = servers(3);
    Balancer<S> rr = Balancer.of(Sites.Balance.ROUND_ROBIN, s);
    for (int i = 0; i < 10; i++) {
      assertThat(rr.pick("k", x -> x != s.get(1))).isNotSameAs(s.get(1));
    }
    assertThat(rr.pick("k", x -> false)).isNull();
  }

  @Test
  void leastRequestsPrefersTheIdleServerAndWeighsLoad() {
    List<S> s = servers(3);
    s.get(0).inFlight = 4;
    s.get(1).inFlight = 0;
    s.get(2).inFlight = 2;
    Balancer<S> lr = Balancer.of(Sites.Balance.LEAST_REQUESTS, s);
    for (int i = 0; i < 5; i++) {
      assertThat(lr.pick("k", x -> true)).isSameAs(s.get(1));
    }
    S heavy = new S("heavy", 4);
    heavy.inFlight = 3; // 3/4 per weight beats 1/1
    S light = new S("light", 1);
    light.inFlight = 1;
    assertThat(Balancer.of(Sites.Balance.LEAST_REQUESTS, List.of(light, heavy)).pick("k", x -> true)).isSameAs(heavy);
  }

  @Test
  void leastRequestsSpreadsTiesInTurn() {
    List<S> s = servers(3);
    Balancer<S> lr = Balancer.of(Sites.Balance.LEAST_REQUESTS, s);
    Set<S> seen = new java.util.HashSet<>();
    for (int i = 0; i < 3; i++) {
      seen.add(lr.pick("k", x -> true));
    }
    assertThat(seen).hasSize(3);
  }

  @Test
  void consistentHashIsStableWhenAServerIsAdded() {
    List<S> three = servers(4).subList(0, 3);
    List<S> four = servers(4);
    Balancer<S> before = Balancer.of(Sites.Balance.CONSISTENT_HASH, three);
    Balancer<S> after = Balancer.of(Sites.Balance.CONSISTENT_HASH, four);
    int keys = 20_000;
    int moved = 0;
    Map<String, Integer> share = new HashMap<>();
    for (int i = 0; i < keys; i++) {
      String key = "http://shop.example.com/item/" + i + " site=shop";
      String was = before.pick(key, x -> true).id;
      String now = after.pick(key, x -> true).id;
      share.merge(now, 1, Integer::sum);
      if (!was.equals(now)) {
        moved++;
        // a key only ever moves to the new server, never between the old ones
        assertThat(now).isEqualTo(four.get(3).id);
      }
    }
    // ~1/4 of the keys move (ideal 25%); a modulo hash would move ~75%
    assertThat(moved).isBetween(keys / 6, keys / 3);
    // and the load stays balanced: every server within 25% of its fair share
    for (S s : four) {
      assertThat(share.get(s.id)).isBetween(keys / 4 * 3 / 4, keys / 4 * 5 / 4);
    }
  }

  @Test
  void consistentHashMovesOnlyTheKeysOfADownServer() {
    List<S> s = servers(3);
    Balancer<S> ring = Balancer.of(Sites.Balance.CONSISTENT_HASH, s);
    S down = s.get(1);
    for (int i = 0; i < 5_000; i++) {
      String key = "/k/" + i;
      S usual = ring.pick(key, x -> true);
      S now = ring.pick(key, x -> x != down);
      assertThat(now).isNotSameAs(down);
      if (usual != down) {
        assertThat(now).isSameAs(usual);
      }
    }
    assertThat(ring.pick("/k/1", x -> false)).isNull();
  }

  @Test
  void consistentHashHonoursWeights() {
    S big = new S("http://big:80", 3);
    S small = new S("http://small:80", 1);
    Balancer<S> ring = Balancer.of(Sites.Balance.CONSISTENT_HASH, List.of(big, small));
    int toBig = 0;
    for (int i = 0; i < 10_000; i++) {
      if (ring.pick("/w/" + i, x -> true) == big) {
        toBig++;
      }
    }
    assertThat(toBig).isBetween(6_500, 8_500);
  }
}
