package dev.zcproxy.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Origins that fail: truncate, reset or stall mid-response, refuse connections, accept and never answer,
 * answer garbage. For each: what the client gets (a short body is never delivered as complete: the
 * connection closes before the declared length), how many requests the origin saw (never one sent
 * twice), and that nothing is stored (the next request goes to the origin again). Stored (fill) and
 * passed (relay) responses, by splice and by copy ({@code transfer.splice: false}).
 */
class OriginFaultIT {
  @TempDir
  Path cacheDir;

  private static final int DECLARED = 600_000; // above transfer.splice-min-size: spliced when splice is on
  private static final int SENT = 100_000;

  /** How the origin fails after the head of a 200 with Content-Length DECLARED (or chunked). */
  enum Fault { TRUNCATE, TRUNCATE_CHUNKED, RESET, STALL_AFTER_HEAD, STALL_MID_BODY }

  static Stream<Arguments> faults() {
    List<Arguments> all = new ArrayList<>();
    for (Fault f : Fault.values()) {
      for (boolean cacheable : new boolean[] {true, false}) {
        for (boolean splice : new boolean[] {true, false}) {
          all.add(Arguments.of(f, cacheable, splice));
        }
      }
    }
    return all.stream();
  }

  private static BiConsumer<RawOrigin.Request, NetSocket> script(Fault fault, boolean cacheable) {
    String cc = cacheable ? "max-age=600" : "no-store";
    boolean chunked = fault == Fault.TRUNCATE_CHUNKED;
    String head = "HTTP/1.1 200 OK\r\nCache-Control: " + cc + "\r\n"
        + (chunked ? "Transfer-Encoding: chunked\r\n" : "Content-Length: " + DECLARED + "\r\n") + "\r\n";
    return (r, s) -> {
      RawOrigin.write(s, head);
      switch (fault) {
        case STALL_AFTER_HEAD -> { }
        case STALL_MID_BODY -> s.write(Buffer.buffer(new byte[SENT]));
        case TRUNCATE, RESET -> s.write(Buffer.buffer(new byte[SENT])).onComplete(v -> s.close());
        case TRUNCATE_CHUNKED -> {
          for (int i = 0; i < 4; i++) {
            RawOrigin.write(s, Integer.toHexString(16_384) + "\r\n");
            s.write(Buffer.buffer(new byte[16_384]));
            RawOrigin.write(s, "\r\n");
          }
          s.write(Buffer.buffer()).onComplete(v -> s.close());
        }
      }
    };
  }

  /**
   * What a raw client read until the proxy closed: the head as text and how many body bytes followed
   * ({@code null} from {@link #get} when the proxy closed without sending anything).
   */
  record Received(String head, int bodyBytes, String tail) {
    int status() {
      return Integer.parseInt(head.substring(9, 12));
    }
  }

  static Received get(int port, String path) throws Exception {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
      s.setSoTimeout(20_000); // every fault below must end in a close well before this
      s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: faults.test\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
      byte[] all = HalfCloseIT.readToEof(s.getInputStream()).getBytes(StandardCharsets.ISO_8859_1);
      String text = new String(all, StandardCharsets.ISO_8859_1);
      int end = text.indexOf("\r\n\r\n");
      if (end < 0) {
        assertThat(all).as("nothing but a whole head is sent").isEmpty();
        return null;
      }
      String tail = text.substring(Math.max(end + 4, text.length() - 7));
      return new Received(text.substring(0, end + 4), all.length - end - 4, tail);
    }
  }

  @ParameterizedTest(name = "{0} cacheable={1} splice={2}")
  @MethodSource("faults")
  void aFailingOriginNeverYieldsACompleteLookingBodyNorAStoredOne(Fault fault, boolean cacheable, boolean splice) throws Exception {
    NetServerOptions options = new NetServerOptions();
    if (fault == Fault.RESET) {
      options.setSoLinger(0); // close() sends RST
    }
    try (RawOrigin origin = RawOrigin.start(options, script(fault, cacheable));
        ProxyFixture proxy = ProxyFixture.start(origin.url(), cacheDir, "origin.idle-timeout: 1s", "transfer.splice: " + splice)) {
      for (int attempt = 1; attempt <= 2; attempt++) {
        Received got = get(proxy.server.port(), "/f");
        if (got == null) {
          // Only when no body byte came: a passed response's head goes out with its first body bytes
          // (copy path), so the client sees the connection close with no response at all.
          assertThat(fault).isEqualTo(Fault.STALL_AFTER_HEAD);
          assertThat(origin.requests).hasValue(attempt);
          continue;
        }
        assertThat(got.status()).isEqualTo(200);
        if (fault == Fault.TRUNCATE_CHUNKED) {
          assertThat(got.head().toLowerCase(java.util.Locale.ROOT)).contains("transfer-encoding: chunked");
          assertThat(got.tail()).as("no last chunk").doesNotEndWith("0\r\n\r\n");
        } else {
          assertThat(got.head().toLowerCase(java.util.Locale.ROOT)).contains("content-length: " + DECLARED);
          assertThat(got.bodyBytes()).as("closed before the declared length").isLessThan(DECLARED);
        }
        // Each client request reached the origin once: the broken response was not stored, not retried.
        assertThat(origin.requests).hasValue(attempt);
        assertThat(proxy.server.store().entryCount()).isZero();
      }
    }
  }

  @Test
  void anOriginThatAcceptsAndNeverAnswersIs504EachTime() throws Exception {
    try (RawOrigin origin = RawOrigin.start((r, s) -> { });
        ProxyFixture proxy = ProxyFixture.start(origin.url(), cacheDir, "origin.first-byte-timeout: 500ms")) {
      for (int attempt = 1; attempt <= 2; attempt++) {
        var r = proxy.get("/silent");
        assertThat(r.statusCode()).isEqualTo(504);
        assertThat(r.headers().firstValue("cache-status")).hasValueSatisfying(v -> assertThat(v).contains("detail=origin-timeout"));
        assertThat(origin.requests).hasValue(attempt);
      }
      assertThat(proxy.server.store().entryCount()).isZero();
    }
  }

  @Test
  void anOriginThatAnswersGarbageIs502AndTheRequestIsNotSentTwice() throws Exception {
    try (RawOrigin origin = RawOrigin.start((r, s) -> RawOrigin.write(s, "SPDY/9 what is this\r\nnot: http\r\n\r\nbody"));
        ProxyFixture proxy = ProxyFixture.start(origin.url(), cacheDir)) {
      for (int attempt = 1; attempt <= 2; attempt++) {
        var r = proxy.get("/garbage");
        assertThat(r.statusCode()).isEqualTo(502);
        assertThat(origin.requests).hasValue(attempt);
      }
      assertThat(proxy.server.store().entryCount()).isZero();
    }
  }

  @Test
  void anOriginThatRefusesConnectionsIs502EachTime() throws Exception {
    int deadPort;
    try (var s = new java.net.ServerSocket(0)) {
      deadPort = s.getLocalPort();
    }
    try (ProxyFixture proxy = ProxyFixture.start("http://127.0.0.1:" + deadPort, cacheDir)) {
      for (int attempt = 1; attempt <= 2; attempt++) {
        var r = proxy.get("/refused");
        assertThat(r.statusCode()).isEqualTo(502);
        assertThat(r.headers().firstValue("cache-status")).hasValueSatisfying(v -> assertThat(v).contains("detail=origin-unreachable"));
      }
      assertThat(proxy.server.store().entryCount()).isZero();
    }
  }
}
