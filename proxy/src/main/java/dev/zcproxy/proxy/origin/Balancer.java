package dev.zcproxy.proxy.origin;

import dev.zcproxy.proxy.config.Sites;
import java.util.Arrays;
import java.util.List;
import java.util.function.Predicate;

/**
 * Picks the server of a pool that gets the next request, among those a predicate allows (healthy, not
 * yet tried by this request).
 *
 * <h2>Design notes</h2>
 * <ul>
 *   <li><b>Round-robin</b> is nginx's smooth weighted round-robin: each pick adds every candidate's weight
 *       to its current weight, takes the largest and subtracts the total from it, so weights 5,1,1 give
 *       a,a,b,a,c,a,a rather than five a in a row.
 *   <li><b>Least requests</b> takes the server with the fewest requests in flight relative to its weight;
 *       ties go round in turn so an idle pool still spreads its load.
 *   <li><b>Consistent hash</b> is a ring (ketama, as nginx's {@code hash ... consistent} and Varnish's
 *       shard director): 160 points per unit of weight, placed by a 64-bit hash of the server's URL and
 *       the point's number, so a server's points do not depend on the other servers. A key goes to the
 *       first point at or after its hash; a server that is down is skipped to the next point, so only
 *       its keys move; adding a server takes over only the keys that fall before its points (about 1/N).
 * </ul>
 *
 * @param <T> the servers
 */
abstract class Balancer<T extends Balancer.Member> {
  /** Points on the ring per unit of weight. */
  static final int POINTS_PER_WEIGHT = 160;

  /** What a balancer needs to know of a server. */
  interface Member {
    /** A stable name (its URL): places its points on the ring. */
    String id();

    int weight();

    /** Requests in flight to it now. */
    int inFlight();
  }

  final List<T> servers;

  Balancer(List<T> servers) {
    this.servers = List.copyOf(servers);
  }

  /** The server for the next request with cache key {@code key}, among those {@code usable} allows; null for none. */
  abstract T pick(String key, Predicate<T> usable);

  static <T extends Member> Balancer<T> of(Sites.Balance kind, List<T> servers) {
    return switch (kind) {
      case ROUND_ROBIN -> new RoundRobin<>(servers);
      case LEAST_REQUESTS -> new LeastRequests<>(servers);
      case CONSISTENT_HASH -> new ConsistentHash<>(servers);
    };
  }

  /** nginx's smooth weighted round-robin. */
  static final class RoundRobin<T extends Member> extends Balancer<T> {
    private final int[] current;

    RoundRobin(List<T> servers) {
      super(servers);
      current = new int[servers.size()];
    }

    @Override
    synchronized T pick(String key, Predicate<T> usable) {
      int total = 0;
      int best = -1;
      for (int i = 0; i < servers.size(); i++) {
        T s = servers.get(i);
        if (!usable.test(s)) {
          continue;
        }
        current[i] += s.weight();
        total += s.weight();
        if (best < 0 || current[i] > current[best]) {
          best = i;
        }
      }
      if (best < 0) {
        return null;
      }
      current[best] -= total;
      return servers.get(best);
    }
  }

  /** Fewest requests in flight per unit of weight; ties in turn. */
  static final class LeastRequests<T extends Member> extends Balancer<T> {
    private int next;

    LeastRequests(List<T> servers) {
      super(servers);
    }

    @Override
    T pick(String key, Predicate<T> usable) {
      int n = servers.size();
      int start;
      synchronized (this) {
        start = next;
        next = (next + 1) % n;
      }
      T best = null;
      long bestLoad = 0;
      int bestWeight = 1;
      for (int k = 0; k < n; k++) {
        T s = servers.get((start + k) % n);
        if (!usable.test(s)) {
          continue;
        }
        long load = s.inFlight();
        // load / weight < bestLoad / bestWeight, without division
        if (best == null || load * bestWeight < bestLoad * s.weight()) {
          best = s;
          bestLoad = load;
          bestWeight = s.weight();
        }
      }
      return best;
    }
  }

  /** A ketama ring of the servers, hashed on the cache key. */
  static final class ConsistentHash<T extends Member> extends Balancer<T> {
    private final long[] points;
    private final int[] owners;

    ConsistentHash(List<T> servers) {
      super(servers);
      int total = servers.stream().mapToInt(s -> s.weight() * POINTS_PER_WEIGHT).sum();
      long[][] ring = new long[total][];
      int p = 0;
      for (int i = 0; i < servers.size(); i++) {
        T s = servers.get(i);
        for (int v = 0; v < s.weight() * POINTS_PER_WEIGHT; v++) {
          ring[p++] = new long[] {hash(s.id() + "#" + v), i};
        }
      }
      Arrays.sort(ring, (a, b) -> a[0] != b[0] ? Long.compareUnsigned(a[0], b[0]) : Long.compare(a[1], b[1]));
      points = new long[total];
      owners = new int[total];
      for (int k = 0; k < total; k++) {
        points[k] = ring[k][0];
        owners[k] = (int) ring[k][1];
      }
    }

    @Override
    T pick(String key, Predicate<T> usable) {
      long h = hash(key);
      int lo = 0;
      int hi = points.length;
      while (lo < hi) { // first point >= h (unsigned)
        int mid = (lo + hi) >>> 1;
        if (Long.compareUnsigned(points[mid], h) < 0) {
          lo = mid + 1;
        } else {
          hi = mid;
        }
      }
      boolean[] refused = null;
      for (int k = 0; k < points.length; k++) {
        int owner = owners[(lo + k) % points.length];
        if (refused != null && refused[owner]) {
          continue;
        }
        T s = servers.get(owner);
        if (usable.test(s)) {
          return s;
        }
        if (refused == null) {
          refused = new boolean[servers.size()];
        }
        refused[owner] = true;
      }
      return null;
    }
  }

  static long hash(String s) {
    return Hash64.of(s);
  }
}
