package dev.zcproxy.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.CacheOutcome;
import dev.zcproxy.proxy.transfer.TransferMode;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpVersion;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * HTTP/2 with prior knowledge (h2c, {@code listen.http2-cleartext}) on the plain listener: curl and the
 * Vert.x client get a miss then a hit with one origin request, concurrent streams are coalesced, and
 * HTTP/1.1 clients of the same listener still meet the strict decoder, the head timer and the half-close
 * hook on their very first request (what Vert.x's own h2c detection broke). The full HTTP/1 suites run
 * with h2c on by {@code -Dzcproxy.it.h2c=true}.
 */
class H2cIT extends OriginAndProxy {
  private static final byte[] BODY = "h2c body, cached once".getBytes(StandardCharsets.UTF_8);
  TlsClients clients;

  /** Errors Vert.x logs for exceptions the handler let escape on an event loop. */
  ListAppender<ILoggingEvent> unhandled;
  Logger contextLogger;

  @BeforeEach
  void makeClients() {
    clients = new TlsClients();
    contextLogger = (Logger) LoggerFactory.getLogger("io.vertx.core.impl.ContextImpl");
    unhandled = new ListAppender<>();
    unhandled.start();
    contextLogger.addAppender(unhandled);
  }

  @AfterEach
  void closeClients() throws Exception {
    contextLogger.detachAppender(unhandled);
    clients.close();
  }

  private List<String> unhandledErrors() {
    return unhandled.list.stream().map(e -> e.getFormattedMessage() + ": "
        + (e.getThrowableProxy() == null ? "" : e.getThrowableProxy().getMessage())).toList();
  }

  private HttpClient priorKnowledge() {
    return clients.vertx.createHttpClient(new HttpClientOptions().setProtocolVersion(HttpVersion.HTTP_2)
        .setHttp2ClearTextUpgrade(false).setConnectTimeout(5000));
  }

  @Test
  void curlWithPriorKnowledgeGetsMissThenHit() throws Exception {
    Assumptions.assumeTrue(Http2IT.curlHasHttp2(), "curl with HTTP/2 support not installed");
    origin.serve("/c", BODY, "Cache-Control", "max-age=600");
    proxy = ProxyFixture.start(origin.url(), cacheDir, "listen.http2-cleartext: true");
    List<String> args = List.of("--http2-prior-knowledge", proxy.url("/c"));
    String miss = Http2IT.curl(args);
    assertThat(miss).startsWith("HTTP/2 200").contains("x-cache: miss").endsWith(new String(BODY, StandardCharsets.UTF_8));
    proxy.server.metrics().whenStored(1).get(20, TimeUnit.SECONDS);
    proxy.server.metrics().whenRamLoaded(1).get(10, TimeUnit.SECONDS); // the small body is kept from its fill
    String hit = Http2IT.curl(args);
    assertThat(hit).startsWith("HTTP/2 200").contains("x-cache: hit").endsWith(new String(BODY, StandardCharsets.UTF_8));
    assertThat(origin.requests("/c")).isEqualTo(1);
    proxy.server.metrics().whenResponses(CacheOutcome.HIT, 1).get(10, TimeUnit.SECONDS);
    // the miss copied into frames; the hit from the RAM tier (its body kept from the fill), framed the same way
    assertThat(proxy.server.metrics().responses(TransferMode.COPY_H2)).isEqualTo(1);
    assertThat(proxy.server.metrics().responses(TransferMode.RAM)).isEqualTo(1);
    assertThat(proxy.server.startupLine()).contains("h2c + http/1.1");
    // an HTTP/1.1 client of the same listener, after the h2c ones: the same object by sendfile
    assertThat(Http2IT.curl(List.of("--http1.1", proxy.url("/c")))).startsWith("HTTP/1.1 200").contains("x-cache: hit");
    assertThat(origin.requests("/c")).isEqualTo(1);
    assertThat(proxy.server.openClientConnections()).isLessThanOrEqualTo(1); // curl's connections are given back
  }

  @Test
  void vertxPriorKnowledgeClientGetsMissThenHitAndConcurrentStreamsAreCoalesced() throws Exception {
    origin.serve("/h", BODY, "Cache-Control", "max-age=600");
    CountDownLatch release = new CountDownLatch(1);
    CountDownLatch arrived = new CountDownLatch(1);
    origin.route("/slow", req -> {
      arrived.countDown();
      clients.vertx.executeBlocking(() -> release.await(20, TimeUnit.SECONDS)).onComplete(x ->
          req.response().putHeader("cache-control", "max-age=600").end("slow body"));
    });
    proxy = ProxyFixture.start(origin.url(), cacheDir, "listen.http2-cleartext: true");
    HttpClient c = priorKnowledge();
    int port = proxy.server.port();
    TlsClients.Got miss = TlsClients.get(c, port, "example.test", "/h");
    assertThat(miss.version()).isEqualTo(HttpVersion.HTTP_2);
    assertThat(miss.header("x-cache")).isEqualTo("MISS");
    // the whole head from the fill, as on HTTP/1.1 (a second resume() of the ended HTTP/2 request threw
    // before it was written, and the body went out with a default head)
    assertThat(miss.header("content-length")).isEqualTo(Integer.toString(BODY.length));
    proxy.server.metrics().whenStored(1).get(20, TimeUnit.SECONDS);
    TlsClients.Got hit = TlsClients.get(c, port, "example.test", "/h");
    assertThat(hit.version()).isEqualTo(HttpVersion.HTTP_2);
    assertThat(hit.header("x-cache")).isEqualTo("HIT");
    assertThat(hit.body().getBytes()).isEqualTo(BODY);
    assertThat(origin.requests("/h")).isEqualTo(1);

    List<CompletableFuture<TlsClients.Got>> got = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      got.add(CompletableFuture.supplyAsync(() -> {
        try {
          return TlsClients.get(c, port, "example.test", "/slow");
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      }));
    }
    assertThat(arrived.await(20, TimeUnit.SECONDS)).isTrue();
    proxy.server.metrics().whenCollapsed(4).get(30, TimeUnit.SECONDS);
    release.countDown();
    for (var f : got) {
      TlsClients.Got g = f.get(30, TimeUnit.SECONDS);
      assertThat(g.status()).isEqualTo(200);
      assertThat(g.version()).isEqualTo(HttpVersion.HTTP_2);
      assertThat(g.body().toString()).isEqualTo("slow body");
    }
    assertThat(origin.requests("/slow")).isEqualTo(1);
    // a reader of a fill resumed its ended HTTP/2 request a second time: Vert.x threw, and the rest of the
    // response set-up (Content-Length, 304 for a conditional, the reader's start) was skipped
    assertThat(unhandledErrors()).isEmpty();
  }

  @Test
  void theFirstHttp11RequestOfAConnectionStillMeetsTheStrictDecoder() throws Exception {
    proxy = ProxyFixture.start(origin.url(), cacheDir, "listen.http2-cleartext: true");
    // CL.TE: Netty alone drops the Content-Length and reads a second request from the body
    String got = exchange("POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        + "GET /attacker HTTP/1.1\r\nHost: h\r\n\r\n");
    assertThat(got).startsWith("HTTP/1.1 400 ");
    assertThat(got.split("HTTP/1\\.1 ", -1)).hasSize(2); // one response: nothing behind it was parsed
    assertThat(origin.requests("/attacker")).isZero();
    assertThat(origin.requests("/a")).isZero();
  }

  @Test
  void aPostWhoseFirstByteLooksLikeThePrefaceIsHttp11() throws Exception {
    origin.route("/p", req -> req.body().onSuccess(b -> req.response().end("got " + b)));
    proxy = ProxyFixture.start(origin.url(), cacheDir, "listen.http2-cleartext: true");
    try (Socket s = new Socket("127.0.0.1", proxy.server.port())) {
      s.setSoTimeout(10_000);
      s.setTcpNoDelay(true);
      // "P" and "PR" match the preface: the detector holds them until a byte decides
      s.getOutputStream().write("P".getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
      s.getOutputStream().write("OST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi"
          .getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
      String got = SlowUploadIT.readToClose(s);
      assertThat(got).startsWith("HTTP/1.1 200 ").endsWith("got hi");
    }
    assertThat(origin.requests("/p")).isEqualTo(1);
  }

  @Test
  void aSlowFirstHeadStillGets408() throws Exception {
    proxy = ProxyFixture.start(origin.url(), cacheDir, "listen.http2-cleartext: true", "listen.request-head-timeout: 300ms",
        "listen.idle-timeout: 60s");
    try (Socket s = new Socket("127.0.0.1", proxy.server.port())) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write("GET /slow HTTP/1.1\r\nHost: h\r\n".getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
      assertThat(SlowUploadIT.readToClose(s)).startsWith("HTTP/1.1 408 ").doesNotContain("<<timeout");
    }
    assertThat(origin.requests("/slow")).isZero();
  }

  @Test
  void aHalfClosedHttp11ClientGetsItsAnswer() throws Exception {
    origin.serve("/h", BODY, "Cache-Control", "max-age=600");
    proxy = ProxyFixture.start(origin.url(), cacheDir, "listen.http2-cleartext: true");
    String got = HalfCloseIT.halfClosed(proxy.server.port(), "GET /h HTTP/1.1\r\nHost: example.test\r\n\r\n");
    assertThat(got).startsWith("HTTP/1.1 200").endsWith(new String(BODY, StandardCharsets.UTF_8));
    assertThat(origin.requests("/h")).isEqualTo(1);
  }

  @Test
  void withoutTheKeyThePrefaceIsNotHttp2() throws Exception {
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    Assumptions.assumeFalse(Boolean.getBoolean("zcproxy.it.h2c"), "h2c forced on for every IT");
    String got = exchange(new String(PREFACE, StandardCharsets.US_ASCII));
    assertThat(got).doesNotContain(" 200 ");
    assertThat(proxy.server.startupLine()).contains("http/1.1, hits by").doesNotContain("h2c");
  }

  private static final byte[] PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

  private String exchange(String raw) throws Exception {
    try (Socket s = new Socket("127.0.0.1", proxy.server.port())) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write(raw.getBytes(StandardCharsets.ISO_8859_1));
      s.getOutputStream().flush();
      return SlowUploadIT.readToClose(s);
    }
  }
}
