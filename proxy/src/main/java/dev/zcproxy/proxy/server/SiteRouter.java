package dev.zcproxy.proxy.server;

import dev.zcproxy.cache.policy.CachePolicy;
import dev.zcproxy.cache.policy.PolicyConfig;
import dev.zcproxy.proxy.config.ProxyConfig;
import dev.zcproxy.proxy.config.Sites;
import dev.zcproxy.proxy.origin.OriginPool;
import dev.zcproxy.proxy.origin.OriginPools;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Resolves a request to where it goes: its host to a site (exact name first, then the longest
 * {@code *.suffix}, then {@code default-site}), its path to the site's route with the longest matching
 * prefix, and that to an origin pool and the cache settings in force there.
 *
 * <p>Without {@code sites:} every request resolves to the one target of {@code origin.url}, keyed as
 * before sites existed. With sites, the cache key of every request carries its site
 * ({@link #siteKey}), so two sites never share an object.
 */
public final class SiteRouter {
  /** The separator between a URL and its site in a cache key: a space never appears in a request target. */
  static final String SITE_MARK = " site=";

  /**
   * Where one request goes and how it is cached.
   *
   * @param site the site's name ({@code default} for the {@code origin.url} shorthand)
   * @param keySuffix appended to the URL to make the primary cache key ({@code ""} without sites)
   * @param cacheEnabled whether responses here are looked up and stored
   * @param keyHeaders request fields added to the cache key (on top of the Vary of each response)
   * @param policy the cache policy with this site's max-object-size and set-cookie settings
   * @param maxBodyBytes the largest request body here, 0 = {@code listen.max-body-size}
   */
  public record Target(String site, String keySuffix, OriginPool pool, boolean cacheEnabled, List<String> keyHeaders,
      CachePolicy policy, long maxBodyBytes) {}

  private record Prefixed(String prefix, Target target) {}

  private record SiteTargets(Target site, List<Prefixed> routes) {
    Target forPath(String path) {
      for (int i = 0; i < routes.size(); i++) { // no iterator: asked on every hit
        Prefixed p = routes.get(i);
        if (path.startsWith(p.prefix())) {
          return p.target();
        }
      }
      return site;
    }
  }

  private final Map<String, SiteTargets> exact = new HashMap<>();
  /** {@code *.suffix} hosts as {@code .suffix}, longest first. */
  private final List<Map.Entry<String, SiteTargets>> wildcards = new ArrayList<>();
  private final Map<String, SiteTargets> byName = new HashMap<>();
  private final SiteTargets fallback;
  private final boolean configured;

  /** @param pools the pools of {@code config} ({@link OriginPools#build}) */
  public SiteRouter(ProxyConfig config, OriginPools pools, CachePolicy policy) {
    ProxyConfig.Cache cache = config.cache();
    Sites sites = config.sites();
    configured = sites.configured();
    if (!configured) {
      fallback = new SiteTargets(new Target("default", "", pools.pool("default", "/"), cache.enabled(), cache.keyHeaders(),
          policy, 0), List.of());
      return;
    }
    for (Sites.Site site : sites.list()) {
      Sites.SiteCache siteCache = Sites.SiteCache.INHERIT.overriddenBy(site.cache());
      Target main = target(site, siteCache, pools.pool(site.name(), "/"), cache, policy);
      List<Prefixed> routes = new ArrayList<>();
      for (Sites.Route r : site.routes()) {
        OriginPool pool = r.pool() != null ? pools.pool(site.name(), r.prefix()) : main.pool();
        routes.add(new Prefixed(r.prefix(), target(site, siteCache.overriddenBy(r.cache()), pool, cache, policy)));
      }
      routes.sort(Comparator.comparingInt((Prefixed p) -> p.prefix().length()).reversed());
      SiteTargets st = new SiteTargets(main, List.copyOf(routes));
      byName.put(site.name(), st);
      for (String h : site.hosts()) {
        if (h.startsWith("*.")) {
          wildcards.add(Map.entry(h.substring(1), st));
        } else {
          exact.put(h, st);
        }
      }
    }
    wildcards.sort(Comparator.comparingInt((Map.Entry<String, SiteTargets> e) -> e.getKey().length()).reversed());
    fallback = sites.defaultSite().isEmpty() ? null : byName.get(sites.defaultSite());
  }

  private static Target target(Sites.Site site, Sites.SiteCache sc, OriginPool pool, ProxyConfig.Cache cache,
      CachePolicy policy) {
    boolean enabled = cache.enabled() && (sc.enabled() == null || sc.enabled());
    List<String> keys = new ArrayList<>(cache.keyHeaders());
    sc.keyHeaders().stream().filter(h -> keys.stream().noneMatch(h::equalsIgnoreCase)).forEach(keys::add);
    CachePolicy p = policy;
    if (sc.maxObjectBytes() != null || sc.setCookie() != null) {
      PolicyConfig b = policy.config();
      long max = sc.maxObjectBytes() != null ? Math.min(sc.maxObjectBytes(), cache.maxSizeBytes()) : b.maxObjectBytes();
      p = new CachePolicy(new PolicyConfig(b.heuristicFraction(), b.heuristicMaxSeconds(), b.keepSeconds(),
          b.cdnCacheControl(), b.surrogateControl(), b.maxVariants(), max, sc.setCookie() != null ? sc.setCookie() : b.setCookie(),
          b.invalidateMethods()));
    }
    return new Target(site.name(), siteKey(site.name()), pool, enabled, List.copyOf(keys), p, site.maxBodyBytes());
  }

  /** The router of the {@code origin.url} shorthand, sending every request through {@code client}. */
  static SiteRouter single(io.vertx.core.Vertx vertx, ProxyConfig config, dev.zcproxy.proxy.origin.OriginClient client,
      CachePolicy policy) {
    ProxyConfig plain = new ProxyConfig(config.listen(), config.origin(), config.cache(), config.transfer(), config.admin(),
        config.logging());
    return new SiteRouter(plain, OriginPools.of(OriginPool.single(vertx, client, config.origin().url(),
        config.origin().preserveHost())), policy);
  }

  /** What a cache key of {@code site} ends with. */
  static String siteKey(String site) {
    return SITE_MARK + site;
  }

  /** Whether {@code sites:} is configured (cache keys then carry the site). */
  public boolean configured() {
    return configured;
  }

  /**
   * The target of a request for {@code authority} (Host, or the absolute-form target's; {@code null}
   * when the request named none) and {@code path}, or {@code null} when no site answers that host
   * (421 Misdirected Request).
   */
  public Target resolve(String authority, String path) {
    SiteTargets st = site(authority);
    return st == null ? null : st.forPath(path);
  }

  /** The site's targets for a host, or null. */
  private SiteTargets site(String authority) {
    if (!configured || authority == null) {
      return fallback;
    }
    String host = host(authority);
    SiteTargets st = exact.get(host);
    if (st != null) {
      return st;
    }
    for (Map.Entry<String, SiteTargets> w : wildcards) {
      if (host.endsWith(w.getKey()) && host.length() > w.getKey().length()) {
        return w.getValue();
      }
    }
    return fallback;
  }

  /**
   * The cache key of a URL whose primary key without site is {@code primary} ({@code scheme://authority/path}),
   * as a request for it is keyed: with {@code site} if given, else the site its host resolves to; {@code null}
   * when that site does not exist or no site answers the host. For the admin API's purge and entries.
   */
  public String keyOf(String primary, String site) {
    if (!configured) {
      return site == null || site.equals("default") ? primary : null;
    }
    if (site != null) {
      return byName.containsKey(site) ? primary + siteKey(site) : null;
    }
    int start = primary.indexOf("://") + 3;
    int slash = primary.indexOf('/', start);
    String authority = slash < 0 ? primary.substring(start) : primary.substring(start, slash);
    Target t = resolve(authority, slash < 0 ? "/" : primary.substring(slash));
    return t == null ? null : primary + t.keySuffix();
  }

  /** Whether {@code name} is a configured site. */
  public boolean hasSite(String name) {
    return byName.containsKey(name);
  }

  static String host(String authority) {
    String a = authority.toLowerCase(Locale.ROOT);
    if (a.startsWith("[")) {
      int close = a.indexOf(']');
      return close < 0 ? a : a.substring(0, close + 1);
    }
    int colon = a.lastIndexOf(':');
    if (colon >= 0 && a.indexOf(':') == colon) {
      a = a.substring(0, colon);
    }
    return a.endsWith(".") ? a.substring(0, a.length() - 1) : a;
  }
}
