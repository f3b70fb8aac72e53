package dev.zcproxy.proxy.admin;

import dev.zcproxy.cache.CacheKey;
import dev.zcproxy.cache.store.DiskStore;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.net.URI;
import java.util.Locale;

/**
 * The admin listener, on its own port: {@code /health}, {@code /stats} (JSON), {@code /metrics}
 * (Prometheus text) and {@code /purge?url=...} (POST or PURGE) to drop every variant of a URI.
 *
 * <p>Reads are open; every other request must carry {@code Authorization: Bearer <admin token>} and
 * must not come from another origin's browser page ({@link AdminGuard}). Errors are JSON
 * {@code {"error": "..."}}.
 */
public final class AdminServer {
  private final Vertx vertx;
  private final ProxyMetrics metrics;
  private final DiskStore store;
  private final AdminGuard guard;
  private HttpServer server;

  /**
   * @param store the cache, or {@code null} when caching is disabled
   * @param token the bearer token mutating requests need; {@code ""} refuses them all
   */
  public AdminServer(Vertx vertx, ProxyMetrics metrics, DiskStore store, String token) {
    this.vertx = vertx;
    this.metrics = metrics;
    this.store = store;
    this.guard = new AdminGuard(token);
  }

  public Future<Integer> listen(String host, int port) {
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
    router.get("/health").handler(rc -> rc.response().putHeader("content-type", "text/plain").end("ok\n"));
    router.get("/stats").handler(rc -> rc.response().putHeader("content-type", "application/json").end(metrics.toJson() + "\n"));
    router.get("/metrics").handler(rc -> rc.response().putHeader("content-type", "text/plain; version=0.0.4").end(metrics.toPrometheus()));
    router.route(HttpMethod.POST, "/purge").handler(this::purge);
    router.route(HttpMethod.valueOf("PURGE"), "/purge").handler(this::purge);
    router.errorHandler(404, rc -> error(rc, 404, "no such admin endpoint: " + rc.request().path()));
    router.errorHandler(405, rc -> error(rc, 405, rc.request().method() + " is not allowed on " + rc.request().path()));
    router.errorHandler(500, rc -> error(rc, 500, "internal error: " + rc.failure()));
    return vertx.createHttpServer().requestHandler(router).listen(port, host).map(s -> {
      server = s;
      return s.actualPort();
    });
  }

  private void purge(RoutingContext rc) {
    String url = rc.request().getParam("url");
    if (url == null || store == null) {
      error(rc, 400, store == null ? "cache disabled" : "missing url parameter (absolute URL)");
      return;
    }
    URI uri;
    try {
      uri = URI.create(url);
      if (uri.getScheme() == null || uri.getRawAuthority() == null) {
        throw new IllegalArgumentException("not absolute");
      }
    } catch (IllegalArgumentException e) {
      error(rc, 400, "url: " + url + " (expected: an absolute http URL)");
      return;
    }
    String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
    if (uri.getRawQuery() != null) {
      path += "?" + uri.getRawQuery();
    }
    String key = CacheKey.primaryOf(uri.getScheme().toLowerCase(Locale.ROOT), uri.getRawAuthority(), path);
    int removed = store.invalidate(key);
    metrics.purged(removed);
    rc.response().putHeader("content-type", "application/json")
        .end(new JsonObject().put("purged", removed).put("key", key).encode() + "\n");
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
    return server == null ? Future.succeededFuture() : server.close();
  }
}
