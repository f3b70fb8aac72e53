package dev.zcproxy.proxy.admin;

import dev.zcproxy.cache.Bans;
import dev.zcproxy.cache.CacheKey;
import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.policy.CachePolicy;
import dev.zcproxy.cache.policy.PolicyConfig;
import dev.zcproxy.cache.store.DiskStore;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.net.URI;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.function.LongSupplier;

/**
 * The admin listener, on its own port: {@code /health}, {@code /stats} (JSON), {@code /metrics}
 * (Prometheus text) and {@code /purge?url=...[&soft=true]} (POST or PURGE) to drop every variant of a
 * URI, or with {@code soft=true} mark them stale (Fastly's soft purge); {@code /purge?tag=TAG} does
 * the same for every entry with that surrogate key / cache tag; {@code POST /ban?prefix=URL},
 * {@code ?regex=RE} or {@code ?header=NAME&value=V} adds a ban (applied lazily at lookup) and
 * {@code GET /bans} lists them. {@code POST /reload} reads the config file again and applies it
 * ({@link Lifecycle}); {@code POST /drain} turns {@code /health} to 503 "draining" for load balancers.
 * {@code GET /} is the live dashboard ({@link Dashboard}, with {@code /events} and
 * {@code /dashboard/snapshot}).
 *
 * <p>Reads are open; every other request must carry {@code Authorization: Bearer <admin token>} and
 * must not come from another origin's browser page ({@link AdminGuard}). Errors are JSON
 * {@code {"error": "..."}}.
 */
public final class AdminServer {
  /**
   * Seconds an admin connection may stay without a byte read or written before it is closed (the dashboard's event
   * stream writes every tick, so it stays open).
   */
  static final int IDLE_TIMEOUT_SECONDS = 60;
  private final Vertx vertx;
  private final ProxyMetrics metrics;
  private final DiskStore store;
  private volatile AdminGuard guard;
  private final LongSupplier clock;
  private volatile CachePolicy policy;
  private volatile Lifecycle lifecycle = Lifecycle.NONE;
  private HttpServer server;
  private final Dashboard dashboard;
  /** Told of every invalidation made here (the cluster broadcasts them); a no-op on a single node. */
  private volatile java.util.function.Consumer<dev.zcproxy.proxy.cluster.Invalidation> invalidations = i -> { };
  /** What {@code /health} adds as {@code cluster} (the cluster state), or {@code null} for none. */
  private volatile java.util.function.Supplier<String> healthDetail;
  /** The origin pools' state for {@code GET /origins}. */
  private java.util.function.Supplier<JsonObject> origins = () -> new JsonObject().put("pools", new JsonArray());
  /** A URL's primary key and a {@code site} parameter (or null) to the cache key, or null for no such site. */
  private java.util.function.BinaryOperator<String> siteKey = (primary, site) -> site == null ? primary : null;

  /**
   * Adds the sites: {@code GET /origins} answers {@code origins}, and URLs given to purge, entries and ban
   * are keyed with their site ({@code site=NAME}, or the site their host resolves to) by {@code siteKey}.
   */
  public AdminServer sites(java.util.function.Supplier<JsonObject> origins, java.util.function.BinaryOperator<String> siteKey) {
    this.origins = origins;
    this.siteKey = siteKey;
    return this;
  }

  /**
   * @param store the cache, or {@code null} when caching is disabled
   * @param token the bearer token mutating requests need; {@code ""} refuses them all
   */
  public AdminServer(Vertx vertx, ProxyMetrics metrics, DiskStore store, String token) {
    this(vertx, metrics, store, token, System::currentTimeMillis, new CachePolicy(PolicyConfig.defaults()));
  }

  /**
   * @param clock epoch millis: when soft purges and bans take effect (the proxy's clock)
   * @param policy the cache policy, for the age and freshness {@code /entries} reports
   */
  public AdminServer(Vertx vertx, ProxyMetrics metrics, DiskStore store, String token, LongSupplier clock,
      CachePolicy policy) {
    this.policy = policy;
    this.vertx = vertx;
    this.metrics = metrics;
    this.store = store;
    this.guard = new AdminGuard(token);
    this.clock = clock;
    this.dashboard = new Dashboard(vertx, metrics, store);
  }

  /** Sends every purge, soft purge, tag purge and ban made here to {@code listener} too, once applied here. */
  public void onInvalidation(java.util.function.Consumer<dev.zcproxy.proxy.cluster.Invalidation> listener) {
    this.invalidations = listener;
  }

  /** Adds {@code detail} to the {@code /health} answer as its {@code cluster} member. */
  public void healthDetail(java.util.function.Supplier<String> detail) {
    this.healthDetail = detail;
  }

  /** Listens on {@code host:port} and admits every connection (tests); the proxy bounds them, see the other overload. */
  public Future<Integer> listen(String host, int port) {
    return listen(host, port, conn -> true);
  }

  /**
   * Listens on {@code host:port}; {@code admit} is asked at each new connection (it closes the ones it refuses) and
   * connections idle for {@link #IDLE_TIMEOUT_SECONDS} are closed: a client that opens connections and sends nothing
   * must not hold descriptors the cache needs, nor keep the load balancer's {@code /health} out.
   */
  public Future<Integer> listen(String host, int port, java.util.function.Predicate<io.vertx.core.http.HttpConnection> admit) {
    Router router = Router.router(vertx);
    router.route().handler(rc -> {
      var req = rc.request();
      AdminGuard.Verdict v = guard.check(req.method().name(), req.getHeader("authorization"), req.getHeader("origin"),
          req.getHeader("sec-fetch-site"), req.getHeader("host"));
      if (v.allowed()) {
        rc.next();
        return;
      }
      if (v.status() == 401) {
        rc.response().putHeader("www-authenticate", "Bearer realm=\"zcproxy admin\"");
      }
      error(rc, v.status(), v.error());
    });
    router.get("/health").handler(this::health);
    router.post("/reload").handler(this::reload);
    router.post("/drain").handler(this::drain);
    router.get("/stats").handler(rc -> rc.response().putHeader("content-type", "application/json").end(metrics.toJson() + "\n"));
    router.get("/metrics").handler(rc -> rc.response().putHeader("content-type", "text/plain; version=0.0.4").end(metrics.toPrometheus()));
    router.route(HttpMethod.POST, "/purge").handler(this::purge);
    router.route(HttpMethod.valueOf("PURGE"), "/purge").handler(this::purge);
    router.post("/ban").handler(this::ban);
    router.get("/bans").handler(this::listBans);
    router.get("/entries").handler(this::entries);
    dashboard.mount(router);
    router.get("/origins").handler(rc -> json(rc, origins.get()));
    router.errorHandler(404, rc -> error(rc, 404, "no such admin endpoint: " + rc.request().path()));
    router.errorHandler(405, rc -> error(rc, 405, rc.request().method() + " is not allowed on " + rc.request().path()));
    router.errorHandler(500, rc -> error(rc, 500, "internal error: " + rc.failure()));
    // no h2c: with it Vert.x makes the connection (and calls admit) only once a request's first bytes tell HTTP/1 from
    // HTTP/2, so a connection that never sends a complete head would escape the bound and the head timer
    io.vertx.core.http.HttpServerOptions options = new io.vertx.core.http.HttpServerOptions().setHttp2ClearTextEnabled(false)
        .setIdleTimeout(IDLE_TIMEOUT_SECONDS).setIdleTimeoutUnit(java.util.concurrent.TimeUnit.SECONDS);
    return vertx.createHttpServer(options).connectionHandler(admit::test).requestHandler(router).listen(port, host).map(s -> {
      server = s;
      return s.actualPort();
    });
  }

  /** 200 {@code {"status":"ok"}} while serving; 503 with {@code draining} or {@code stopping}, for load balancers. */
  private void health(RoutingContext rc) {
    Lifecycle.State state = lifecycle.state();
    rc.response().setStatusCode(state == Lifecycle.State.OK ? 200 : 503);
    JsonObject answer = new JsonObject().put("status", state.label());
    java.util.function.Supplier<String> detail = healthDetail;
    if (detail != null) {
      answer.put("cluster", detail.get().strip());
    }
    json(rc, answer);
  }

  private void reload(RoutingContext rc) {
    lifecycle.reload().onComplete(ar -> {
      if (ar.succeeded()) {
        json(rc, ar.result());
      } else {
        error(rc, ar.cause() instanceof Lifecycle.Refused ? 400 : 500, "reload refused: " + ar.cause().getMessage());
      }
    });
  }

  /** {@code POST /drain} starts draining, {@code POST /drain?cancel=true} ends it. */
  private void drain(RoutingContext rc) {
    String cancel = rc.request().getParam("cancel");
    lifecycle.drain(!(cancel != null && (cancel.equals("true") || cancel.equals("1"))));
    json(rc, new JsonObject().put("status", lifecycle.state().label()));
  }

  /** Connects the admin listener to the proxy's reload and drain; before {@link #listen}. */
  public void lifecycle(Lifecycle lifecycle) {
    this.lifecycle = java.util.Objects.requireNonNull(lifecycle, "lifecycle");
  }

  /** After a reload: the bearer token mutating requests need from now on, and the cache policy. */
  public void reconfigure(String token, CachePolicy policy) {
    this.guard = new AdminGuard(token);
    this.policy = policy;
  }

  private void purge(RoutingContext rc) {
    String tag = rc.request().getParam("tag");
    if (tag != null && store != null) {
      purgeTag(rc, tag);
      return;
    }
    String url = rc.request().getParam("url");
    if (url == null || store == null) {
      error(rc, 400, store == null ? "cache disabled" : "missing url parameter (absolute URL) or tag parameter");
      return;
    }
    String key = primaryKey(rc, url);
    if (key == null) {
      return;
    }
    if (isSoft(rc)) {
      long at = clock.getAsLong();
      invalidations.accept(dev.zcproxy.proxy.cluster.Invalidation.purge(key, true, at));
      Future.fromCompletionStage(store.softInvalidate(key, at), vertx.getOrCreateContext())
          .onSuccess(marked -> {
            metrics.softPurged(marked);
            dashboard.invalidations().add(clock.getAsLong(), "soft-purge", url, marked);
            json(rc, new JsonObject().put("marked_stale", marked).put("key", key));
          })
          .onFailure(t -> error(rc, 500, "soft purge failed: " + t));
      return;
    }
    int removed = store.invalidate(key);
    invalidations.accept(dev.zcproxy.proxy.cluster.Invalidation.purge(key, false, clock.getAsLong()));
    metrics.purged(removed);
    dashboard.invalidations().add(clock.getAsLong(), "purge", url, removed);
    json(rc, new JsonObject().put("purged", removed).put("key", key));
  }

  /** Purges or soft-purges every entry tagged {@code tag} (Surrogate-Key / Cache-Tag). */
  private void purgeTag(RoutingContext rc, String tag) {
    if (tag.isEmpty()) {
      error(rc, 400, "empty tag parameter");
      return;
    }
    metrics.tagPurged();
    if (isSoft(rc)) {
      long at = clock.getAsLong();
      invalidations.accept(dev.zcproxy.proxy.cluster.Invalidation.tag(tag, true, at));
      Future.fromCompletionStage(store.softPurgeTag(tag, at), vertx.getOrCreateContext())
          .onSuccess(marked -> {
            metrics.softPurged(marked);
            dashboard.invalidations().add(clock.getAsLong(), "soft-tag-purge", tag, marked);
            json(rc, new JsonObject().put("marked_stale", marked).put("tag", tag));
          })
          .onFailure(t -> error(rc, 500, "soft purge failed: " + t));
      return;
    }
    int removed = store.purgeTag(tag);
    invalidations.accept(dev.zcproxy.proxy.cluster.Invalidation.tag(tag, false, clock.getAsLong()));
    metrics.purged(removed);
    dashboard.invalidations().add(clock.getAsLong(), "tag-purge", tag, removed);
    json(rc, new JsonObject().put("purged", removed).put("tag", tag));
  }

  private void ban(RoutingContext rc) {
    if (store == null) {
      error(rc, 400, "cache disabled");
      return;
    }
    var req = rc.request();
    Bans.Kind kind;
    String expr;
    String value = "";
    if (req.getParam("prefix") != null) {
      kind = Bans.Kind.PREFIX;
      expr = req.getParam("prefix");
    } else if (req.getParam("regex") != null) {
      kind = Bans.Kind.REGEX;
      expr = req.getParam("regex");
    } else if (req.getParam("header") != null) {
      kind = Bans.Kind.HEADER;
      expr = req.getParam("header");
      value = req.getParam("value");
      if (value == null) {
        error(rc, 400, "missing value parameter (the header value to ban)");
        return;
      }
    } else if (req.getParam("site") != null) {
      kind = Bans.Kind.REGEX;
      expr = ".*";
    } else {
      error(rc, 400, "expected one of: prefix=URL, regex=RE, header=NAME&value=V (each optionally with site=NAME), site=NAME");
      return;
    }
    String site = req.getParam("site");
    if (site != null) {
      if (kind == Bans.Kind.HEADER || siteKey.apply("http://x/", site) == null) {
        error(rc, 400, kind == Bans.Kind.HEADER ? "site= does not combine with header=" : "no such site: " + site);
        return;
      }
      // Keys of a site end with its mark (SiteRouter): the ban becomes a regex over the whole key.
      String mark = java.util.regex.Pattern.quote(siteKey.apply("", site));
      expr = kind == Bans.Kind.PREFIX ? "^[a-z]+://" + java.util.regex.Pattern.quote(Bans.normalizePrefix(expr)) + ".*" + mark + "$"
          : "^(?=.*(?:" + expr + ")).*" + mark + "$";
      kind = Bans.Kind.REGEX;
    }
    CompletableFuture<Bans.Ban> added;
    try {
      added = store.ban(kind, expr, value);
    } catch (IllegalArgumentException | IllegalStateException e) {
      error(rc, 400, kind.name().toLowerCase(Locale.ROOT) + ": " + e.getMessage());
      return;
    }
    metrics.banAdded();
    java.util.function.Consumer<dev.zcproxy.proxy.cluster.Invalidation> broadcast = invalidations;
    added.thenAccept(b -> broadcast.accept(dev.zcproxy.proxy.cluster.Invalidation.ban(b)));
    Future.fromCompletionStage(added, vertx.getOrCreateContext())
        .onSuccess(b -> {
          dashboard.invalidations().add(clock.getAsLong(), "ban", b.kind().name().toLowerCase(Locale.ROOT) + " "
              + b.expression() + (b.kind() == Bans.Kind.HEADER ? ": " + b.value() : ""), b::removed);
          json(rc, new JsonObject().put("ban", banJson(b)).put("bans", store.bans().size()));
        })
        .onFailure(t -> error(rc, 500, "ban added but the ban list could not be written: " + t));
  }

  private void listBans(RoutingContext rc) {
    JsonArray list = new JsonArray();
    if (store != null) {
      for (Bans.Ban b : store.bans().list()) {
        list.add(banJson(b));
      }
    }
    json(rc, new JsonObject().put("bans", list).put("matched", store == null ? 0 : store.banMatches()));
  }

  /** Most entries {@code GET /entries?prefix=} lists. */
  static final int MAX_LISTED = 1000;

  private void entries(RoutingContext rc) {
    if (store == null) {
      error(rc, 400, "cache disabled");
      return;
    }
    String url = rc.request().getParam("url");
    String prefix = rc.request().getParam("prefix");
    long now = clock.getAsLong();
    if (url != null) {
      String key = primaryKey(rc, url);
      if (key == null) {
        return;
      }
      JsonArray variants = new JsonArray();
      for (EntryMeta m : store.variants(key)) {
        JsonArray headers = new JsonArray();
        for (int i = 0; i < m.headers().size(); i++) {
          headers.add(new JsonArray().add(m.headers().name(i)).add(m.headers().value(i)));
        }
        variants.add(entryJson(m, now).put("status", m.status()).put("headers", headers));
      }
      if (variants.isEmpty()) {
        error(rc, 404, "not in the cache: " + key);
        return;
      }
      json(rc, new JsonObject().put("key", key).put("variants", variants));
      return;
    }
    if (prefix == null || prefix.isEmpty()) {
      error(rc, 400, "expected prefix=URL (host and path prefix) or url=URL");
      return;
    }
    String hostAndPath = Bans.normalizePrefix(prefix);
    String site = rc.request().getParam("site");
    String mark = site == null ? null : siteKey.apply("", site);
    if (site != null && mark == null) {
      error(rc, 404, "no such site: " + site);
      return;
    }
    // Walks the whole index: off the event loop.
    vertx.executeBlocking(() -> mark == null ? store.list(hostAndPath, MAX_LISTED + 1)
        : store.list(hostAndPath, Integer.MAX_VALUE).stream().filter(m -> m.primaryKey().endsWith(mark)).limit(MAX_LISTED + 1).toList(),
        false).onComplete(ar -> {
      if (ar.failed()) {
        error(rc, 500, "listing failed: " + ar.cause());
        return;
      }
      java.util.List<EntryMeta> found = ar.result();
      JsonArray list = new JsonArray();
      for (EntryMeta m : found.subList(0, Math.min(found.size(), MAX_LISTED))) {
        list.add(entryJson(m, now));
      }
      json(rc, new JsonObject().put("prefix", hostAndPath).put("entries", list).put("count", list.size())
          .put("truncated", found.size() > MAX_LISTED));
    });
  }

  private JsonObject entryJson(EntryMeta m, long now) {
    long age = policy.ageSeconds(m, now);
    String url = m.primaryKey();
    int mark = url.indexOf(" site=");
    JsonObject o = new JsonObject().put("url", mark < 0 ? url : url.substring(0, mark));
    if (mark >= 0) {
      o.put("site", url.substring(mark + 6));
    }
    o.put("variant", m.variant()).put("size", m.bodyLength())
        .put("age", age).put("freshness_left", policy.lifetimeSeconds(m) - age)
        .put("stored", java.time.Instant.ofEpochMilli(m.responseTime()).toString());
    // responses from the cache for the URL (all its variants) since start, 0 when it is not among the tracked ones
    o.put("hits", Math.max(0, metrics.topUrls().hits(m.primaryKey())));
    if (m.invalidatedAt() != 0) {
      o.put("soft_purged", java.time.Instant.ofEpochMilli(m.invalidatedAt()).toString());
    }
    return o;
  }

  private static JsonObject banJson(Bans.Ban b) {
    JsonObject o = new JsonObject().put("id", b.id()).put("kind", b.kind().name().toLowerCase(Locale.ROOT))
        .put("expression", b.expression());
    if (b.kind() == Bans.Kind.HEADER) {
      o.put("value", b.value());
    }
    return o.put("created", java.time.Instant.ofEpochMilli(b.created()).toString()).put("removed", b.removed());
  }

  private static boolean isSoft(RoutingContext rc) {
    String soft = rc.request().getParam("soft");
    return soft != null && (soft.equals("true") || soft.equals("1"));
  }

  private static void json(RoutingContext rc, JsonObject body) {
    if (!rc.response().ended()) {
      rc.response().putHeader("content-type", "application/json").end(body.encode() + "\n");
    }
  }

  /** The cache key of an absolute URL in its site (or the {@code site} parameter's), or null after answering 400/404. */
  private String primaryKey(RoutingContext rc, String url) {
    String primary = urlKey(rc, url);
    if (primary == null) {
      return null;
    }
    String site = rc.request().getParam("site");
    String key = siteKey.apply(primary, site);
    if (key == null) {
      error(rc, 404, site != null ? "no such site: " + site : "no site answers the host of " + url);
    }
    return key;
  }

  /** The primary cache key of an absolute URL, without site, or null after answering 400. */
  private static String urlKey(RoutingContext rc, String url) {
    URI uri;
    try {
      uri = URI.create(url);
      if (uri.getScheme() == null || uri.getRawAuthority() == null) {
        throw new IllegalArgumentException("not absolute");
      }
    } catch (IllegalArgumentException e) {
      error(rc, 400, "url: " + url + " (expected: an absolute http URL)");
      return null;
    }
    String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
    if (uri.getRawQuery() != null) {
      path += "?" + uri.getRawQuery();
    }
    return CacheKey.primaryOf(uri.getScheme().toLowerCase(Locale.ROOT), uri.getRawAuthority(), path);
  }

  private static void error(RoutingContext rc, int status, String message) {
    if (rc.response().ended()) {
      return;
    }
    rc.response().setStatusCode(status).putHeader("content-type", "application/json")
        .end(new JsonObject().put("error", message).encode() + "\n");
  }

  /** Whether mutating requests can be authorised (an admin token is configured). */
  public boolean tokenRequired() {
    return guard.hasToken();
  }

  public Future<Void> close() {
    dashboard.close();
    return server == null ? Future.succeededFuture() : server.close();
  }

  /** Stops listening; requests under way (the reload that moved this listener) get {@code millis} to finish. */
  public Future<Void> shutdown(long millis) {
    return server == null ? Future.succeededFuture() : server.shutdown(millis, java.util.concurrent.TimeUnit.MILLISECONDS);
  }
}
