package dev.zcproxy.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.slf4j.LoggerFactory;

/**
 * Hostile request framing and heads, sent as raw bytes: for each vector, what the client got, what a
 * real origin (a plain-socket one that frames by Content-Length, as many do) received, and what the
 * cache holds afterwards. Every rejected request is answered once, closes the connection, reaches
 * neither the origin nor the cache, and is written to the access log exactly once.
 */
class RequestSmugglingIT {
  @TempDir
  Path cacheDir;
  RecordingOrigin origin;
  ProxyFixture proxy;
  ListAppender<ILoggingEvent> access;
  Logger accessLogger;

  @BeforeEach
  void start() throws Exception {
    origin = RecordingOrigin.start();
    accessLogger = (Logger) LoggerFactory.getLogger("zcproxy.access");
    access = new ListAppender<>();
    access.start();
    accessLogger.addAppender(access);
    accessLogger.setLevel(ch.qos.logback.classic.Level.INFO);
  }

  void startProxy(String... extra) throws Exception {
    String[] all = Stream.concat(Stream.of("logging.access-log: stdout", "listen.max-header-size: 4KiB",
        "listen.max-initial-line: 2KiB"), Stream.of(extra)).toArray(String[]::new);
    proxy = ProxyFixture.start(origin.url(), cacheDir, all);
  }

  @AfterEach
  void stop() throws Exception {
    accessLogger.detachAppender(access);
    if (proxy != null) {
      proxy.close();
    }
    origin.close();
  }

  /** Sends raw bytes and reads until the proxy closes the connection (or 10 s pass). */
  String exchange(String raw) throws Exception {
    try (Socket s = new Socket("127.0.0.1", proxy.server.port())) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write(raw.getBytes(StandardCharsets.ISO_8859_1));
      s.getOutputStream().flush();
      return SlowUploadIT.readToClose(s); // "<<timeout>>" at the end when the connection was left open
    }
  }

  static int responses(String raw) {
    Matcher m = Pattern.compile("(?m)^HTTP/1\\.[01] \\d{3} ").matcher(raw);
    int n = 0;
    while (m.find()) {
      n++;
    }
    return n;
  }

  List<String> accessLines() {
    return access.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
  }

  /** The rejected request got exactly one response with {@code status}, the connection closed, nothing else happened. */
  void assertRejected(String response, int status) {
    // A request line that cannot be parsed has no version: Netty answers those in HTTP/1.0.
    assertThat(response).as("the client's answer").matches("(?s)HTTP/1\\.[01] " + status + " .*");
    assertThat(responses(response)).as("one response only, nothing pipelined behind it ran").isEqualTo(1);
    assertThat(response.toLowerCase(java.util.Locale.ROOT)).contains("connection: close").doesNotContain("<<timeout");
    assertThat(origin.requests()).as("what the origin received").isEmpty();
    assertThat(proxy.server.store().entryCount()).as("what the cache holds").isZero();
    assertThat(accessLines()).as("one access-log line").hasSize(1);
    assertThat(accessLines().get(0)).contains("\" " + status + " ");
  }

  /** The clean request after an attack is answered for itself, from a clean origin exchange. */
  void assertNextClientClean() throws Exception {
    String r = exchange("GET /victim HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    assertThat(r).startsWith("HTTP/1.1 200 ").endsWith("origin saw /victim via h");
    assertThat(origin.requests()).extracting(RecordingOrigin.Seen::requestLine).containsExactly("GET /victim HTTP/1.1");
    assertThat(proxy.server.store().variants("http://h/attacker")).isEmpty();
  }

  // ---------------------------------------------------------------- finding 1

  @Test
  void theIssuesHttp10ChunkedWithContentLengthNeverReachesTheOriginAsTwoRequests() throws Exception {
    startProxy();
    String attack = "POST /a HTTP/1.0\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n"
        + "43\r\nGET /attacker HTTP/1.1\r\nHost: h\r\n\r\n\r\n0\r\n\r\n";
    String r = exchange(attack);
    assertThat(r).as("the client's answer").startsWith("HTTP/1.0 400 ").containsIgnoringCase("connection: close");
    assertThat(responses(r)).isEqualTo(1);
    assertThat(origin.requests()).isEmpty();
    assertThat(proxy.server.store().entryCount()).isZero();
    assertThat(accessLines()).hasSize(1);
    assertThat(accessLines().get(0)).contains("\"POST /a HTTP/1.0\" 400 ");
    assertNextClientClean();
  }

  @Test
  void aChunkedBodyReachesTheOriginReframedWithItsOwnContentLength() throws Exception {
    startProxy();
    String r = exchange("POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        + "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n");
    assertThat(r).startsWith("HTTP/1.1 200 ").endsWith("origin saw /a via h");
    assertThat(origin.requests()).hasSize(1);
    RecordingOrigin.Seen seen = origin.requests().get(0);
    assertThat(seen.header("content-length")).isEqualTo("11");
    assertThat(seen.header("transfer-encoding")).isNull();
    assertThat(seen.bodyText()).isEqualTo("hello world");
    assertThat(proxy.server.store().entryCount()).isZero();
  }

  @Test
  void aContentLengthBodyIsForwardedWithTheLengthTheProxyRead() throws Exception {
    startProxy();
    String r = exchange("POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 005\r\nConnection: close\r\n\r\nhello");
    assertThat(r).startsWith("HTTP/1.1 200 ");
    RecordingOrigin.Seen seen = origin.requests().get(0);
    assertThat(seen.header("content-length")).isEqualTo("5");
    assertThat(seen.bodyText()).isEqualTo("hello");
  }

  @Test
  void aDeclaredEmptyBodyIsForwardedAsContentLengthZeroAndABodylessGetWithNone() throws Exception {
    startProxy();
    exchange("POST /e HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    exchange("GET /g HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    assertThat(origin.requests()).hasSize(2);
    assertThat(origin.requests().get(0).header("content-length")).isEqualTo("0");
    assertThat(origin.requests().get(1).header("content-length")).isNull();
    assertThat(origin.requests().get(1).header("transfer-encoding")).isNull();
  }

  // ---------------------------------------------------------------- finding 2: framing

  static Stream<Arguments> badFraming() {
    String smuggled = "GET /attacker HTTP/1.1\r\nHost: h\r\n\r\n";
    return Stream.of(
        Arguments.of("CL.TE on 1.1", "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled, 400),
        Arguments.of("TE.CL on 1.1", "POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"
            + Integer.toHexString(smuggled.length()) + "\r\n" + smuggled + "\r\n0\r\n\r\n", 400),
        Arguments.of("TE on HTTP/1.0", "POST /a HTTP/1.0\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled, 400),
        Arguments.of("xchunked", "POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: xchunked\r\n\r\n" + smuggled, 501),
        Arguments.of("gzip alone", "POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n" + smuggled, 400),
        Arguments.of("chunked, identity", "POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n" + smuggled, 400),
        Arguments.of("two TE fields", "POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled, 400),
        Arguments.of("TE over obs-fold", "POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n" + smuggled, 400),
        Arguments.of("TE space before colon", "POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n" + smuggled, 400),
        Arguments.of("TE with vertical tab", "POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\u000b\r\n\r\n0\r\n\r\n" + smuggled, 400),
        Arguments.of("chunk size overflow", "POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n\r\n" + smuggled, 400),
        Arguments.of("invalid chunk size", "POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n" + smuggled, 400),
        Arguments.of("CL +5", "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\nhello" + smuggled, 400),
        Arguments.of("CL 5, 6", "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 6\r\n\r\nhello" + smuggled, 400),
        Arguments.of("two differing CLs", "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello " + smuggled, 400),
        Arguments.of("CL not a number", "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5x\r\n\r\nhello" + smuggled, 400),
        Arguments.of("two Host fields", "GET /a HTTP/1.1\r\nHost: h\r\nHost: evil\r\n\r\n" + smuggled, 400),
        Arguments.of("Host a, b", "GET /a HTTP/1.1\r\nHost: h, evil\r\n\r\n" + smuggled, 400),
        Arguments.of("Host with userinfo and path", "GET /a HTTP/1.1\r\nHost: a/x@b\r\n\r\n" + smuggled, 400),
        Arguments.of("no Host on 1.1", "GET /a HTTP/1.1\r\nAccept: */*\r\n\r\n" + smuggled, 400),
        Arguments.of("NUL in a header value", "GET /a HTTP/1.1\r\nHost: h\r\nX-A: a\u0000b\r\n\r\n" + smuggled, 400),
        Arguments.of("bare CR in a header value", "GET /a HTTP/1.1\r\nHost: h\r\nX-A: a\rX-B: b\r\n\r\n" + smuggled, 400),
        Arguments.of("space in the target", "GET /a b HTTP/1.1\r\nHost: h\r\n\r\n" + smuggled, 400),
        Arguments.of("CR in the target", "GET /a\rb HTTP/1.1\r\nHost: h\r\n\r\n" + smuggled, 400),
        Arguments.of("request line too long", "GET /" + "a".repeat(3000) + " HTTP/1.1\r\nHost: h\r\n\r\n" + smuggled, 414),
        Arguments.of("head too large", "GET /a HTTP/1.1\r\nHost: h\r\nX-Big: " + "b".repeat(5000) + "\r\n\r\n" + smuggled, 431));
  }

  @ParameterizedTest(name = "{0} -> {2}")
  @MethodSource("badFraming")
  void badFramingIsRejectedOnceAndNothingBehindItRuns(String name, String raw, int status) throws Exception {
    startProxy();
    String r = exchange(raw);
    assertRejected(r, status);
    assertNextClientClean();
  }

  @Test
  void aTabBeforeChunkedIsValidWhitespaceAndTheBodyIsReframed() throws Exception {
    startProxy();
    String r = exchange("POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\tchunked\t\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
    assertThat(r).startsWith("HTTP/1.1 200 ");
    assertThat(origin.requests()).hasSize(1);
    assertThat(origin.requests().get(0).header("content-length")).isEqualTo("3");
    assertThat(origin.requests().get(0).header("transfer-encoding")).isNull();
    assertThat(origin.requests().get(0).bodyText()).isEqualTo("abc");
  }

  @Test
  void http10WithoutHostUsesTheOriginAuthority() throws Exception {
    startProxy();
    String r = exchange("GET /old HTTP/1.0\r\n\r\n");
    assertThat(r).startsWith("HTTP/1.0 200 ");
    assertThat(origin.requests()).hasSize(1);
  }

  @Test
  void anAbsoluteFormTargetUsesItsAuthorityForHostAndKeyAndIsForwardedInOriginForm() throws Exception {
    startProxy();
    String r = exchange("GET http://Other.example/abs?q=1 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    assertThat(r).startsWith("HTTP/1.1 200 ").endsWith("origin saw /abs?q=1 via other.example");
    RecordingOrigin.Seen seen = origin.requests().get(0);
    assertThat(seen.requestLine()).isEqualTo("GET /abs?q=1 HTTP/1.1");
    assertThat(seen.header("host")).isEqualTo("other.example");
    // The same resource asked in origin-form with that Host is a hit: one key for both forms.
    String again = exchange("GET /abs?q=1 HTTP/1.1\r\nHost: other.example\r\nConnection: close\r\n\r\n");
    // (a hit, or collapsed into the fill if it is still being stored: the origin count is the proof)
    assertThat(again).startsWith("HTTP/1.1 200 ").endsWith("origin saw /abs?q=1 via other.example");
    assertThat(origin.requests()).hasSize(1);
    proxy.server.metrics().whenStored(1).get(20, java.util.concurrent.TimeUnit.SECONDS); // the commit is asynchronous
    assertThat(proxy.server.store().variants("http://other.example/abs?q=1")).hasSize(1);
    assertThat(proxy.server.store().variants("http://h/abs?q=1")).isEmpty();
  }

  @Test
  void anH2cUpgradeIsServedAsHttp11AndNeverTunnelledToTheOrigin() throws Exception {
    startProxy();
    String r;
    try (Socket s = new Socket("127.0.0.1", proxy.server.port())) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write(("GET /h2c HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n"
          + "Connection: Upgrade, HTTP2-Settings\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
      StringBuilder got = new StringBuilder();
      InputStream in = s.getInputStream();
      while (!got.toString().endsWith("origin saw /h2c via h")) {
        int c = in.read();
        if (c < 0) {
          break;
        }
        got.append((char) c);
      }
      r = got.toString();
    }
    assertThat(r).startsWith("HTTP/1.1 200 ").endsWith("origin saw /h2c via h");
    RecordingOrigin.Seen seen = origin.requests().get(0);
    assertThat(seen.header("upgrade")).isNull();
    assertThat(seen.header("http2-settings")).isNull();
  }

  // ---------------------------------------------------------------- finding 3: forwarded headers

  @Test
  void anUntrustedClientsForwardedHeadersNeverReachTheOriginNorPoisonTheCache() throws Exception {
    startProxy();
    String r = exchange("GET /page HTTP/1.1\r\nHost: h\r\nX-Forwarded-Host: evil.example\r\nX-Forwarded-Proto: https\r\n"
        + "X-Forwarded-Port: 4443\r\nX-Forwarded-For: 6.6.6.6\r\nForwarded: for=6.6.6.6;host=evil.example;proto=https\r\n"
        + "Connection: close\r\n\r\n");
    assertThat(r).startsWith("HTTP/1.1 200 ").endsWith("origin saw /page via h");
    RecordingOrigin.Seen seen = origin.requests().get(0);
    assertThat(seen.header("x-forwarded-host")).isEqualTo("h");
    assertThat(seen.header("x-forwarded-proto")).isEqualTo("http");
    assertThat(seen.header("x-forwarded-for")).isEqualTo("127.0.0.1");
    assertThat(seen.header("x-forwarded-port")).isEqualTo(Integer.toString(proxy.server.port()));
    assertThat(seen.header("forwarded")).isEqualTo("for=127.0.0.1;host=h;proto=http");
    assertThat(seen.head()).doesNotContain("evil").doesNotContain("6.6.6.6");
    String clean = exchange("GET /page HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    assertThat(clean).startsWith("HTTP/1.1 200 ").endsWith("origin saw /page via h");
    assertThat(origin.requests()).hasSize(1);
  }

  @Test
  void aTrustedProxysForwardedHeadersAreKeptAndTheChainAppended() throws Exception {
    startProxy("listen.trusted-proxies: [127.0.0.0/8, \"::1/128\"]");
    exchange("GET /page HTTP/1.1\r\nHost: h\r\nX-Forwarded-Host: public.example\r\nX-Forwarded-Proto: https\r\n"
        + "X-Forwarded-For: 203.0.113.7\r\nForwarded: for=203.0.113.7;proto=https\r\nConnection: close\r\n\r\n");
    RecordingOrigin.Seen seen = origin.requests().get(0);
    assertThat(seen.header("x-forwarded-host")).isEqualTo("public.example");
    assertThat(seen.header("x-forwarded-proto")).isEqualTo("https");
    assertThat(seen.header("x-forwarded-for")).isEqualTo("203.0.113.7, 127.0.0.1");
    assertThat(seen.header("forwarded")).isEqualTo("for=203.0.113.7;proto=https, for=127.0.0.1;host=h;proto=http");
  }

  @Test
  void aKeyHeaderMakesEachValueItsOwnCacheEntry() throws Exception {
    startProxy("listen.trusted-proxies: [127.0.0.0/8]", "cache.key-headers: [X-Forwarded-Host]");
    String a = exchange("GET /k HTTP/1.1\r\nHost: h\r\nX-Forwarded-Host: a.example\r\nConnection: close\r\n\r\n");
    String b = exchange("GET /k HTTP/1.1\r\nHost: h\r\nX-Forwarded-Host: b.example\r\nConnection: close\r\n\r\n");
    String a2 = exchange("GET /k HTTP/1.1\r\nHost: h\r\nX-Forwarded-Host: a.example\r\nConnection: close\r\n\r\n");
    assertThat(a).endsWith("origin saw /k via a.example");
    assertThat(b).endsWith("origin saw /k via b.example");
    assertThat(a2).endsWith("origin saw /k via a.example");
    assertThat(origin.requests()).hasSize(2);
    // b's response reaches the client before its entry is published (the commit runs on cache-io afterwards)
    proxy.server.metrics().whenStored(2).get(20, java.util.concurrent.TimeUnit.SECONDS);
    assertThat(proxy.server.store().variants("http://h/k")).hasSize(2);
  }

  @Test
  void configuredRequestHeadersAreStrippedBeforeTheOrigin() throws Exception {
    startProxy("origin.strip-request-headers: [X-Original-URL, x-rewrite-url]");
    exchange("GET /page HTTP/1.1\r\nHost: h\r\nX-Original-URL: /admin\r\nX-Rewrite-URL: /admin\r\nX-Kept: 1\r\nConnection: close\r\n\r\n");
    RecordingOrigin.Seen seen = origin.requests().get(0);
    assertThat(seen.header("x-original-url")).isNull();
    assertThat(seen.header("x-rewrite-url")).isNull();
    assertThat(seen.header("x-kept")).isEqualTo("1");
  }
}
