package dev.zcproxy.proxy.config;

import dev.zcproxy.proxy.config.ConfigLoader.Binder;
import dev.zcproxy.proxy.config.ConfigLoader.Value;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;

/**
 * Binds the {@code sites:} list and {@code default-site} to {@link Sites}: flattens the nested YAML into
 * the loader's key paths ({@code sites[0].origins[1].url}) so every error names its path and line.
 */
final class SitesLoader {
  /** The top-level keys this loader owns, as declared in {@link ConfigKeys}. */
  static final List<String> TOP_LEVEL = ConfigKeys.topLevelNames();
  static final List<String> POOL_KEYS = List.of("origins", "balance", "health", "retries", "max-connections", "queue",
      "queue-timeout");
  static final List<String> SITE_KEYS = concat(List.of("name", "hosts"), POOL_KEYS,
      List.of("routes", "cache", "max-body-size", "preserve-host"));
  static final List<String> ROUTE_KEYS = concat(List.of("prefix"), POOL_KEYS, List.of("cache"));
  static final List<String> ORIGIN_KEYS = List.of("url", "weight");
  static final List<String> HEALTH_KEYS = List.of("path", "interval", "timeout", "expect", "rise", "fall", "eject-after",
      "eject-for");
  static final List<String> CACHE_KEYS = List.of("enabled", "key-headers", "max-object-size", "set-cookie");
  private static final String SITES_EXPECTED = "a list of sites, each a mapping with name, hosts, origins, ...";

  private SitesLoader() {}

  @SafeVarargs
  private static List<String> concat(List<String>... lists) {
    List<String> out = new ArrayList<>();
    for (List<String> l : lists) {
      out.addAll(l);
    }
    return List.copyOf(out);
  }

  // ---- YAML to key paths ---------------------------------------------------------------------

  static void flatten(String source, String name, Node node, Map<String, Value> values) {
    if (values.containsKey(name)) {
      throw new ConfigException(ConfigLoader.at(source, node) + name + ": duplicate key (expected: each key once)");
    }
    values.put(name, leaf(source, name, node));
    if (name.equals("default-site") || ConfigLoader.isNull(node)) {
      return;
    }
    if (!(node instanceof SequenceNode seq)) {
      throw new ConfigException(ConfigLoader.at(source, node) + "sites: " + leaf(source, name, node).describe()
          + " (expected: " + SITES_EXPECTED + ")");
    }
    int i = 0;
    for (Node site : seq.getValue()) {
      String p = "sites[" + i++ + "]";
      mapping(source, p, site, SITE_KEYS, values);
      nested(source, p, values);
      Value routes = values.get(p + ".routes");
      if (routes != null && !ConfigLoader.isNull(routes.node())) {
        if (!(routes.node() instanceof SequenceNode rs)) {
          throw new ConfigException(routes.where() + ": " + p + ".routes: " + routes.describe()
              + " (expected: a list of routes, each with a prefix)");
        }
        int k = 0;
        for (Node route : rs.getValue()) {
          String rp = p + ".routes[" + k++ + "]";
          mapping(source, rp, route, ROUTE_KEYS, values);
          nested(source, rp, values);
        }
      }
    }
  }

  /** Flattens the origins, health and cache of the site or route at {@code p}. */
  private static void nested(String source, String p, Map<String, Value> values) {
    Value origins = values.get(p + ".origins");
    if (origins != null) {
      if (!(origins.node() instanceof SequenceNode os)) {
        throw new ConfigException(origins.where() + ": " + p + ".origins: " + origins.describe()
            + " (expected: a list of servers, each {url: http://HOST:PORT, weight: N})");
      }
      int j = 0;
      for (Node o : os.getValue()) {
        String op = p + ".origins[" + j++ + "]";
        if (o instanceof ScalarNode) {
          values.put(op + ".url", leaf(source, op + ".url", o)); // "- http://host:port" for {url: ...}
        } else {
          mapping(source, op, o, ORIGIN_KEYS, values);
        }
      }
    }
    Value health = values.get(p + ".health");
    if (health != null && !ConfigLoader.isNull(health.node())) {
      mapping(source, p + ".health", health.node(), HEALTH_KEYS, values);
    }
    Value cache = values.get(p + ".cache");
    if (cache != null && !ConfigLoader.isNull(cache.node())) {
      mapping(source, p + ".cache", cache.node(), CACHE_KEYS, values);
    }
  }

  private static void mapping(String source, String path, Node node, List<String> keys, Map<String, Value> values) {
    if (!(node instanceof MappingNode m)) {
      throw new ConfigException(ConfigLoader.at(source, node) + path + ": " + leaf(source, path, node).describe()
          + " (expected: a mapping with keys " + String.join(", ", keys) + ")");
    }
    values.put(path, leaf(source, path, node));
    for (NodeTuple t : m.getValue()) {
      if (!(t.getKeyNode() instanceof ScalarNode k)) {
        throw new ConfigException(ConfigLoader.at(source, t.getKeyNode()) + path + ": not a key (expected: a plain key name)");
      }
      String key = k.getValue();
      String kp = path + "." + key;
      if (!keys.contains(key)) {
        String near = ConfigLoader.closest(key, keys);
        throw new ConfigException(ConfigLoader.at(source, k) + kp + ": unknown key ("
            + (near != null ? "did you mean " + path + "." + near + "? " : "") + "expected one of: "
            + String.join(", ", keys) + ")");
      }
      if (values.containsKey(kp)) {
        throw new ConfigException(ConfigLoader.at(source, k) + kp + ": duplicate key (expected: each key once)");
      }
      values.put(kp, leaf(source, kp, t.getValueNode()));
    }
  }

  private static Value leaf(String source, String path, Node node) {
    return new Value(ConfigLoader.at(source, node).replaceAll(": $", ""), path, node, null);
  }

  // ---- key paths to records ------------------------------------------------------------------

  static Sites bind(Map<String, Value> values, Binder b, String source) {
    String dflt = b.string("default-site", "", "the name of a site, or \"\" to answer unknown hosts 421");
    Value sites = values.get("sites");
    if (sites == null || !(sites.node() instanceof SequenceNode seq) || seq.getValue().isEmpty()) {
      if (!dflt.isEmpty()) {
        throw new ConfigException(values.get("default-site").where() + ": default-site: " + dflt
            + " (expected: \"\" when no sites are configured)");
      }
      return Sites.NONE;
    }
    List<Sites.Site> list = new ArrayList<>();
    Map<String, String> hostOwner = new LinkedHashMap<>();
    Map<String, String> nameAt = new LinkedHashMap<>();
    for (int i = 0; i < seq.getValue().size(); i++) {
      String p = "sites[" + i + "]";
      Value at = values.get(p);
      String name = b.string(p + ".name", null, "a site name");
      if (name == null || name.isBlank()) {
        throw new ConfigException(at.where() + ": " + p + ".name: missing (expected: a name for the site, e.g. shop)");
      }
      if (nameAt.put(name, p) != null) {
        throw new ConfigException(values.get(p + ".name").where() + ": " + p + ".name: " + name
            + " is the name of " + nameAt.get(name) + " too (expected: unique site names)");
      }
      List<String> hosts = b.strings(p + ".hosts", List.of(), "a list of host names, e.g. [shop.example.com, \"*.shop.example.com\"]");
      for (String h : hosts) {
        String host = h.toLowerCase(Locale.ROOT);
        if (!validHost(host)) {
          throw new ConfigException(values.get(p + ".hosts").where() + ": " + p + ".hosts: \"" + h
              + "\" is not a host name (expected: a name like shop.example.com or *.example.com, no port)");
        }
        String other = hostOwner.put(host, p);
        if (other != null) {
          throw new ConfigException(values.get(p + ".hosts").where() + ": " + p + ".hosts: " + host + " is in "
              + other + " too (expected: each host in one site)");
        }
      }
      if (!values.containsKey(p + ".origins")) {
        throw new ConfigException(at.where() + ": " + p + ".origins: missing (expected: a list of servers, each {url: http://HOST:PORT})");
      }
      Sites.Pool pool = pool(values, b, p, null);
      Sites.SiteCache cache = cache(b, p + ".cache");
      List<Sites.Route> routes = new ArrayList<>();
      Value rv = values.get(p + ".routes");
      if (rv != null && rv.node() instanceof SequenceNode rs) {
        for (int k = 0; k < rs.getValue().size(); k++) {
          String rp = p + ".routes[" + k + "]";
          String prefix = b.string(rp + ".prefix", null, "a path prefix starting with /");
          if (prefix == null || !prefix.startsWith("/")) {
            Value pv = values.get(rp + ".prefix");
            throw new ConfigException((pv == null ? values.get(rp) : pv).where() + ": " + rp + ".prefix: "
                + (prefix == null ? "missing" : "\"" + prefix + "\"") + " (expected: a path prefix starting with /, e.g. /api/)");
          }
          Sites.Pool rpool = values.containsKey(rp + ".origins") ? pool(values, b, rp, pool) : null;
          routes.add(build(values.get(rp), rp, () -> new Sites.Route(prefix, rpool, cache(b, rp + ".cache"))));
        }
      }
      long maxBody = b.size(p + ".max-body-size", 0);
      Boolean preserveHost = values.containsKey(p + ".preserve-host") ? b.bool(p + ".preserve-host", false) : null;
      list.add(build(at, p, () -> new Sites.Site(name, hosts, pool, routes, cache, maxBody, preserveHost)));
    }
    if (!dflt.isEmpty() && !nameAt.containsKey(dflt)) {
      throw new ConfigException(values.get("default-site").where() + ": default-site: " + dflt
          + " (expected: the name of a site: " + String.join(", ", nameAt.keySet()) + ", or \"\" for 421)");
    }
    return build(sites, "sites", () -> new Sites(list, dflt));
  }

  private static boolean validHost(String h) {
    String name = h.startsWith("*.") ? h.substring(2) : h;
    return !name.isEmpty() && name.chars().allMatch(c -> (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-')
        && !name.startsWith(".") && !name.endsWith(".");
  }

  /** The pool of the site or route at {@code p}; a route's unset settings are its site's ({@code parent}). */
  private static Sites.Pool pool(Map<String, Value> values, Binder b, String p, Sites.Pool parent) {
    Value ov = values.get(p + ".origins");
    List<Sites.Server> servers = new ArrayList<>();
    int n = ov.node() instanceof SequenceNode s ? s.getValue().size() : 0;
    for (int j = 0; j < n; j++) {
      String op = p + ".origins[" + j + "]";
      ProxyConfig.OriginUrl url = b.originUrl(op + ".url", null);
      if (url == null) {
        throw new ConfigException(values.get(op).where() + ": " + op + ".url: missing (expected: http://HOST[:PORT] or https://HOST[:PORT])");
      }
      int weight = b.integer(op + ".weight", 1, "1..1000");
      servers.add(build(values.getOrDefault(op + ".weight", values.get(op + ".url")), op + ".weight",
          () -> new Sites.Server(url, weight)));
    }
    if (servers.isEmpty()) {
      throw new ConfigException(ov.where() + ": " + p + ".origins: [] (expected: at least one server)");
    }
    Sites.Balance balance = parent != null ? parent.balance() : Sites.Balance.ROUND_ROBIN;
    Value bv = values.get(p + ".balance");
    if (bv != null) {
      String t = b.string(p + ".balance", "", "round-robin, least-requests or consistent-hash").strip().toLowerCase(Locale.ROOT);
      balance = switch (t) {
        case "round-robin" -> Sites.Balance.ROUND_ROBIN;
        case "least-requests" -> Sites.Balance.LEAST_REQUESTS;
        case "consistent-hash" -> Sites.Balance.CONSISTENT_HASH;
        default -> throw b.fail(bv, bv.describe() + " is not a balancing method (expected: round-robin, least-requests or consistent-hash)");
      };
    }
    Sites.Health health = health(values, b, p + ".health", parent != null ? parent.health() : Sites.Health.DEFAULT);
    int retries = nonNegative(values, b, p + ".retries", parent != null ? parent.retries() : Sites.Pool.DEFAULT_RETRIES);
    int maxConn = nonNegative(values, b, p + ".max-connections", parent != null ? parent.maxConnections() : 0);
    int queue = nonNegative(values, b, p + ".queue", parent != null ? parent.queue() : Sites.Pool.DEFAULT_QUEUE);
    Duration queueTimeout = b.duration(p + ".queue-timeout", parent != null ? parent.queueTimeout() : Sites.Pool.DEFAULT_QUEUE_TIMEOUT);
    Sites.Balance bal = balance;
    return build(values.getOrDefault(p + ".queue-timeout", ov), p, () -> new Sites.Pool(servers, bal, health, retries, maxConn, queue,
        queueTimeout));
  }

  private static int nonNegative(Map<String, Value> values, Binder b, String path, int dflt) {
    int n = b.integer(path, dflt, ">= 0");
    if (n < 0) {
      throw b.fail(values.get(path), n + " (expected: >= 0)");
    }
    return n;
  }

  private static Sites.Health health(Map<String, Value> values, Binder b, String p, Sites.Health d) {
    if (!values.containsKey(p)) {
      return d;
    }
    String path = b.string(p + ".path", d.path(), "a path starting with /, e.g. /healthz");
    Duration interval = b.duration(p + ".interval", d.interval());
    Duration timeout = b.duration(p + ".timeout", d.timeout());
    int min = d.expectMin();
    int max = d.expectMax();
    Value ev = values.get(p + ".expect");
    if (ev != null) {
      String t = b.string(p + ".expect", "", "a status, a class or a range: 200, 2xx or 200-399").strip().toLowerCase(Locale.ROOT);
      try {
        if (t.matches("[1-5]xx")) {
          min = (t.charAt(0) - '0') * 100;
          max = min + 99;
        } else if (t.matches("\\d{3}-\\d{3}")) {
          min = Integer.parseInt(t.substring(0, 3));
          max = Integer.parseInt(t.substring(4));
        } else {
          min = Integer.parseInt(t);
          max = min;
        }
      } catch (NumberFormatException e) {
        throw b.fail(ev, ev.describe() + " is not a status (expected: 200, 2xx or 200-399)");
      }
    }
    int rise = b.integer(p + ".rise", d.rise(), ">= 1");
    int fall = b.integer(p + ".fall", d.fall(), ">= 1");
    int ejectAfter = b.integer(p + ".eject-after", d.ejectAfter(), ">= 0, 0 = never");
    Duration ejectFor = b.duration(p + ".eject-for", d.ejectFor());
    int mn = min;
    int mx = max;
    Value at = values.get(p);
    return build(at, p, () -> new Sites.Health(path, interval, timeout, mn, mx, rise, fall, ejectAfter, ejectFor));
  }

  private static Sites.SiteCache cache(Binder b, String p) {
    Boolean enabled = b.string(p + ".enabled", null, "true or false") == null ? null : b.bool(p + ".enabled", true);
    List<String> keys = b.strings(p + ".key-headers", List.of(), "a list of header field names, or [] for none");
    String maxText = b.string(p + ".max-object-size", null, Units.SIZE_EXPECTED);
    Long max = maxText == null ? null : b.size(p + ".max-object-size", 0);
    String sc = b.string(p + ".set-cookie", null, "pass, strip or store");
    dev.zcproxy.cache.policy.SetCookie setCookie = sc == null ? null : b.setCookie(p + ".set-cookie", null);
    return new Sites.SiteCache(enabled, keys, max, setCookie);
  }

  /** Runs a record's constructor, reporting its complaint at {@code at}'s line under {@code path}. */
  private static <T> T build(Value at, String path, Supplier<T> make) {
    try {
      return make.get();
    } catch (IllegalArgumentException e) {
      throw new ConfigException((at == null ? "" : at.where() + ": ") + path + ": " + e.getMessage(), e);
    }
  }
}
