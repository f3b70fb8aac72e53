package dev.zcproxy.proxy.origin;

import dev.zcproxy.proxy.config.ProxyConfig;
import dev.zcproxy.proxy.config.Sites;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Every origin pool of one configuration, by site and pool name: built from the config, started
 * (health checks), reported ({@code GET /origins}, metrics tagged {@code site}, {@code pool},
 * {@code server}) and closed together. A reload builds a new instance and closes the old one.
 */
public final class OriginPools {
  private final Map<String, OriginPool> pools = new LinkedHashMap<>();
  private final List<Meter> meters = new ArrayList<>();
  private final MeterRegistry registry;

  private OriginPools(MeterRegistry registry) {
    this.registry = registry;
  }

  /**
   * The pools of {@code config}: one per site and one per route with its own origins; without
   * {@code sites:}, the one pool {@code default} of {@code origin.url}.
   *
   * @param registry where the per-server meters go, or {@code null} for none
   */
  public static OriginPools build(Vertx vertx, ProxyConfig config, MeterRegistry registry) {
    OriginPools p = new OriginPools(registry);
    ProxyConfig.Origin origin = config.origin();
    if (!config.sites().configured()) {
      p.add(new OriginPool(vertx, "default", "/", Sites.Pool.single(origin.url()),
          List.of(new OriginClient(vertx, origin)), origin.preserveHost(), true));
    } else {
      for (Sites.Site site : config.sites().list()) {
        boolean preserve = site.preserveHost() != null ? site.preserveHost() : origin.preserveHost();
        p.add(pool(vertx, origin, site.name(), "/", site.pool(), preserve));
        for (Sites.Route r : site.routes()) {
          if (r.pool() != null) {
            p.add(pool(vertx, origin, site.name(), r.prefix(), r.pool(), preserve));
          }
        }
      }
    }
    return p;
  }

  /** The one pool given (not closed with these: its client is the caller's). */
  public static OriginPools of(OriginPool pool) {
    OriginPools p = new OriginPools(null);
    p.add(pool);
    return p;
  }

  private static OriginPool pool(Vertx vertx, ProxyConfig.Origin origin, String site, String name, Sites.Pool config,
      boolean preserveHost) {
    List<OriginClient> clients = new ArrayList<>();
    for (Sites.Server s : config.servers()) {
      // Timeouts, keep-alive and per-loop connection bound from origin:, the address from the server.
      // TLS for https servers: OriginClient enables it from the URL (and origin.tls settings apply here).
      clients.add(new OriginClient(vertx, origin, s.url()));
    }
    return new OriginPool(vertx, site, name, config, clients, preserveHost, true);
  }

  private void add(OriginPool pool) {
    pools.put(pool.site() + " " + pool.name(), pool);
    if (registry == null) {
      return;
    }
    for (OriginServer s : pool.servers()) {
      Tags tags = Tags.of("site", pool.site(), "pool", pool.name(), "server", s.id());
      meters.add(FunctionCounter.builder("zcproxy.origin.server.requests", s, OriginServer::requests)
          .description("Requests sent to the origin server (retries included).").tags(tags).register(registry));
      meters.add(FunctionCounter.builder("zcproxy.origin.server.errors", s, OriginServer::errors)
          .description("Requests to the origin server that failed: connect error, reset, timeout or 5xx.").tags(tags)
          .register(registry));
      meters.add(FunctionCounter.builder("zcproxy.origin.server.connection.errors", s, x -> x.client().connectionErrors())
          .description("Errors on connections to the origin server that no request was told of (a reset of a pooled"
              + " connection): logged at DEBUG.").tags(tags).register(registry));
      meters.add(FunctionCounter.builder("zcproxy.origin.server.ejections", s, OriginServer::ejections)
          .description("Times the origin server was ejected after failed requests in a row.").tags(tags).register(registry));
      meters.add(Gauge.builder("zcproxy.origin.server.in.flight", s, OriginServer::inFlight)
          .description("Requests in flight to the origin server now.").tags(tags).register(registry));
      meters.add(Gauge.builder("zcproxy.origin.server.up", s, x -> x.state() == OriginServer.State.UP ? 1 : 0)
          .description("1 when the origin server gets requests, 0 when it is down or ejected.").tags(tags).register(registry));
    }
    Tags tags = Tags.of("site", pool.site(), "pool", pool.name());
    meters.add(FunctionCounter.builder("zcproxy.origin.pool.rejected", pool, OriginPool::rejected)
        .description("Requests answered 503 because the pool's queue was full or the wait timed out.").tags(tags)
        .register(registry));
    meters.add(Gauge.builder("zcproxy.origin.pool.queued", pool, OriginPool::queued)
        .description("Requests waiting for a free connection to the pool now.").tags(tags).register(registry));
  }

  /** The pool of {@code site} named {@code name} ({@code /} for the site's own), or null. */
  public OriginPool pool(String site, String name) {
    return pools.get(site + " " + name);
  }

  public List<OriginPool> all() {
    return List.copyOf(pools.values());
  }

  /** Starts every pool's health checks. */
  public void start() {
    pools.values().forEach(OriginPool::start);
  }

  /** The state of every pool and server, for {@code GET /origins}. */
  public JsonObject toJson() {
    JsonArray list = new JsonArray();
    for (OriginPool p : pools.values()) {
      JsonArray servers = new JsonArray();
      for (OriginServer s : p.servers()) {
        servers.add(new JsonObject().put("url", s.id()).put("weight", s.weight()).put("state", s.state().name().toLowerCase(Locale.ROOT))
            .put("in_flight", s.inFlight()).put("requests", s.requests()).put("errors", s.errors())
            .put("ejections", s.ejections()).put("checks_failed", s.checksFailed()).put("last_problem", s.lastProblem()));
      }
      Sites.Pool c = p.config();
      list.add(new JsonObject().put("site", p.site()).put("pool", p.name()).put("balance", c.balance().yamlName())
          .put("health_check", c.health().active() ? c.health().path() : null)
          .put("max_connections", c.maxConnections()).put("queued", p.queued()).put("rejected", p.rejected())
          .put("servers", servers));
    }
    return new JsonObject().put("pools", list);
  }

  /** Stops the health checks, closes the clients and removes the meters. */
  public Future<Void> close() {
    if (registry != null) {
      meters.forEach(registry::remove);
    }
    List<Future<Void>> closing = new ArrayList<>();
    pools.values().forEach(p -> closing.add(p.close()));
    return Future.join(closing).mapEmpty();
  }
}
