package dev.zcproxy.proxy.it;

import static dev.zcproxy.proxy.it.FastHitIT.closedByPeer;
import static dev.zcproxy.proxy.it.FastHitIT.read;
import static dev.zcproxy.proxy.it.FastHitIT.readHead;
import static dev.zcproxy.proxy.it.FastHitIT.send;
import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.CacheOutcome;
import dev.zcproxy.proxy.it.FastHitIT.Response;
import dev.zcproxy.proxy.transfer.TransferMode;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonObject;
import java.io.InputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Plain GET hits whose body is sent from its cache file (here above {@code cache.ram-max-object-size}, 8 KiB),
 * answered in front of Vert.x ({@code transfer.front-hits}) once the file is open: the same bytes as the Vert.x
 * file fast path ({@code FileHitPath}), counted as a HIT by sendfile (file-region bytes; a body under 1 MiB's first
 * bytes, read into the head's buffer, as buffer bytes), logged alike,
 * one origin request; a file purged while its hit is being written is still sent whole, and the next request
 * misses; HEAD, ranges, validators and {@code Connection: close} go the normal way.
 *
 * <p>Runs both ways: with {@code -Dzcproxy.it.frontHits=false} every request goes to Vert.x and the same responses
 * are expected, only the front path's counter stays at zero.
 */
class FrontFileHitIT extends OriginAndProxy {
  private static final String TOKEN = "test-admin-token-0123456789";
  private static final byte[] B16K = CachingIT.body(16 << 10, 16);
  private static final byte[] B256K = CachingIT.body(256 << 10, 256);
  private static final byte[] B4M = CachingIT.body(4 << 20, 4);
  private static final byte[] B2M = CachingIT.body(2 << 20, 2);
  /** HeadPrefix.BYTES: the first buffer of a file hit under 1 MiB, head and the body's first bytes (one segment). */
  private static final int PREFIX_BUFFER = 65_484;
  private static final boolean FRONT = !"false".equals(System.getProperty("zcproxy.it.frontHits"));

  @RegisterExtension
  final AccessLogCapture access = new AccessLogCapture();
  final BlockingQueue<String> lines = access.lines;
  @RegisterExtension
  final RawConnections raw = new RawConnections(() -> proxy);
  /** Requests to /held wait here until the test answers them. */
  final BlockingQueue<HttpServerRequest> held = new LinkedBlockingQueue<>();

  @BeforeEach
  void start() throws Exception {
    origin.serve("/16k", B16K, "Cache-Control", "max-age=600", "ETag", "\"a\"", "Content-Type", "application/x-test");
    origin.serve("/256k", B256K, "Cache-Control", "max-age=600", "ETag", "\"b\"", "Content-Type", "image/png");
    origin.serve("/4m", B4M, "Cache-Control", "max-age=600", "ETag", "\"c\"");
    origin.serve("/2m", B2M, "Cache-Control", "max-age=600", "ETag", "\"d\"");
    origin.route("/held", held::add);
    proxy = ProxyFixture.start(origin.url(), cacheDir, "logging.access-log: stdout", "cache.ram-max-object-size: 8KiB",
        "admin.token: " + TOKEN);
    int n = 0;
    for (String p : List.of("/16k", "/256k", "/4m", "/2m")) {
      proxy.get(p); // the miss
      proxy.server.metrics().whenStored(++n).get(20, TimeUnit.SECONDS);
      assertThat(proxy.get(p).headers().firstValue("x-cache")).hasValue("HIT"); // the first hit opens the file
      proxy.server.metrics().whenResponses(CacheOutcome.HIT, n).get(10, TimeUnit.SECONDS);
    }
    drain(8);
  }

  @Test
  void fileHitsAreAnsweredInFrontWithTheBytesOfTheVertxFastPathAndCountedAsSendfile() throws Exception {
    Socket s = raw.connect();
    long front = proxy.server.metrics().frontHits();
    // /256k pipelined behind a request Vert.x is still answering: Vert.x answers it (its file fast path)
    send(s, "GET /held HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\nGET /256k HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n");
    HttpServerRequest originReq = held.poll(10, TimeUnit.SECONDS);
    assertThat(originReq).isNotNull();
    originReq.response().putHeader("Cache-Control", "no-store").end("held");
    assertThat(read(s).body()).isEqualTo("held".getBytes(StandardCharsets.US_ASCII));
    byte[] viaVertx = raw(read(s));
    assertThat(proxy.server.metrics().frontHits()).as("behind a request in progress").isEqualTo(front);
    drain(2);

    long hits = proxy.server.metrics().responses(CacheOutcome.HIT);
    long sendfile = proxy.server.metrics().responses(TransferMode.SENDFILE);
    long copy = proxy.server.metrics().responses(TransferMode.COPY);
    JsonObject before = written();
    // alone: the front path (the fake clock stands still, so Age is the same)
    send(s, "GET /256k HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n");
    byte[] alone = raw(read(s));
    assertThat(alone).isEqualTo(viaVertx);
    String[] paths = {"/16k", "/4m", "/16k", "/256k", "/4m"};
    byte[][] bodies = {B16K, B4M, B16K, B256K, B4M};
    long bytes = B256K.length;
    for (int i = 0; i < paths.length; i++) {
      send(s, "GET " + paths[i] + " HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n");
      Response r = read(s);
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.body()).as(paths[i]).isEqualTo(bodies[i]);
      assertThat(r.field("cache-status")).isEqualTo("zcproxy; hit");
      assertThat(r.lastField()).startsWith("Age: ");
      bytes += bodies[i].length;
    }
    int n = 1 + paths.length;
    proxy.server.metrics().whenResponses(CacheOutcome.HIT, hits + n).get(10, TimeUnit.SECONDS);
    assertThat(proxy.server.metrics().frontHits()).isEqualTo(front + (FRONT ? n : 0));
    // the two /16k hits: read whole with their head (HeadPrefix.WHOLE), a copy
    assertThat(proxy.server.metrics().responses(TransferMode.SENDFILE)).isEqualTo(sendfile + n - 2);
    assertThat(proxy.server.metrics().responses(TransferMode.COPY)).isEqualTo(copy + 2);
    JsonObject after = written();
    // two /256k hits: their first bytes left with the head (read, then written), the rest as the file region; the two
    // /16k hits were read whole with their head (HeadPrefix.WHOLE): one buffer each, no file region
    long prefix = PREFIX_BUFFER - (alone.length - B256K.length);
    long whole = 2L * B16K.length;
    assertThat(after.getLong("file_region_bytes") - before.getLong("file_region_bytes"))
        .isEqualTo(bytes - 2 * prefix - whole);
    assertThat(after.getLong("buffer_bytes") - before.getLong("buffer_bytes")).as("body bytes copied")
        .isEqualTo(2 * prefix + whole);
    assertThat(drain(n)).allSatisfy(l -> assertThat(l).contains(" HTTP/1.1\" 200 ")
        .contains(l.contains("/16k") ? "HIT copy complete" : "HIT sendfile complete"));
    assertThat(closedByPeer(s, 200)).as("keep-alive").isFalse();
    assertThat(origin.totalRequests()).isEqualTo(5); // four misses and /held
  }

  @Test
  void theBodyBytesReadWithAHitsHeadCountAsWrittenFromABufferAndTheRestAsTheFileRegion() throws Exception {
    Socket s = raw.connect();
    long hits = proxy.server.metrics().responses(CacheOutcome.HIT);
    long sendfile = proxy.server.metrics().responses(TransferMode.SENDFILE);
    JsonObject before = written();
    send(s, "GET /256k HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n");
    byte[] whole = raw(read(s));
    assertThat(Arrays.copyOfRange(whole, whole.length - B256K.length, whole.length)).isEqualTo(B256K);
    proxy.server.metrics().whenResponses(CacheOutcome.HIT, hits + 1).get(10, TimeUnit.SECONDS);
    JsonObject mid = written();
    long prefix = PREFIX_BUFFER - (whole.length - B256K.length); // the buffer less the head
    assertThat(mid.getLong("buffer_bytes") - before.getLong("buffer_bytes")).as("256 KiB: read and written")
        .isEqualTo(prefix);
    assertThat(mid.getLong("file_region_bytes") - before.getLong("file_region_bytes")).as("256 KiB: sendfile")
        .isEqualTo(B256K.length - prefix);

    send(s, "GET /2m HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n");
    assertThat(read(s).body()).isEqualTo(B2M);
    proxy.server.metrics().whenResponses(CacheOutcome.HIT, hits + 2).get(10, TimeUnit.SECONDS);
    JsonObject after = written();
    assertThat(after.getLong("buffer_bytes") - mid.getLong("buffer_bytes")).as("2 MiB: the head leaves alone").isZero();
    assertThat(after.getLong("file_region_bytes") - mid.getLong("file_region_bytes")).as("2 MiB: sendfile")
        .isEqualTo(B2M.length);
    assertThat(proxy.server.metrics().responses(TransferMode.SENDFILE)).as("both are sendfile hits").isEqualTo(sendfile + 2);
    assertThat(drain(2)).allSatisfy(l -> assertThat(l).contains("HIT sendfile complete"));
    assertThat(origin.requests("/256k")).isEqualTo(1);
    assertThat(origin.requests("/2m")).isEqualTo(1);
  }

  @Test
  void requestsThatAreNotPlainHitsAreLeftToVertxAndAnsweredRight() throws Exception {
    long front = proxy.server.metrics().frontHits();
    Socket s = raw.connect();
    String h = " HTTP/1.1\r\nHost: " + raw.host() + "\r\n";
    send(s, "HEAD /256k" + h + "\r\n");
    Response head = readHead(s);
    assertThat(head.status()).isEqualTo(200);
    assertThat(head.field("content-length")).isEqualTo(Integer.toString(B256K.length));
    send(s, "GET /256k" + h + "Range: bytes=10-19\r\n\r\n");
    Response part = read(s);
    assertThat(part.status()).isEqualTo(206);
    assertThat(part.body()).isEqualTo(Arrays.copyOfRange(B256K, 10, 20));
    send(s, "GET /256k" + h + "If-None-Match: \"b\"\r\n\r\n");
    assertThat(readHead(s).status()).isEqualTo(304);
    send(s, "GET /256k" + h + "If-None-Match: \"other\"\r\n\r\n");
    Response other = read(s);
    assertThat(other.body()).isEqualTo(B256K);
    assertThat(other.lastField()).as("the normal path").doesNotStartWith("Age: ");
    assertThat(proxy.server.metrics().frontHits()).as("none of these").isEqualTo(front);
    send(s, "GET /256k" + h + "Connection: close\r\n\r\n");
    Response last = read(s);
    assertThat(last.body()).isEqualTo(B256K);
    assertThat(last.field("connection")).isEqualTo("close");
    assertThat(closedByPeer(s, 10_000)).isTrue();
    assertThat(proxy.server.metrics().frontHits()).as("Connection: close").isEqualTo(front);
    assertThat(origin.requests("/256k")).isEqualTo(1);
    drain(5);
  }

  @Test
  void aFilePurgedWhileItsHitIsWrittenIsSentWholeAndTheNextRequestMisses() throws Exception {
    long front = proxy.server.metrics().frontHits();
    Socket s = new Socket();
    s.setReceiveBufferSize(4096); // the 4 MiB body cannot all be in flight: the region is still being sent
    raw.connect(s);
    send(s, "GET /4m HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n");
    Response head = readHead(s);
    assertThat(head.lastField()).startsWith("Age: ");
    InputStream in = s.getInputStream();
    byte[] start = in.readNBytes(1000);
    purge("/4m"); // removes the entry and unlinks its file: the open file is still read to the end
    byte[] rest = in.readNBytes(B4M.length - start.length);
    byte[] body = Arrays.copyOf(start, B4M.length);
    System.arraycopy(rest, 0, body, start.length, rest.length);
    assertThat(body).isEqualTo(B4M);
    assertThat(drain(1).get(0)).contains("\"GET /4m HTTP/1.1\" 200 4194304 ").endsWith("HIT sendfile complete");
    assertThat(proxy.server.metrics().frontHits()).as("counted once sent").isEqualTo(front + (FRONT ? 1 : 0));

    send(s, "GET /4m HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n");
    Response again = read(s);
    assertThat(again.body()).isEqualTo(B4M);
    assertThat(again.field("x-cache")).isEqualTo("MISS");
    assertThat(origin.requests("/4m")).isEqualTo(2);
    assertThat(proxy.server.metrics().frontHits()).isEqualTo(front + (FRONT ? 1 : 0));
  }

  @Test
  void aFileHitAfterA304SendsTheRevalidatedFieldsNotTheHeadKeptForTheFile() throws Exception {
    // a front file hit sends the head encoded once per file (FileHitPath), used only for the entry it was encoded from;
    // a 304 updates the entry in place (the same file, new fields): the next hit must send the new fields
    byte[] body = CachingIT.body(16 << 10, 7);
    java.util.concurrent.atomic.AtomicInteger version = new java.util.concurrent.atomic.AtomicInteger(1);
    origin.route("/reval", req -> {
      if ("\"r\"".equals(req.getHeader("If-None-Match"))) {
        req.response().setStatusCode(304).putHeader("ETag", "\"r\"").putHeader("Cache-Control", "max-age=60")
            .putHeader("X-Version", Integer.toString(version.get())).end();
      } else {
        req.response().putHeader("ETag", "\"r\"").putHeader("Cache-Control", "max-age=60")
            .putHeader("X-Version", Integer.toString(version.get())).end(io.vertx.core.buffer.Buffer.buffer(body));
      }
    });
    proxy.get("/reval"); // the miss
    proxy.server.metrics().whenStored(5).get(20, TimeUnit.SECONDS); // four stored by start()
    assertThat(proxy.get("/reval").headers().firstValue("x-cache")).hasValue("HIT"); // opens the file
    drain(2);
    Socket s = raw.connect();
    long front = proxy.server.metrics().frontHits();
    for (int i = 0; i < 3; i++) { // the head kept for the file
      send(s, "GET /reval HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n");
      Response r = read(s);
      assertThat(r.body()).isEqualTo(body);
      assertThat(r.field("x-version")).isEqualTo("1");
      assertThat(r.field("x-cache")).isEqualTo("HIT");
    }
    drain(3);
    assertThat(proxy.server.metrics().frontHits()).isEqualTo(front + (FRONT ? 3 : 0));

    version.set(2);
    proxy.advance(java.time.Duration.ofSeconds(120)); // stale: revalidated by the normal path, the 304 updates the entry
    send(s, "GET /reval HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n");
    Response reval = read(s);
    assertThat(reval.field("x-cache")).isEqualTo("REVALIDATED");
    assertThat(reval.field("x-version")).isEqualTo("2");
    assertThat(reval.body()).isEqualTo(body);
    drain(1);
    for (int i = 0; i < 2; i++) {
      send(s, "GET /reval HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n");
      Response r = read(s);
      assertThat(r.field("x-cache")).isEqualTo("HIT");
      assertThat(r.field("x-version")).as("the revalidated fields").isEqualTo("2");
      assertThat(r.body()).isEqualTo(body);
    }
    drain(2);
    assertThat(proxy.server.metrics().frontHits()).isEqualTo(front + (FRONT ? 5 : 0));
    assertThat(origin.requests("/reval")).isEqualTo(2);
  }

  // ---------------------------------------------------------------- helpers

  private void purge(String path) throws Exception {
    HttpRequest purge = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.server.adminPort() + "/purge?url="
            + java.net.URLEncoder.encode(proxy.url(path), StandardCharsets.UTF_8)))
        .POST(HttpRequest.BodyPublishers.noBody()).header("Authorization", "Bearer " + TOKEN).build();
    assertThat(proxy.client.send(purge, HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
  }

  private JsonObject written() {
    return new JsonObject(proxy.server.metrics().toJson()).getJsonObject("written");
  }

  private static byte[] raw(Response r) {
    byte[] head = (String.join("\r\n", r.head()) + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1);
    byte[] all = Arrays.copyOf(head, head.length + r.body().length);
    System.arraycopy(r.body(), 0, all, head.length, r.body().length);
    return all;
  }

  private List<String> drain(int n) throws InterruptedException {
    return FastHitIT.drain(lines, n);
  }
}
