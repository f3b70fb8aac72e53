package dev.zcproxy.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vertx.core.buffer.Buffer;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The access log says what the client actually got: lines captured from the real {@code zcproxy.access}
 * logger, one per response, with the body bytes sent, {@code aborted} for a cut response, and the
 * request's own protocol version for requests the proxy could not parse.
 */
class AccessLogIT extends OriginAndProxy {
  @RegisterExtension
  final AccessLogCapture access = new AccessLogCapture();
  final BlockingQueue<String> lines = access.lines;
  final List<String> seen = new ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    proxy = ProxyFixture.start(origin.url(), cacheDir, "logging.access-log: stdout");
  }

  /** The next access line that contains {@code needle}, waiting at most 20 s. */
  private String lineFor(String needle) throws InterruptedException {
    for (String s : seen) {
      if (s.contains(needle)) {
        return s;
      }
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (System.nanoTime() < deadline) {
      String s = lines.poll(100, TimeUnit.MILLISECONDS);
      if (s != null) {
        seen.add(s);
        if (s.contains(needle)) {
          return s;
        }
      }
    }
    throw new AssertionError("no access-log line with " + needle + " in " + seen);
  }

  /** After a later request's line is in, how many lines the earlier request got. */
  private long linesFor(String needle) throws Exception {
    origin.serve("/later", "x".getBytes(), "Cache-Control", "no-store");
    proxy.get("/later");
    lineFor("\"GET /later ");
    lines.drainTo(seen);
    return seen.stream().filter(s -> s.contains(needle)).count();
  }

  /** An origin that promises {@code declared} bytes and sends {@code sent}, then closes the connection. */
  private void truncating(String path, int declared, int sent, String cacheControl) {
    origin.route(path, req -> {
      var resp = req.response().putHeader("Content-Length", Integer.toString(declared)).putHeader("Cache-Control", cacheControl);
      resp.write(Buffer.buffer(new byte[sent])).onComplete(v -> req.connection().close());
    });
  }

  @Test
  void aTruncatedPassResponseIsLoggedWithTheBytesSentAndAborted() throws Exception {
    truncating("/cut", 100_000, 40_000, "no-store");
    assertThatThrownBy(() -> proxy.get("/cut")).isInstanceOf(IOException.class);
    String line = lineFor("\"GET /cut HTTP/1.1\"");
    assertThat(line).matches("127\\.0\\.0\\.1 \"GET /cut HTTP/1\\.1\" 200 40000 \\d+us MISS copy aborted");
    assertThat(linesFor("/cut ")).isEqualTo(1);
  }

  @Test
  void aTruncatedMissIsLoggedAbortedWithAtMostTheBytesTheOriginSent() throws Exception {
    truncating("/cutmiss", 100_000, 40_000, "max-age=600");
    assertThatThrownBy(() -> proxy.get("/cutmiss")).isInstanceOf(IOException.class);
    String line = lineFor("\"GET /cutmiss HTTP/1.1\"");
    assertThat(line).matches("127\\.0\\.0\\.1 \"GET /cutmiss HTTP/1\\.1\" 200 \\d+ \\d+us MISS \\w+ aborted");
    long bytes = Long.parseLong(line.split(" ")[4]);
    assertThat(bytes).isBetween(0L, 40_000L);
    assertThat(proxy.server.store().entryCount()).isZero();
    assertThat(linesFor("/cutmiss ")).isEqualTo(1);
  }

  @Test
  void aTruncatedSmallMissHeldWholeIsAbortedAndNotStored() throws Exception {
    // below Fill.WHOLE_MAX: the body is held in memory and its readers are sent from there
    truncating("/cutsmall", 40_000, 10_000, "max-age=600");
    assertThatThrownBy(() -> proxy.get("/cutsmall")).isInstanceOf(IOException.class);
    String line = lineFor("\"GET /cutsmall HTTP/1.1\"");
    assertThat(line).matches("127\\.0\\.0\\.1 \"GET /cutsmall HTTP/1\\.1\" 200 \\d+ \\d+us MISS \\w+ aborted");
    assertThat(Long.parseLong(line.split(" ")[4])).isBetween(0L, 10_000L);
    assertThat(proxy.server.store().entryCount()).isZero();
    assertThatThrownBy(() -> proxy.get("/cutsmall")).as("not stored: the next request goes to the origin again").isInstanceOf(IOException.class);
    assertThat(linesFor("/cutsmall ")).isEqualTo(2);
    assertThat(proxy.server.store().entryCount()).isZero();
  }

  @Test
  void aWholeResponseIsLoggedComplete() throws Exception {
    origin.serve("/whole", new byte[5000], "Cache-Control", "max-age=600");
    proxy.get("/whole");
    assertThat(lineFor("\"GET /whole HTTP/1.1\"")).matches(".*\" 200 5000 \\d+us MISS \\w+ complete");
    proxy.server.metrics().whenStored(1).get(20, TimeUnit.SECONDS);
    proxy.get("/whole");
    lineFor("HIT");
    assertThat(seen.get(seen.size() - 1)).matches(".*\"GET /whole HTTP/1.1\" 200 5000 \\d+us HIT \\w+ complete");
  }

  @Test
  void aClientThatHangsUpMidBodyIsLoggedOnceAsAborted() throws Exception {
    origin.route("/hang", req -> req.response().putHeader("Content-Length", "100000").putHeader("Cache-Control", "no-store")
        .write(Buffer.buffer(new byte[1000]))); // and nothing more: the client gives up
    try (Socket s = new Socket("127.0.0.1", proxy.server.port())) {
      s.setSoTimeout(20_000);
      s.getOutputStream().write("GET /hang HTTP/1.1\r\nHost: h\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
      byte[] buf = new byte[8192];
      StringBuilder got = new StringBuilder();
      while (!got.toString().contains("\r\n\r\n")) {
        int n = s.getInputStream().read(buf);
        assertThat(n).isPositive();
        got.append(new String(buf, 0, n, StandardCharsets.ISO_8859_1));
      }
      assertThat(got.toString()).startsWith("HTTP/1.1 200");
    }
    String line = lineFor("\"GET /hang HTTP/1.1\"");
    assertThat(line).matches(".*\" 200 \\d+ \\d+us MISS copy aborted");
    assertThat(Long.parseLong(line.split(" ")[4])).isBetween(0L, 1000L);
    assertThat(linesFor("/hang ")).isEqualTo(1);
  }

  /** Sends raw bytes and reads until the proxy closes the connection. */
  private String raw(String request) throws Exception {
    try (Socket s = new Socket("127.0.0.1", proxy.server.port())) {
      s.setSoTimeout(20_000);
      s.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
      return new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
    }
  }

  @Test
  void aBadRequestIsLoggedOnceWithItsOwnVersion() throws Exception {
    String answer = raw("GET /bad10 HTTP/1.0\r\nHost: h\r\nthis is not a header\r\n\r\n");
    assertThat(answer).startsWith("HTTP/1.0 400").doesNotContain("HTTP/1.1 200");
    String line = lineFor("/bad10");
    assertThat(line).matches("127\\.0\\.0\\.1 \"GET /bad10 HTTP/1\\.0\" 400 \\d+ \\d+us SYNTH copy complete");
    answer = raw("GET /bad11 HTTP/1.1\r\nHost: h\r\nthis is not a header\r\n\r\n");
    assertThat(answer).startsWith("HTTP/1.1 400");
    assertThat(lineFor("/bad11")).contains("\"GET /bad11 HTTP/1.1\" 400 ");
    assertThat(linesFor("/bad10")).isEqualTo(1);
    assertThat(linesFor("/bad11")).isEqualTo(1);
  }

  @Test
  void aRequestLineThatCannotBeReadIsLoggedAsUnknownNotAsAMadeUpRequest() throws Exception {
    String answer = raw("GET\r\nHost: h\r\n\r\n");
    assertThat(answer).contains(" 400 ");
    String line = lineFor("\" 400 ");
    assertThat(line).contains("\"- - -\" 400 ").doesNotContain("/bad-request");
  }
}
