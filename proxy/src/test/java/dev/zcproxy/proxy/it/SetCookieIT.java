package dev.zcproxy.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.http.HttpServerResponse;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A response that sets a cookie is one client's: with the default ({@code cache.set-cookie: pass}) no
 * other client ever gets it; {@code strip} shares the body without the cookie; {@code store} is RFC
 * 9111 as written. The origin mints a new session per request, so a shared cookie shows at once.
 */
class SetCookieIT extends OriginAndProxy {
  final AtomicInteger sessions = new AtomicInteger();
  /** When set, the first request's response waits here until the test completes it. */
  volatile CompletableFuture<HttpServerResponse> held;

  @BeforeEach
  void start() throws Exception {
    origin.route("/c", req -> {
      int n = sessions.incrementAndGet();
      HttpServerResponse resp = req.response().putHeader("Cache-Control", "max-age=600")
          .putHeader("Set-Cookie", "session=" + n + "; HttpOnly").putHeader("Content-Type", "text/plain");
      CompletableFuture<HttpServerResponse> h = held;
      if (n == 1 && h != null) {
        h.complete(resp);
        return;
      }
      resp.end("shared body");
    });
  }

  private static String cookie(HttpResponse<?> r) {
    return r.headers().firstValue("set-cookie").orElse(null);
  }

  /** Two clients at once: the second joins the first one's fetch before the origin answered. */
  private HttpResponse<byte[]>[] twoConcurrentClients() throws Exception {
    held = new CompletableFuture<>();
    HttpRequest get = HttpRequest.newBuilder(URI.create(proxy.url("/c"))).build();
    CompletableFuture<HttpResponse<byte[]>> first = proxy.client.sendAsync(get, HttpResponse.BodyHandlers.ofByteArray());
    HttpServerResponse originResponse = held.get(20, TimeUnit.SECONDS);
    java.net.http.HttpClient other = java.net.http.HttpClient.newBuilder().version(java.net.http.HttpClient.Version.HTTP_1_1).build();
    CompletableFuture<HttpResponse<byte[]>> second = other.sendAsync(get, HttpResponse.BodyHandlers.ofByteArray());
    proxy.server.metrics().whenCollapsed(1).get(20, TimeUnit.SECONDS);
    originResponse.end("shared body");
    @SuppressWarnings("unchecked")
    HttpResponse<byte[]>[] both = new HttpResponse[] {first.get(20, TimeUnit.SECONDS), second.get(20, TimeUnit.SECONDS)};
    return both;
  }

  @Test
  void byDefaultEachClientGetsOnlyItsOwnCookie() throws Exception {
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    HttpResponse<byte[]> a = proxy.get("/c");
    HttpResponse<byte[]> b = proxy.get("/c");
    assertThat(cookie(a)).isEqualTo("session=1; HttpOnly");
    assertThat(cookie(b)).isEqualTo("session=2; HttpOnly");
    assertThat(origin.requests("/c")).isEqualTo(2);
    assertThat(a.headers().firstValue("cache-status").orElse("")).contains("detail=set-cookie");
    assertThat(proxy.server.store().entryCount()).isZero();
  }

  @Test
  void byDefaultACoalescedClientDoesNotGetTheFirstClientsCookie() throws Exception {
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    HttpResponse<byte[]>[] r = twoConcurrentClients();
    assertThat(cookie(r[0])).isEqualTo("session=1; HttpOnly");
    assertThat(cookie(r[1])).isEqualTo("session=2; HttpOnly");
    assertThat(new String(r[1].body())).isEqualTo("shared body");
    assertThat(origin.requests("/c")).isEqualTo(2);
    assertThat(proxy.server.store().entryCount()).isZero();
  }

  @Test
  void byDefaultAResponseWithoutACookieIsStoredEvenRightAfterOneWithACookie() throws Exception {
    // The usual origin: a cookie for a visitor without one, the same page without Set-Cookie otherwise.
    origin.route("/visit", req -> {
      var resp = req.response().putHeader("Cache-Control", "max-age=600");
      if (req.getHeader("Cookie") == null) {
        resp.putHeader("Set-Cookie", "visitor=" + sessions.incrementAndGet());
      }
      resp.end("page");
    });
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    assertThat(cookie(proxy.get("/visit"))).isEqualTo("visitor=1");
    assertThat(cookie(proxy.get("/visit", "Cookie", "visitor=1"))).isNull();
    proxy.server.metrics().whenStored(1).get(20, TimeUnit.SECONDS);
    HttpResponse<byte[]> hit = proxy.get("/visit", "Cookie", "visitor=7");
    assertThat(hit.headers().firstValue("x-cache")).hasValue("HIT");
    assertThat(cookie(hit)).isNull();
    assertThat(origin.requests("/visit")).isEqualTo(2);
  }

  @Test
  void stripSharesTheBodyButTheCookieOnlyWithTheClientWhoseRequestFetchedIt() throws Exception {
    proxy = ProxyFixture.start(origin.url(), cacheDir, "cache.set-cookie: strip");
    HttpResponse<byte[]>[] r = twoConcurrentClients();
    assertThat(cookie(r[0])).isEqualTo("session=1; HttpOnly");
    assertThat(cookie(r[1])).as("collapsed onto the first fetch").isNull();
    assertThat(new String(r[1].body())).isEqualTo("shared body");
    proxy.server.metrics().whenStored(1).get(20, TimeUnit.SECONDS);
    HttpResponse<byte[]> hit = proxy.get("/c");
    assertThat(hit.headers().firstValue("x-cache")).hasValue("HIT");
    assertThat(cookie(hit)).isNull();
    assertThat(new String(hit.body())).isEqualTo("shared body");
    assertThat(origin.requests("/c")).isEqualTo(1);
  }

  @Test
  void storeSharesTheCookieAsRfc9111Allows() throws Exception {
    proxy = ProxyFixture.start(origin.url(), cacheDir, "cache.set-cookie: store");
    proxy.get("/c");
    proxy.server.metrics().whenStored(1).get(20, TimeUnit.SECONDS);
    HttpResponse<byte[]> hit = proxy.get("/c");
    assertThat(hit.headers().firstValue("x-cache")).hasValue("HIT");
    assertThat(cookie(hit)).isEqualTo("session=1; HttpOnly");
    assertThat(origin.requests("/c")).isEqualTo(1);
  }
}
