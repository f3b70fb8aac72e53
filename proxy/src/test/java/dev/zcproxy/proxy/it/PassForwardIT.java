package dev.zcproxy.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.NetSocket;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntConsumer;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Pass-through bodies below the splice size go to the client as the origin connection's own buffers
 * ({@code BodyForward}), or, when that cannot be, copied through Vert.x: either way the client gets the same
 * bytes and framing, the origin connection goes back to the pool, an origin that cuts the body short aborts the
 * client, and a client that stops reading stops the origin (its leaving closes the origin connection). A body
 * above the splice size has the bytes that came with its head forwarded (or copied) before the splice, and a
 * slow client still gets them in order. Each test runs both ways; the forward way counts that the forward was taken.
 */
class PassForwardIT {
  @TempDir
  Path cacheDir;

  private static byte[] head(long length, String extra) {
    return ("HTTP/1.1 200 OK\r\nContent-Length: " + length + "\r\nCache-Control: no-store\r\n" + extra + "\r\n")
        .getBytes(StandardCharsets.ISO_8859_1);
  }

  private static ProxyFixture proxy(RawOrigin origin, Path cacheDir, Counting platform, String... yaml) throws Exception {
    return ProxyFixture.start(ProxyFixture.config(origin.url(), cacheDir, yaml), platform);
  }

  @ParameterizedTest(name = "forward={0}")
  @ValueSource(booleans = {true, false})
  void smallBodiesPassByteIdenticalOnOneOriginConnection(boolean forward) throws Exception {
    int[] sizes = {1024, 16 * 1024, 150 * 1024};
    Counting platform = new Counting(forward);
    try (RawOrigin origin = RawOrigin.start((r, s) -> {
          byte[] body = CachingIT.body(sizes[(r.n() - 1) % sizes.length], r.n());
          s.write(Buffer.buffer(head(body.length, "")).appendBytes(body));
        });
        ProxyFixture proxy = proxy(origin, cacheDir, platform)) {
      for (int i = 1; i <= 6; i++) {
        HttpResponse<byte[]> got = proxy.get("/s" + i);
        assertThat(got.statusCode()).isEqualTo(200);
        assertThat(got.headers().firstValue("content-length")).hasValue(Integer.toString(sizes[(i - 1) % sizes.length]));
        assertThat(got.body()).as("body %d", i).isEqualTo(CachingIT.body(sizes[(i - 1) % sizes.length], i));
      }
      assertThat(origin.requests).hasValue(6);
      assertThat(origin.connections).as("every response left the origin connection reusable").hasValue(1);
      assertThat(platform.taken).as("bodies forwarded below Vert.x").hasValue(forward ? 6 : 0);
    }
  }

  @ParameterizedTest(name = "forward={0}")
  @ValueSource(booleans = {true, false})
  void aChunkedBodyWithTrailersReachesTheClientWholeAndTheConnectionIsReused(boolean forward) throws Exception {
    byte[] a = CachingIT.body(1000, 1);
    byte[] b = CachingIT.body(20_000, 2);
    byte[] c = CachingIT.body(5, 3);
    ByteArrayOutputStream whole = new ByteArrayOutputStream();
    whole.write(a);
    whole.write(b);
    whole.write(c);
    Counting platform = new Counting(forward);
    try (RawOrigin origin = RawOrigin.start((r, s) -> {
          Buffer out = Buffer.buffer("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nCache-Control: no-store\r\n\r\n");
          for (byte[] part : new byte[][] {a, b, c}) {
            out.appendString(Integer.toHexString(part.length) + "\r\n").appendBytes(part).appendString("\r\n");
          }
          s.write(out.appendString("0\r\nX-Checksum: abc\r\n\r\n"));
        });
        ProxyFixture proxy = proxy(origin, cacheDir, platform)) {
      for (int i = 0; i < 2; i++) {
        HttpResponse<byte[]> got = proxy.get("/c" + i);
        assertThat(got.statusCode()).isEqualTo(200);
        assertThat(got.body()).isEqualTo(whole.toByteArray());
      }
      assertThat(origin.connections).hasValue(1);
      assertThat(platform.taken).hasValue(forward ? 2 : 0);
    }
  }

  @ParameterizedTest(name = "forward={0}")
  @ValueSource(booleans = {true, false})
  void anOriginThatCutsTheBodyShortAbortsTheClient(boolean forward) throws Exception {
    byte[] body = CachingIT.body(100_000, 5);
    Counting platform = new Counting(forward);
    try (RawOrigin origin = RawOrigin.start((r, s) -> {
          if (r.n() == 1) {
            s.write(Buffer.buffer(head(body.length, "")).appendBytes(body, 0, 40_000)).onComplete(v -> s.close());
          } else {
            s.write(Buffer.buffer(head(body.length, "")).appendBytes(body));
          }
        });
        ProxyFixture proxy = proxy(origin, cacheDir, platform)) {
      assertThatThrownBy(() -> proxy.get("/short")).as("a short body is never delivered as complete")
          .isInstanceOf(IOException.class);
      HttpResponse<byte[]> next = proxy.get("/whole");
      assertThat(next.body()).isEqualTo(body);
      assertThat(origin.requests).hasValue(2);
      assertThat(platform.taken).hasValue(forward ? 2 : 0);
    }
  }

  @ParameterizedTest(name = "forward={0}")
  @ValueSource(booleans = {true, false})
  void aClientThatStopsReadingStopsTheOriginAndItsLeavingClosesTheOriginConnection(boolean forward) throws Exception {
    long total = 64L << 20; // below the splice size set here: the whole body goes the copy/forward way
    byte[] piece = CachingIT.body(64 * 1024, 9);
    AtomicLong sent = new AtomicLong();
    Counting platform = new Counting(forward);
    try (RawOrigin origin = RawOrigin.start((r, s) -> {
          if (r.n() == 1) {
            s.write(Buffer.buffer(head(total, "")));
            pump(s, piece, total, sent);
          } else {
            s.write(Buffer.buffer(head(5, "")).appendString("after"));
          }
        });
        ProxyFixture proxy = proxy(origin, cacheDir, platform, "transfer.splice-min-size: 128MiB")) {
      try (Socket s = new Socket()) {
        s.setReceiveBufferSize(4096); // before connect: a small window, so the proxy's writes back up at once
        s.connect(new InetSocketAddress("127.0.0.1", proxy.server.port()), 5_000);
        s.getOutputStream().write(("GET /stalled HTTP/1.1\r\nHost: 127.0.0.1:" + proxy.server.port() + "\r\n\r\n")
            .getBytes(StandardCharsets.ISO_8859_1));
        InputStream in = s.getInputStream();
        assertThat(in.read()).as("the response started").isEqualTo('H');
        // Wait (bounded) until the origin stops making progress: the proxy stopped reading it.
        long last = -1;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline && sent.get() < total) {
          long now = sent.get();
          if (now == last) {
            break;
          }
          last = now;
          Thread.sleep(1_000); // progress is sampled: nothing to latch on when nothing happens
        }
        assertThat(sent.get()).as("bytes the origin could send to a proxy whose client reads nothing").isLessThan(total / 2);
      }
      assertThat(origin.closed.await(10, TimeUnit.SECONDS)).as("the client left: the origin transfer was stopped").isTrue();
      HttpResponse<byte[]> next = proxy.get("/next");
      assertThat(next.body()).isEqualTo("after".getBytes(StandardCharsets.ISO_8859_1));
      assertThat(platform.taken).hasValue(forward ? 2 : 0);
    }
  }

  @ParameterizedTest(name = "forward={0}")
  @ValueSource(booleans = {true, false})
  void theBytesThatCameWithASplicedBodysHeadReachASlowClientBeforeTheSplicedRest(boolean forward) throws Exception {
    byte[] body = CachingIT.body(1 << 20, 21); // above transfer.splice-min-size: spliced after what came with the head
    CountDownLatch originWrote = new CountDownLatch(1);
    Counting platform = new Counting(forward);
    try (RawOrigin origin = RawOrigin.start((r, s) -> s.write(Buffer.buffer(head(body.length, "")).appendBytes(body))
            .onComplete(v -> originWrote.countDown()));
        ProxyFixture proxy = proxy(origin, cacheDir, platform)) {
      try (Socket s = new Socket()) {
        s.setReceiveBufferSize(4096); // the part written before the splice cannot all leave the proxy at once
        s.connect(new InetSocketAddress("127.0.0.1", proxy.server.port()), 5_000);
        s.setSoTimeout(10_000);
        s.getOutputStream().write(("GET /big HTTP/1.1\r\nHost: 127.0.0.1:" + proxy.server.port() + "\r\n\r\n")
            .getBytes(StandardCharsets.ISO_8859_1));
        // Read nothing until the origin has sent everything: the proxy then holds the head's part unwritten
        // while the splice is ready to start (bounded: the test goes on either way).
        originWrote.await(5, TimeUnit.SECONDS);
        InputStream in = s.getInputStream();
        ByteArrayOutputStream headBytes = new ByteArrayOutputStream();
        while (!headBytes.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
          int b = in.read();
          assertThat(b).as("the head ended").isNotNegative();
          headBytes.write(b);
        }
        assertThat(headBytes.toString(StandardCharsets.ISO_8859_1)).startsWith("HTTP/1.1 200")
            .containsIgnoringCase("content-length: " + body.length);
        assertThat(in.readNBytes(body.length)).as("the body, in order").isEqualTo(body);
      }
      HttpResponse<byte[]> next = proxy.get("/again");
      assertThat(next.body()).isEqualTo(body);
      assertThat(origin.requests).hasValue(2);
      assertThat(platform.prefixTaken).as("bodies whose first bytes were forwarded below Vert.x").hasValue(forward ? 2 : 0);
    }
  }

  /** Writes {@code left} bytes of {@code piece} repeated, as fast as the connection takes them, counting what it took. */
  private static void pump(NetSocket s, byte[] piece, long left, AtomicLong sent) {
    long rest = left;
    while (rest > 0 && !s.writeQueueFull()) {
      int n = (int) Math.min(piece.length, rest);
      s.write(Buffer.buffer(piece).slice(0, n)).onSuccess(v -> sent.addAndGet(n));
      rest -= n;
    }
    if (rest > 0) {
      long r = rest;
      s.drainHandler(v -> pump(s, piece, r, sent));
    }
  }

  /** The real platform, counting the forwards it took; or one that never forwards (the Vert.x copy path). */
  private static final class Counting extends DelegatingPlatform {
    private final boolean forward;
    final AtomicInteger taken = new AtomicInteger();
    final AtomicInteger prefixTaken = new AtomicInteger();

    Counting(boolean forward) {
      this.forward = forward;
    }

    @Override
    public boolean forwardToClient(HttpClientResponse cres, HttpServerRequest req, IntConsumer forwarded) {
      if (!forward) {
        return false;
      }
      boolean took = real.forwardToClient(cres, req, forwarded);
      if (took) {
        taken.incrementAndGet();
      }
      return took;
    }

    @Override
    public boolean forwardPrefixToClient(HttpClientResponse cres, HttpServerRequest req, IntConsumer forwarded) {
      if (!forward) {
        return false;
      }
      boolean took = real.forwardPrefixToClient(cres, req, forwarded);
      if (took) {
        prefixTaken.incrementAndGet();
      }
      return took;
    }
  }
}
