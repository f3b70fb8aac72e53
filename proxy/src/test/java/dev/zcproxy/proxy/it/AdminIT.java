package dev.zcproxy.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Who may purge: the admin listener wants a bearer token for anything but reads and refuses browser
 * pages of other origins; by default the data port never evicts for a PURGE or an unknown method. Each test
 * asserts what the client got and, by counting origin requests, whether the entry survived.
 */
class AdminIT extends OriginAndProxy {
  private static final String TOKEN = "test-admin-token-0123456789";

  @BeforeEach
  void start() throws Exception {
    // Answers 200 to every method, as many applications do: the worst case for invalidation.
    origin.route("/p", req -> req.response().putHeader("Cache-Control", "max-age=600").end("body of /p"));
  }

  private void storeP() throws Exception {
    proxy.get("/p");
    proxy.server.metrics().whenStored(1).get(20, TimeUnit.SECONDS);
    assertThat(proxy.get("/p").headers().firstValue("x-cache")).hasValue("HIT");
  }

  /** Whether /p is still served from the cache (one more origin request if not). */
  private boolean stillCached() throws Exception {
    int before = origin.requests("/p");
    proxy.get("/p");
    return origin.requests("/p") == before;
  }

  private HttpResponse<String> admin(String method, String path, String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.server.adminPort() + path))
        .method(method, HttpRequest.BodyPublishers.noBody());
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return proxy.client.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private String purgeP() {
    return "/purge?url=http://127.0.0.1:" + proxy.server.port() + "/p";
  }

  @Test
  void withoutATokenPurgeIsRefusedNamingTheKeyAndReadsStayOpen() throws Exception {
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    storeP();
    HttpResponse<String> r = admin("POST", purgeP());
    assertThat(r.statusCode()).isEqualTo(403);
    assertThat(r.headers().firstValue("content-type")).hasValue("application/json");
    assertThat(r.body()).contains("\"error\"", "admin.token", "ZCPROXY_ADMIN_TOKEN");
    assertThat(admin("PURGE", purgeP()).statusCode()).isEqualTo(403);
    assertThat(stillCached()).isTrue();
    assertThat(admin("GET", "/health").statusCode()).isEqualTo(200);
    assertThat(admin("GET", "/stats").statusCode()).isEqualTo(200);
    assertThat(admin("GET", "/metrics").statusCode()).isEqualTo(200);
    assertThat(proxy.server.startupLine()).contains("no admin token", "admin.token", "ZCPROXY_ADMIN_TOKEN");
  }

  @Test
  void purgeNeedsTheRightBearerToken() throws Exception {
    proxy = ProxyFixture.start(origin.url(), cacheDir, "admin.token: " + TOKEN);
    storeP();
    HttpResponse<String> none = admin("POST", purgeP());
    assertThat(none.statusCode()).isEqualTo(401);
    assertThat(none.headers().firstValue("www-authenticate")).hasValueSatisfying(v -> assertThat(v).startsWith("Bearer"));
    assertThat(none.body()).contains("\"error\"");
    HttpResponse<String> wrong = admin("POST", purgeP(), "Authorization", "Bearer " + TOKEN + "x");
    assertThat(wrong.statusCode()).isEqualTo(401);
    assertThat(wrong.body()).doesNotContain(TOKEN);
    assertThat(admin("POST", purgeP(), "Authorization", "Basic " + TOKEN).statusCode()).isEqualTo(401);
    assertThat(stillCached()).isTrue();
    assertThat(proxy.server.startupLine()).contains("purge needs the admin token").doesNotContain(TOKEN);

    HttpResponse<String> ok = admin("POST", purgeP(), "Authorization", "Bearer " + TOKEN);
    assertThat(ok.statusCode()).isEqualTo(200);
    assertThat(ok.body()).contains("\"purged\":1");
    assertThat(stillCached()).isFalse();
  }

  @Test
  void aBrowserPageOfAnotherOriginCannotPurgeEvenWithTheToken() throws Exception {
    proxy = ProxyFixture.start(origin.url(), cacheDir, "admin.token: " + TOKEN);
    storeP();
    // What a form POST from a hostile page looks like (it cannot add Authorization; assume the worst).
    HttpResponse<String> form = admin("POST", purgeP(), "Origin", "http://evil.example", "Sec-Fetch-Site", "cross-site",
        "Content-Type", "application/x-www-form-urlencoded", "Authorization", "Bearer " + TOKEN);
    assertThat(form.statusCode()).isEqualTo(403);
    assertThat(form.body()).contains("cross-origin");
    HttpResponse<String> sameSite = admin("POST", purgeP(), "Origin", "http://127.0.0.1:3000", "Sec-Fetch-Site", "same-site",
        "Authorization", "Bearer " + TOKEN);
    assertThat(sameSite.statusCode()).isEqualTo(403);
    assertThat(stillCached()).isTrue();
    // The listener's own page may.
    HttpResponse<String> own = admin("POST", purgeP(), "Origin", "http://127.0.0.1:" + proxy.server.adminPort(),
        "Sec-Fetch-Site", "same-origin", "Authorization", "Bearer " + TOKEN);
    assertThat(own.statusCode()).isEqualTo(200);
    assertThat(stillCached()).isFalse();
  }

  @Test
  void unknownAdminPathsAndMethodsAnswerJson() throws Exception {
    proxy = ProxyFixture.start(origin.url(), cacheDir, "admin.token: " + TOKEN);
    HttpResponse<String> missing = admin("GET", "/nope");
    assertThat(missing.statusCode()).isEqualTo(404);
    assertThat(missing.body()).contains("\"error\"");
    HttpResponse<String> put = admin("PUT", "/purge?url=http://x/", "Authorization", "Bearer " + TOKEN);
    assertThat(put.statusCode()).isEqualTo(405);
    assertThat(put.body()).contains("\"error\"");
  }

  @ParameterizedTest
  @ValueSource(strings = {"PURGE", "BAN", "FOO"})
  void aPurgeOrUnknownMethodOnTheDataPortNeverEvicts(String method) throws Exception {
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    storeP();
    int before = origin.requests("/p");
    HttpResponse<byte[]> r = proxy.send(method, "/p");
    assertThat(r.statusCode()).as("forwarded, and the origin said 200").isEqualTo(200);
    assertThat(origin.requests("/p")).isEqualTo(before + 1);
    assertThat(stillCached()).isTrue();
  }

  @Test
  void aPostOnTheDataPortStillInvalidates_9111_4_4() throws Exception {
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    storeP();
    assertThat(proxy.send("POST", "/p").statusCode()).isEqualTo(200);
    assertThat(stillCached()).isFalse();
  }

  @ParameterizedTest
  @ValueSource(strings = {"PURGE", "M-SEARCH", "FOO"})
  void withAnyUnsafeAnUnknownMethodTheOriginAnswers2xxEvicts_9111_4_4(String method) throws Exception {
    proxy = ProxyFixture.start(origin.url(), cacheDir, "cache.invalidate-methods: any-unsafe");
    storeP();
    int before = origin.requests("/p");
    assertThat(proxy.send(method, "/p").statusCode()).as("forwarded, and the origin said 200").isEqualTo(200);
    assertThat(origin.requests("/p")).isEqualTo(before + 1);
    assertThat(stillCached()).as("evicted by " + method).isFalse();
  }

  @Test
  void withAnyUnsafeASafeMethodStillNeverEvicts() throws Exception {
    proxy = ProxyFixture.start(origin.url(), cacheDir, "cache.invalidate-methods: any-unsafe");
    storeP();
    int before = origin.requests("/p");
    assertThat(proxy.send("OPTIONS", "/p").statusCode()).isEqualTo(200);
    assertThat(origin.requests("/p")).isEqualTo(before + 1);
    assertThat(stillCached()).isTrue();
  }
}
