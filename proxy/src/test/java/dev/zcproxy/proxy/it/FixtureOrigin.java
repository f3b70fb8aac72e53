package dev.zcproxy.proxy.it;

import io.vertx.core.Handler;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** A real origin on 127.0.0.1 (port 0) whose routes the test programs and whose requests it counts. */
final class FixtureOrigin implements AutoCloseable {
  private final Vertx vertx = Vertx.vertx();
  private final Map<String, Handler<HttpServerRequest>> routes = new ConcurrentHashMap<>();
  private final Map<String, AtomicInteger> counts = new ConcurrentHashMap<>();
  private final List<MultiMap> requestHeaders = new CopyOnWriteArrayList<>();
  private final AtomicInteger total = new AtomicInteger();
  private final HttpServer server;

  private FixtureOrigin() throws Exception {
    server = vertx.createHttpServer().requestHandler(req -> {
      total.incrementAndGet();
      counts.computeIfAbsent(req.path(), p -> new AtomicInteger()).incrementAndGet();
      requestHeaders.add(MultiMap.caseInsensitiveMultiMap().addAll(req.headers()));
      Handler<HttpServerRequest> h = routes.get(req.path());
      if (h == null) {
        req.response().setStatusCode(404).putHeader(HttpHeaders.CONTENT_TYPE, "text/plain").end("no route " + req.path());
        return;
      }
      h.handle(req);
    }).listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  static FixtureOrigin start() throws Exception {
    return new FixtureOrigin();
  }

  int port() {
    return server.actualPort();
  }

  String url() {
    return "http://127.0.0.1:" + port();
  }

  FixtureOrigin route(String path, Handler<HttpServerRequest> handler) {
    routes.put(path, handler);
    return this;
  }

  /** Serves {@code body} at {@code path} with the given header name/value pairs. */
  FixtureOrigin serve(String path, byte[] body, String... headers) {
    return route(path, req -> {
      var resp = req.response();
      for (int i = 0; i < headers.length; i += 2) {
        resp.putHeader(headers[i], headers[i + 1]);
      }
      resp.end(io.vertx.core.buffer.Buffer.buffer(body));
    });
  }

  /**
   * Serves {@code body} at {@code path} with a Content-Length and the given header name/value pairs, written in
   * 1 MiB pieces every {@code everyMs} milliseconds: a fill that stays under way while clients join it.
   */
  FixtureOrigin trickle(String path, byte[] body, long everyMs, String... headers) {
    return route(path, req -> {
      var resp = req.response().putHeader("Content-Length", Integer.toString(body.length));
      for (int i = 0; i < headers.length; i += 2) {
        resp.putHeader(headers[i], headers[i + 1]);
      }
      int[] off = {0};
      vertx.setPeriodic(everyMs, id -> {
        int len = Math.min(1 << 20, body.length - off[0]);
        resp.write(io.vertx.core.buffer.Buffer.buffer(java.util.Arrays.copyOfRange(body, off[0], off[0] + len)));
        off[0] += len;
        if (off[0] >= body.length) {
          vertx.cancelTimer(id);
          resp.end();
        }
      });
    });
  }

  int requests(String path) {
    AtomicInteger c = counts.get(path);
    return c == null ? 0 : c.get();
  }

  int totalRequests() {
    return total.get();
  }

  MultiMap lastRequestHeaders() {
    return requestHeaders.isEmpty() ? null : requestHeaders.get(requestHeaders.size() - 1);
  }

  Vertx vertx() {
    return vertx;
  }

  @Override
  public void close() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }
}
