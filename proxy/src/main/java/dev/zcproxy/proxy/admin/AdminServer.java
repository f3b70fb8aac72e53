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
 */
public final class AdminServer {
  private final Vertx vertx;
  private final ProxyMetrics metrics;
  private final DiskStore store;
  private HttpServer server;

  /** @param store the cache, or {@code null} when caching is disabled */
  public AdminServer(Vertx vertx, ProxyMetrics metrics, DiskStore store) {
    this.vertx = vertx;
    this.metrics = metrics;
    this.store = store;
  }

  public Future<Integer> listen(String host, int port) {
    Router router = Router.router(vertx);
    router.get("/health").handler(rc -> rc.response().putHeader("content-type", "text/plain").end("ok\n"));
    router.get("/stats").handler(rc -> rc.response().putHeader("content-type", "application/json").end(metrics.toJson() + "\n"));
    router.get("/metrics").handler(rc -> rc.response().putHeader("content-type", "text/plain; version=0.0.4").end(metrics.toPrometheus()));
    router.route(HttpMethod.POST, "/purge").handler(this::purge);
    router.route(HttpMethod.valueOf("PURGE"), "/purge").handler(this::purge);
    return vertx.createHttpServer().requestHandler(router).listen(port, host).map(s -> {
      server = s;
      return s.actualPort();
    });
  }

  private void purge(RoutingContext rc) {
    String url = rc.request().getParam("url");
    if (url == null || store == null) {
      rc.response().setStatusCode(400).putHeader("content-type", "application/json")
          .end(new JsonObject().put("error", store == null ? "cache disabled" : "missing url parameter (absolute URL)").encode() + "\n");
      return;
    }
    URI uri;
    try {
      uri = URI.create(url);
      if (uri.getScheme() == null || uri.getRawAuthority() == null) {
        throw new IllegalArgumentException("not absolute");
      }
    } catch (IllegalArgumentException e) {
      rc.response().setStatusCode(400).putHeader("content-type", "application/json")
          .end(new JsonObject().put("error", "url: " + url + " (expected: an absolute http URL)").encode() + "\n");
      return;
    }
    String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
    if (uri.getRawQuery() != null) {
      path += "?" + uri.getRawQuery();
    }
    String key = CacheKey.primaryOf(uri.getScheme().toLowerCase(Locale.ROOT), uri.getRawAuthority(), path);
    int removed = store.invalidate(key);
    rc.response().putHeader("content-type", "application/json")
        .end(new JsonObject().put("purged", removed).put("key", key).encode() + "\n");
  }

  public Future<Void> close() {
    return server == null ? Future.succeededFuture() : server.close();
  }
}
