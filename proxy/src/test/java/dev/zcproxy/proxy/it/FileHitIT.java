package dev.zcproxy.proxy.it;

import static dev.zcproxy.proxy.it.FastHitIT.closedByPeer;
import static dev.zcproxy.proxy.it.FastHitIT.read;
import static dev.zcproxy.proxy.it.FastHitIT.readHead;
import static dev.zcproxy.proxy.it.FastHitIT.send;
import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.CacheOutcome;
import dev.zcproxy.proxy.it.FastHitIT.Response;
import dev.zcproxy.proxy.transfer.TransferMode;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The plain GET hit fast path for bodies sent from their cache file (above {@code cache.ram-max-object-size}, here
 * 8 KiB): the entry's pre-encoded head and a file region, flushed together. It answers as the normal path does,
 * is counted as sendfile (file-region bytes, not buffers) and logged as a HIT, keeps pipelined responses in order,
 * and a client that leaves mid-body leaves no file open.
 *
 * <p>How a test tells the two paths apart: the fast path writes {@code Age} as the head's last field, the normal
 * path writes it before {@code via} and {@code cache-status}.
 */
class FileHitIT extends OriginAndProxy {
  private static final byte[] B16K = CachingIT.body(16 << 10, 16);
  private static final byte[] B256K = CachingIT.body(256 << 10, 256);
  private static final byte[] B4M = CachingIT.body(4 << 20, 4);

  @RegisterExtension
  final AccessLogCapture access = new AccessLogCapture();
  final BlockingQueue<String> lines = access.lines;
  @RegisterExtension
  final RawConnections raw = new RawConnections(() -> proxy);

  @BeforeEach
  void start() throws Exception {
    origin.serve("/16k", B16K, "Cache-Control", "max-age=600", "ETag", "\"a\"", "Content-Type", "application/x-test");
    origin.serve("/256k", B256K, "Cache-Control", "max-age=600", "ETag", "\"b\"", "Content-Type", "image/png");
    origin.serve("/4m", B4M, "Cache-Control", "max-age=600", "ETag", "\"c\"");
    // the send buffer left to autotuning: raised for a large hit (8 MiB) it would take the 4 MiB body whole, and the
    // client that closes mid-body would find nothing left to cut (LargeBodyIT covers hits with a raised buffer)
    proxy = ProxyFixture.start(origin.url(), cacheDir, "logging.access-log: stdout", "cache.ram-max-object-size: 8KiB",
        "transfer.large-send-buffer: 0B");
    for (String p : List.of("/16k", "/256k", "/4m")) {
      proxy.get(p);
    }
    proxy.server.metrics().whenStored(3).get(20, TimeUnit.SECONDS);
    proxy.server.metrics().whenResponses(CacheOutcome.MISS, 3).get(10, TimeUnit.SECONDS);
    drain(3); // the misses' lines
  }

  @Test
  void hitsFromTheFileTakeTheFastPathAnswerLikeTheNormalOneAndCountAsSendfile() throws Exception {
    long sendfile = proxy.server.metrics().responses(TransferMode.SENDFILE);
    long copy = proxy.server.metrics().responses(TransferMode.COPY);
    JsonObject before = written();
    Socket s = raw.connect();
    List<Response> fast = new ArrayList<>();
    for (String p : List.of("/16k", "/256k", "/4m")) {
      send(s, "GET " + p + " HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n");
      fast.add(read(s));
    }
    byte[][] bodies = {B16K, B256K, B4M};
    for (int i = 0; i < 3; i++) {
      Response r = fast.get(i);
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.body()).isEqualTo(bodies[i]);
      assertThat(r.lastField()).as("the fast path's head").startsWith("Age: ");
      assertThat(r.field("content-length")).isEqualTo(Integer.toString(bodies[i].length));
      assertThat(r.field("cache-status")).isEqualTo("zcproxy; hit");
      assertThat(r.field("x-cache")).isEqualTo("HIT");
    }
    assertThat(fast.get(0).field("content-type")).isEqualTo("application/x-test");
    // the 16 KiB body was read whole with its head (HeadPrefix.WHOLE): a copy, one buffer
    List<String> logged = drain(3);
    assertThat(logged).filteredOn(l -> l.contains("/16k")).singleElement().asString().contains("HIT copy complete");
    assertThat(logged).filteredOn(l -> !l.contains("/16k")).hasSize(2)
        .allSatisfy(l -> assertThat(l).contains("HIT sendfile complete"));
    proxy.server.metrics().whenResponses(CacheOutcome.HIT, 3).get(10, TimeUnit.SECONDS);
    assertThat(proxy.server.metrics().responses(TransferMode.SENDFILE)).isEqualTo(sendfile + 2);
    assertThat(proxy.server.metrics().responses(TransferMode.COPY)).isEqualTo(copy + 1);
    assertThat(proxy.server.metrics().transferFallbacks(TransferMode.SENDFILE)).as("a copy chosen, not a fallback").isZero();
    JsonObject after = written();
    // the 256 KiB body's first bytes left with its head (read from the file into one 65,484-byte buffer, HeadPrefix)
    int head256k = (String.join("\r\n", fast.get(1).head()) + "\r\n\r\n").length();
    long prefix = 65_484 - head256k;
    // the 16 KiB body was read whole with its head (HeadPrefix.WHOLE): one buffer, no file region
    assertThat(after.getLong("file_region_bytes") - before.getLong("file_region_bytes"))
        .as("body bytes handed over as file regions").isEqualTo(B256K.length + B4M.length - prefix);
    assertThat(after.getLong("buffer_bytes") - before.getLong("buffer_bytes")).as("body bytes copied")
        .isEqualTo(B16K.length + prefix);

    // the normal path (a validator that does not match: 200 from the same file) sends the same fields
    send(s, "GET /256k HTTP/1.1\r\nHost: " + raw.host() + "\r\nIf-None-Match: \"other\"\r\n\r\n");
    Response normal = read(s);
    assertThat(normal.body()).isEqualTo(B256K);
    assertThat(normal.lastField()).doesNotStartWith("Age: ");
    assertThat(withoutAge(fast.get(1).fieldSet())).isEqualTo(withoutAge(normal.fieldSet()));
    assertThat(origin.requests("/16k")).isEqualTo(1);
    assertThat(origin.requests("/256k")).isEqualTo(1);
    assertThat(origin.requests("/4m")).isEqualTo(1);
  }

  @Test
  void aSmallBodyBehindAHeadTooLargeToTakeItWholeIsReportedAsTheSendfileItWas(@TempDir Path dir) throws Exception {
    // the normal path's fast path alone (FrontFileHits reports what it wrote), no RAM tier
    proxy.close();
    proxy = ProxyFixture.start(origin.url(), dir, "logging.access-log: stdout", "transfer.front-hits: false",
        "cache.ram-size: 0B");
    byte[] body = CachingIT.body(15_000, 15);
    // a 52,000-byte field: the head leaves less room than the body's 15,000 bytes in the first 65,484-byte buffer, so
    // only the body's first bytes leave with it and a file region follows, though the body is under 16 KiB
    origin.serve("/padded", body, "Cache-Control", "max-age=600", "X-Pad", "p".repeat(52_000));
    proxy.get("/padded");
    proxy.server.metrics().whenStored(1).get(20, TimeUnit.SECONDS);
    proxy.server.metrics().whenResponses(CacheOutcome.MISS, 1).get(10, TimeUnit.SECONDS);
    drain(1);
    long sendfile = proxy.server.metrics().responses(TransferMode.SENDFILE);
    long copy = proxy.server.metrics().responses(TransferMode.COPY);
    JsonObject before = written();

    Socket s = raw.connect();
    send(s, "GET /padded HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n");
    Response r = read(s);
    assertThat(r.body()).isEqualTo(body);
    assertThat(r.lastField()).as("the fast path's head").startsWith("Age: ");
    assertThat(drain(1).get(0)).contains("HIT sendfile complete");
    proxy.server.metrics().whenResponses(CacheOutcome.HIT, 1).get(10, TimeUnit.SECONDS);
    assertThat(proxy.server.metrics().responses(TransferMode.SENDFILE)).isEqualTo(sendfile + 1);
    assertThat(proxy.server.metrics().responses(TransferMode.COPY)).isEqualTo(copy);
    JsonObject after = written();
    long region = after.getLong("file_region_bytes") - before.getLong("file_region_bytes");
    assertThat(region).as("body bytes handed over as a file region").isPositive();
    assertThat(after.getLong("buffer_bytes") - before.getLong("buffer_bytes")).as("the rest left with the head")
        .isEqualTo(body.length - region);
    assertThat(origin.requests("/padded")).isEqualTo(1);
  }

  @Test
  void noPathAddsAContentTypeTheOriginDidNotSend() throws Exception {
    Socket s = raw.connect();
    String h = " HTTP/1.1\r\nHost: " + raw.host() + "\r\n";
    send(s, "GET /4m" + h + "\r\n");
    Response fast = read(s);
    send(s, "GET /4m" + h + "Range: bytes=10-19\r\n\r\n");
    Response range = read(s);
    send(s, "GET /4m" + h + "Connection: close\r\n\r\n");
    Response closing = read(s);

    assertThat(fast.body()).isEqualTo(B4M);
    assertThat(range.status()).isEqualTo(206);
    assertThat(range.body()).isEqualTo(java.util.Arrays.copyOfRange(B4M, 10, 20));
    assertThat(closing.body()).isEqualTo(B4M);
    // Vert.x's sendFile(FileChannel) sets application/octet-stream when none is set: the normal paths had it
    assertThat(List.of(fast, range, closing)).allSatisfy(r -> assertThat(r.field("content-type")).isNull());
    assertThat(closedByPeer(s, 2000)).isTrue();
    drain(3);
  }

  @Test
  void pipelinedHitsAreAnsweredInOrder() throws Exception {
    Socket s = raw.connect();
    String h = " HTTP/1.1\r\nHost: " + raw.host() + "\r\n";
    send(s, "GET /4m" + h + "\r\n" + "GET /16k" + h + "\r\n" + "HEAD /256k" + h + "\r\n" + "GET /256k" + h + "\r\n"
        + "GET /4m" + h + "If-None-Match: \"c\"\r\n\r\n" + "GET /16k" + h + "\r\n" + "GET /4m" + h + "\r\n");
    Response first = read(s);
    assertThat(first.body()).isEqualTo(B4M);
    assertThat(first.lastField()).as("the first (its file opened on the I/O pool) by the fast path").startsWith("Age: ");
    assertThat(read(s).body()).isEqualTo(B16K);
    Response head = readHead(s);
    assertThat(head.status()).isEqualTo(200);
    assertThat(head.field("content-length")).isEqualTo(Integer.toString(B256K.length));
    assertThat(read(s).body()).isEqualTo(B256K);
    assertThat(readHead(s).status()).isEqualTo(304);
    assertThat(read(s).body()).isEqualTo(B16K);
    Response last = read(s);
    assertThat(last.body()).isEqualTo(B4M);
    assertThat(last.lastField()).startsWith("Age: ");
    assertThat(closedByPeer(s, 300)).as("the connection stays open").isFalse();
    // one line per response (logged as each completes, not necessarily in order)
    List<String> logged = drain(7).stream().map(l -> l.replaceAll(" [0-9]+us ", " ")).sorted().toList();
    String p = "127.0.0.1 \"";
    assertThat(logged).containsExactlyElementsOf(List.of(
        p + "GET /16k HTTP/1.1\" 200 16384 HIT copy complete",
        p + "GET /16k HTTP/1.1\" 200 16384 HIT copy complete",
        p + "GET /256k HTTP/1.1\" 200 262144 HIT sendfile complete",
        p + "GET /4m HTTP/1.1\" 200 4194304 HIT sendfile complete",
        p + "GET /4m HTTP/1.1\" 200 4194304 HIT sendfile complete",
        p + "GET /4m HTTP/1.1\" 304 0 HIT none complete",
        p + "HEAD /256k HTTP/1.1\" 200 0 HIT none complete"));
    assertThat(origin.totalRequests()).isEqualTo(3);
  }

  @Test
  void aClientThatClosesMidBodyLeavesNoFileOpen() throws Exception {
    Socket s = new Socket();
    s.setReceiveBufferSize(4096); // the 4 MiB body cannot all be in flight: the region is cut
    raw.connect(s);
    send(s, "GET /4m HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n");
    Response head = readHead(s);
    assertThat(head.lastField()).startsWith("Age: ");
    assertThat(s.getInputStream().readNBytes(1000)).hasSize(1000);
    s.setSoLinger(true, 0); // a reset: the sendfile under way fails
    s.close();
    String line = lines.poll(10, TimeUnit.SECONDS);
    assertThat(line).contains("\"GET /4m HTTP/1.1\" 200 ").contains("HIT sendfile aborted");

    Socket next = raw.connect();
    send(next, "GET /4m HTTP/1.1\r\nHost: " + raw.host() + "\r\n\r\n");
    assertThat(read(next).body()).isEqualTo(B4M);
    assertThat(drain(1).get(0)).contains("HIT sendfile complete");
    next.close();

    // Stopping the proxy closes the files the store keeps open; a reference the cut hit kept would keep its file.
    proxy.close();
    proxy = null;
    List<String> open = openCacheFiles();
    for (int i = 0; i < 100 && !open.isEmpty(); i++) {
      Thread.sleep(50); // files close on the cache-io pool; bounded wait
      open = openCacheFiles();
    }
    assertThat(open).as("files under the cache dir still open").isEmpty();
    assertThat(origin.requests("/4m")).isEqualTo(1);
  }

  // ---------------------------------------------------------------- helpers

  private JsonObject written() {
    return new JsonObject(proxy.server.metrics().toJson()).getJsonObject("written");
  }

  private List<String> openCacheFiles() throws IOException {
    List<String> open = new ArrayList<>();
    Path dir = cacheDir.toRealPath();
    try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
      for (Path fd : (Iterable<Path>) fds::iterator) {
        try {
          Path target = Files.readSymbolicLink(fd);
          if (target.startsWith(dir)) {
            open.add(target.toString());
          }
        } catch (IOException e) {
          // closed meanwhile
        }
      }
    }
    return open;
  }

  /** The fields without Age's value (the two hits may be a second apart). */
  private static Set<String> withoutAge(Set<String> fields) {
    Set<String> out = new HashSet<>();
    for (String f : fields) {
      out.add(f.startsWith("age:") ? "age" : f);
    }
    return out;
  }

  private List<String> drain(int n) throws InterruptedException {
    return FastHitIT.drain(lines, n);
  }

}
