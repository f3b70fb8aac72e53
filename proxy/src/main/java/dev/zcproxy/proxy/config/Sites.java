package dev.zcproxy.proxy.config;

import static java.util.Objects.requireNonNull;

import dev.zcproxy.cache.policy.SetCookie;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The {@code sites:} section: the host names this proxy answers, each site's path-prefix routes and the
 * origin pool (servers, balancing, health checks, retries, connection limit) behind each.
 *
 * <p>Empty means the one-site shorthand: every request goes to {@code origin.url}, as before sites
 * existed. {@code defaultSite} names the site that answers a Host no site lists; {@code ""} answers
 * such requests 421 Misdirected Request.
 */
public record Sites(List<Site> list, String defaultSite) {
  /** No sites: the {@code origin.url} shorthand. */
  public static final Sites NONE = new Sites(List.of(), "");

  public Sites {
    requireNonNull(list, "sites");
    requireNonNull(defaultSite, "default-site");
    list = List.copyOf(list);
    Set<String> names = new HashSet<>();
    Set<String> hosts = new HashSet<>();
    for (Site s : list) {
      if (!names.add(s.name())) {
        throw new IllegalArgumentException("sites: site name " + s.name() + " twice (expected: unique names)");
      }
      for (String h : s.hosts()) {
        if (!hosts.add(h)) {
          throw new IllegalArgumentException("sites: host " + h + " in two sites (expected: each host in one site)");
        }
      }
    }
    if (!defaultSite.isEmpty() && !names.contains(defaultSite)) {
      throw new IllegalArgumentException("default-site: " + defaultSite + " (expected: the name of a site, or \"\" for 421)");
    }
  }

  /** Whether {@code sites:} was configured (otherwise {@code origin.url} is the one site). */
  public boolean configured() {
    return !list.isEmpty();
  }

  /**
   * One site: the host names it answers (exact, or {@code *.example.com} for any subdomain), its
   * origin pool, its path-prefix routes (longest prefix wins) and its cache settings.
   *
   * @param maxBodyBytes the largest request body (413 above it), 0 = {@code listen.max-body-size}
   * @param preserveHost whether the client's Host goes to the origin, {@code null} = {@code origin.preserve-host}
   */
  public record Site(String name, List<String> hosts, Pool pool, List<Route> routes, SiteCache cache, long maxBodyBytes,
      Boolean preserveHost) {
    public Site {
      requireNonNull(name, "name");
      requireNonNull(pool, "pool");
      requireNonNull(cache, "cache");
      hosts = hosts.stream().map(h -> h.toLowerCase(Locale.ROOT)).toList();
      routes = List.copyOf(routes);
      if (name.isBlank() || !name.chars().allMatch(c -> c > ' ' && c < 0x7f)) {
        throw new IllegalArgumentException("sites: name \"" + name + "\" (expected: a name of visible ASCII characters)");
      }
      if (maxBodyBytes < 0) {
        throw new IllegalArgumentException("sites: max-body-size " + maxBodyBytes + " (expected: >= 0)");
      }
    }
  }

  /** A path prefix of a site that goes to its own pool ({@code null}: the site's) with its own cache settings. */
  public record Route(String prefix, Pool pool, SiteCache cache) {
    public Route {
      requireNonNull(prefix, "prefix");
      requireNonNull(cache, "cache");
      if (!prefix.startsWith("/")) {
        throw new IllegalArgumentException("routes: prefix " + prefix + " (expected: a path starting with /)");
      }
    }
  }

  /** How requests are spread over a pool's servers. */
  public enum Balance {
    /** Smooth weighted round-robin (nginx's). */
    ROUND_ROBIN,
    /** The server with the fewest requests in flight, relative to its weight. */
    LEAST_REQUESTS,
    /** A ring of virtual nodes hashed on the cache key: a key stays on its server while that server is up. */
    CONSISTENT_HASH;

    /** The YAML name, e.g. {@code round-robin}. */
    public String yamlName() {
      return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
  }

  /**
   * An origin pool: its servers, how they are balanced and checked, how many times a failed idempotent
   * request goes to another server, and how many requests may be in flight to it at once (0 = no limit),
   * with a queue of {@code queue} requests waiting at most {@code queueTimeout} for a slot (503 beyond).
   */
  public record Pool(List<Server> servers, Balance balance, Health health, int retries, int maxConnections, int queue,
      Duration queueTimeout) {
    public static final int DEFAULT_RETRIES = 1;
    public static final int DEFAULT_QUEUE = 100;
    public static final Duration DEFAULT_QUEUE_TIMEOUT = Duration.ofSeconds(5);

    public Pool {
      servers = List.copyOf(servers);
      requireNonNull(balance, "balance");
      requireNonNull(health, "health");
      requireNonNull(queueTimeout, "queue-timeout");
      if (servers.isEmpty()) {
        throw new IllegalArgumentException("origins: [] (expected: at least one server)");
      }
      if (retries < 0 || maxConnections < 0 || queue < 0 || queueTimeout.isNegative() || queueTimeout.isZero()) {
        throw new IllegalArgumentException("pool: retries, max-connections, queue must be >= 0 and queue-timeout > 0");
      }
    }

    /** A pool of the one {@code origin.url} server: no checks, no ejection, no retries, no limit (as before pools). */
    public static Pool single(ProxyConfig.OriginUrl url) {
      return new Pool(List.of(new Server(url, 1)), Balance.ROUND_ROBIN, Health.NONE, 0, 0, DEFAULT_QUEUE,
          DEFAULT_QUEUE_TIMEOUT);
    }
  }

  /** One origin server of a pool and its share of requests. */
  public record Server(ProxyConfig.OriginUrl url, int weight) {
    public Server {
      requireNonNull(url, "url");
      if (weight < 1 || weight > 1000) {
        throw new IllegalArgumentException("weight: " + weight + " (expected: 1..1000)");
      }
    }
  }

  /**
   * Active checks ({@code path} requested every {@code interval}; {@code ""} = none): a status in
   * {@code expectMin..expectMax} within {@code timeout} passes; {@code fall} failures in a row take a
   * server down, {@code rise} passes in a row bring it back. Passive ejection: {@code ejectAfter}
   * connect errors or 5xx in a row (0 = never) take a server out for {@code ejectFor}, after which it
   * must pass {@code rise} checks (or, without checks, it gets requests again).
   */
  public record Health(String path, Duration interval, Duration timeout, int expectMin, int expectMax, int rise, int fall,
      int ejectAfter, Duration ejectFor) {
    /** No active checks; ejected after 3 failures in a row for 10 s. */
    public static final Health DEFAULT = new Health("", Duration.ofSeconds(5), Duration.ofSeconds(2), 200, 399, 2, 3, 3,
        Duration.ofSeconds(10));
    /** No checks and no ejection. */
    public static final Health NONE = new Health("", Duration.ofSeconds(5), Duration.ofSeconds(2), 200, 399, 2, 3, 0,
        Duration.ofSeconds(10));

    public Health {
      requireNonNull(path, "path");
      requireNonNull(interval, "interval");
      requireNonNull(timeout, "timeout");
      requireNonNull(ejectFor, "eject-for");
      if (!path.isEmpty() && !path.startsWith("/")) {
        throw new IllegalArgumentException("health.path: " + path + " (expected: a path starting with /, or \"\" for none)");
      }
      if (interval.toMillis() < 10 || timeout.toMillis() < 1 || ejectFor.isNegative()) {
        throw new IllegalArgumentException("health: interval >= 10ms, timeout > 0, eject-for >= 0 expected");
      }
      if (expectMin < 100 || expectMax > 599 || expectMin > expectMax) {
        throw new IllegalArgumentException("health.expect: " + expectMin + "-" + expectMax + " (expected: e.g. 200, 2xx or 200-399)");
      }
      if (rise < 1 || fall < 1 || ejectAfter < 0) {
        throw new IllegalArgumentException("health: rise and fall >= 1, eject-after >= 0 expected");
      }
    }

    /** Whether active checks run. */
    public boolean active() {
      return !path.isEmpty();
    }
  }

  /**
   * A site's or route's cache settings; each {@code null} takes the {@code cache:} section's value.
   *
   * @param keyHeaders request fields added to the cache key, on top of {@code cache.key-headers}
   */
  public record SiteCache(Boolean enabled, List<String> keyHeaders, Long maxObjectBytes, SetCookie setCookie) {
    /** Everything as in the {@code cache:} section. */
    public static final SiteCache INHERIT = new SiteCache(null, List.of(), null, null);

    public SiteCache {
      keyHeaders = List.copyOf(keyHeaders);
      if (maxObjectBytes != null && maxObjectBytes <= 0) {
        throw new IllegalArgumentException("cache.max-object-size: " + maxObjectBytes + " (expected: > 0)");
      }
    }

    /** These settings, with what {@code over} sets taking precedence. */
    public SiteCache overriddenBy(SiteCache over) {
      List<String> keys = new java.util.ArrayList<>(keyHeaders);
      over.keyHeaders.stream().filter(h -> keys.stream().noneMatch(h::equalsIgnoreCase)).forEach(keys::add);
      return new SiteCache(over.enabled != null ? over.enabled : enabled, keys,
          over.maxObjectBytes != null ? over.maxObjectBytes : maxObjectBytes, over.setCookie != null ? over.setCookie : setCookie);
    }
  }
}
