package dev.zcproxy.proxy.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.RequestOptions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link OriginRequestHeaders} on a real Vert.x client and server over loopback: the map handed over is the request's
 * own (no copy) and the server receives its fields in order; where it cannot be handed over (the request already has
 * a map) the fields are added to the request's map and the server receives the same.
 */
class OriginRequestHeadersTest {
  private Vertx vertx;
  private HttpClient client;
  private int port;
  private final CompletableFuture<List<String>> received = new CompletableFuture<>();

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    HttpServer server = vertx.createHttpServer().requestHandler(req -> {
      received.complete(lines(req.headers()));
      req.response().end("ok");
    });
    port = server.listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS).actualPort();
    client = vertx.createHttpClient();
  }

  @AfterEach
  void stop() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  private static List<String> lines(MultiMap m) {
    List<String> out = new java.util.ArrayList<>();
    for (Map.Entry<String, String> e : m) {
      out.add(e.getKey() + ": " + e.getValue());
    }
    return out;
  }

  private static MultiMap fields() {
    return HttpHeaders.headers()
        .add("host", "a.example")
        .add("x-b", "2")
        .add("accept", "one")
        .add("accept", "two")
        .add("x-a", "1");
  }

  /** Sends a GET whose request is made without headers, then given {@code headers} by {@code give}. */
  private boolean send(MultiMap headers, BiFunction<HttpClientRequest, MultiMap, Boolean> give) throws Exception {
    CompletableFuture<Boolean> given = new CompletableFuture<>();
    client.request(new RequestOptions().setMethod(HttpMethod.GET).setHost("127.0.0.1").setPort(port).setURI("/x"))
        .compose(req -> {
          boolean handed = give.apply(req, headers);
          given.complete(handed && req.headers() == headers);
          return req.send();
        })
        .compose(resp -> resp.body())
        .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    return given.get(10, TimeUnit.SECONDS);
  }

  @Test
  void theMapIsHandedOverAndItsFieldsGoOutInOrder() throws Exception {
    assertThat(OriginRequestHeaders.whyUnavailable()).as("the request's header field of this Vert.x").isNull();
    MultiMap headers = fields();
    assertThat(send(headers, OriginRequestHeaders::give)).as("the request's own map").isTrue();
    assertThat(received.get(10, TimeUnit.SECONDS)).containsExactlyElementsOf(lines(fields()));
  }

  @Test
  void aRequestThatHasAMapAlreadyGetsTheFieldsAdded() throws Exception {
    MultiMap headers = fields();
    boolean handed = send(headers, (req, h) -> {
      req.headers(); // Vert.x makes the request's map on first use: nothing can be handed over after that
      boolean r = OriginRequestHeaders.give(req, h);
      assertThat(r).isFalse();
      assertThat(req.headers()).isNotSameAs(h);
      return r;
    });
    assertThat(handed).isFalse();
    assertThat(received.get(10, TimeUnit.SECONDS)).containsExactlyElementsOf(lines(fields()));
  }
}
