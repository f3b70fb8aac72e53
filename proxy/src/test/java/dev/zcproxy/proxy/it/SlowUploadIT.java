package dev.zcproxy.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Request bodies are read in full before the origin is contacted: slow uploaders hold no origin
 * connection and get 408, oversized bodies get 413, large bodies go through a temp file that is always
 * deleted, and {@code Expect: 100-continue} still works.
 */
class SlowUploadIT extends OriginAndProxy {
  @TempDir
  Path bodyDir;
  @RegisterExtension
  final AccessLogCapture access = new AccessLogCapture();
  final List<Socket> sockets = new ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    origin.route("/upload", req -> req.body().onSuccess(b -> {
      try {
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b.getBytes()));
        req.response().putHeader("Cache-Control", "no-store").end(b.length() + " " + sha);
      } catch (Exception e) {
        req.response().setStatusCode(500).end();
      }
    }));
    for (int i = 0; i < 5; i++) {
      origin.serve("/miss" + i, ("miss " + i).getBytes(), "Cache-Control", "max-age=600");
    }
    proxy = ProxyFixture.start(origin.url(), cacheDir, "logging.access-log: stdout", "origin.max-connections: 2",
        "listen.body-timeout: 1500ms", "listen.body-buffer-size: 16KiB", "listen.body-buffer-total: 64KiB",
        "listen.max-body-size: 1MiB", "listen.body-temp-dir: " + bodyDir);
  }

  @AfterEach
  void stop() throws Exception {
    for (Socket s : sockets) {
      s.close();
    }
  }

  Socket open() throws Exception {
    Socket s = new Socket("127.0.0.1", proxy.server.port());
    s.setSoTimeout(15_000);
    sockets.add(s);
    return s;
  }

  static void send(Socket s, String text) throws Exception {
    s.getOutputStream().write(text.getBytes(StandardCharsets.ISO_8859_1));
    s.getOutputStream().flush();
  }

  static String readToClose(Socket s) throws Exception {
    InputStream in = s.getInputStream();
    ByteArrayOutputStream got = new ByteArrayOutputStream();
    byte[] buf = new byte[8192];
    try {
      int n;
      while ((n = in.read(buf)) > 0) {
        got.write(buf, 0, n);
      }
    } catch (SocketTimeoutException e) {
      got.write("<<timeout>>".getBytes(StandardCharsets.ISO_8859_1));
    }
    return got.toString(StandardCharsets.ISO_8859_1);
  }

  List<String> accessLines() {
    return List.copyOf(access.lines);
  }

  long tempFiles() throws Exception {
    try (Stream<Path> files = Files.list(bodyDir)) {
      return files.count();
    }
  }

  @Test
  void fiftySlowUploadersHoldNoOriginConnectionAndGet408() throws Exception {
    int n = 50;
    List<Socket> slow = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      Socket s = open();
      send(s, "POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\nx");
      slow.add(s);
    }
    ScheduledExecutorService trickle = Executors.newSingleThreadScheduledExecutor();
    try {
      // One more byte each every 500 ms: always under the 1.5 s body timeout while the misses run.
      trickle.scheduleAtFixedRate(() -> {
        for (Socket s : slow) {
          try {
            send(s, "x");
          } catch (Exception e) {
            // the proxy closed it: counted below
          }
        }
      }, 500, 500, TimeUnit.MILLISECONDS);
      // Two origin connections only: before bodies were buffered, two uploads held them and these waited.
      for (int i = 0; i < 5; i++) {
        long t0 = System.nanoTime();
        HttpResponse<byte[]> r = proxy.get("/miss" + i);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(new String(r.body())).isEqualTo("miss " + i);
        assertThat(ms).as("a miss while %d clients upload slowly", n).isLessThan(2500);
      }
      assertThat(origin.requests("/upload")).as("no upload reached the origin unfinished").isZero();
    } finally {
      trickle.shutdownNow();
      trickle.awaitTermination(5, TimeUnit.SECONDS);
    }
    // Now they stall: each gets 408 after the body timeout, and its connection is closed.
    for (Socket s : slow) {
      String r = readToClose(s);
      assertThat(r).startsWith("HTTP/1.1 408 ").containsIgnoringCase("connection: close").doesNotContain("<<timeout>>");
    }
    assertThat(origin.requests("/upload")).isZero();
    assertThat(accessLines().stream().filter(l -> l.contains("\"POST /upload HTTP/1.1\" 408 "))).hasSize(n);
    assertThat(tempFiles()).isZero();
  }

  @Test
  void aDeclaredBodyOverTheLimitIs413AtOnce() throws Exception {
    Socket s = open();
    send(s, "POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 2000000\r\nExpect: 100-continue\r\n\r\n");
    String r = readToClose(s);
    assertThat(r).startsWith("HTTP/1.1 413 ").containsIgnoringCase("connection: close").doesNotContain("100 Continue");
    assertThat(origin.totalRequests()).isZero();
    assertThat(accessLines()).hasSize(1);
    assertThat(accessLines().get(0)).contains("\"POST /upload HTTP/1.1\" 413 ");
  }

  @Test
  void aChunkedBodyOverTheLimitIs413AndItsTempFileIsDeleted() throws Exception {
    Socket s = open();
    send(s, "POST /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");
    String chunk = Integer.toHexString(64 * 1024) + "\r\n" + "y".repeat(64 * 1024) + "\r\n";
    CompletableFuture<String> answer = CompletableFuture.supplyAsync(() -> {
      try {
        return readToClose(s);
      } catch (Exception e) {
        return e.toString();
      }
    });
    try {
      for (int i = 0; i < 20 && !answer.isDone(); i++) {
        send(s, chunk);
      }
    } catch (java.io.IOException e) {
      // the proxy answered and closed while we were still sending
    }
    assertThat(answer.get(15, TimeUnit.SECONDS)).startsWith("HTTP/1.1 413 ");
    assertThat(origin.totalRequests()).isZero();
    assertThat(accessLines()).hasSize(1);
    awaitNoTempFiles();
  }

  @Test
  void aLargeBodyGoesThroughATempFileIntactAndTheFileIsDeleted() throws Exception {
    byte[] body = new byte[300 * 1024];
    for (int i = 0; i < body.length; i++) {
      body[i] = (byte) (i * 31 + 7);
    }
    Socket s = open();
    send(s, "POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: " + body.length + "\r\nConnection: close\r\n\r\n");
    OutputStream out = s.getOutputStream();
    out.write(body, 0, 100 * 1024);
    out.flush();
    // Past the 16 KiB memory bound: the body is in a temp file while the rest is awaited.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (tempFiles() == 0 && System.nanoTime() < deadline) {
      Thread.sleep(20); // bounded poll of the directory
    }
    assertThat(tempFiles()).isEqualTo(1);
    assertThat(origin.totalRequests()).isZero();
    out.write(body, 100 * 1024, body.length - 100 * 1024);
    out.flush();
    String r = readToClose(s);
    String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(body));
    assertThat(r).startsWith("HTTP/1.1 200 ").endsWith(body.length + " " + sha);
    assertThat(origin.requests("/upload")).isEqualTo(1);
    assertThat(origin.lastRequestHeaders().get("content-length")).isEqualTo(Integer.toString(body.length));
    awaitNoTempFiles();
  }

  @Test
  void aClientThatLeavesMidBodyLeavesNoTempFile() throws Exception {
    Socket s = open();
    send(s, "POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 500000\r\n\r\n" + "z".repeat(100_000));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (tempFiles() == 0 && System.nanoTime() < deadline) {
      Thread.sleep(20); // bounded poll of the directory
    }
    assertThat(tempFiles()).isEqualTo(1);
    s.close();
    awaitNoTempFiles();
    assertThat(origin.totalRequests()).isZero();
  }

  @Test
  void expect100ContinueStillWorks() throws Exception {
    Socket s = open();
    send(s, "POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n");
    InputStream in = s.getInputStream();
    byte[] interim = in.readNBytes("HTTP/1.1 100 Continue\r\n\r\n".length());
    assertThat(new String(interim, StandardCharsets.ISO_8859_1)).isEqualTo("HTTP/1.1 100 Continue\r\n\r\n");
    assertThat(origin.totalRequests()).isZero();
    send(s, "hello");
    String r = readToClose(s);
    assertThat(r).startsWith("HTTP/1.1 200 ").contains("5 " + HexFormat.of().formatHex(
        MessageDigest.getInstance("SHA-256").digest("hello".getBytes(StandardCharsets.ISO_8859_1))));
    assertThat(origin.lastRequestHeaders().get("expect")).isNull();
  }

  void awaitNoTempFiles() throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (tempFiles() > 0 && System.nanoTime() < deadline) {
      Thread.sleep(20); // the delete runs on Vert.x's blocking pool: poll, bounded
    }
    assertThat(tempFiles()).isZero();
  }
}
