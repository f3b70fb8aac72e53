package dev.zcproxy.proxy.it;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;

/**
 * An origin that speaks raw bytes on 127.0.0.1 (port 0), for origins that misbehave on the wire: each
 * request head (bodies are not expected) is handed with its socket to a script that writes whatever it
 * likes. Counts requests and connections, and records the request heads.
 */
final class RawOrigin implements AutoCloseable {
  /** One request: its number (from 1), its head as text, and the connection it came on. */
  record Request(int n, String head, NetSocket socket) {}

  private final Vertx vertx = Vertx.vertx();
  private final NetServer server;
  final AtomicInteger requests = new AtomicInteger();
  final AtomicInteger connections = new AtomicInteger();
  final List<String> heads = new CopyOnWriteArrayList<>();
  /** Connections open now, and the most open at once. */
  final AtomicInteger open = new AtomicInteger();
  final AtomicInteger mostOpen = new AtomicInteger();
  /** Counted down each time a connection closes. */
  volatile CountDownLatch closed = new CountDownLatch(1);

  private RawOrigin(NetServerOptions options, BiConsumer<Request, NetSocket> script) throws Exception {
    server = vertx.createNetServer(options).connectHandler(socket -> {
      connections.incrementAndGet();
      mostOpen.accumulateAndGet(open.incrementAndGet(), Math::max);
      socket.closeHandler(v -> {
        open.decrementAndGet();
        closed.countDown();
      });
      StringBuilder pending = new StringBuilder();
      socket.handler(buf -> {
        pending.append(buf.toString(StandardCharsets.ISO_8859_1));
        int end;
        while ((end = pending.indexOf("\r\n\r\n")) >= 0) {
          String head = pending.substring(0, end + 4);
          pending.delete(0, end + 4);
          heads.add(head);
          script.accept(new Request(requests.incrementAndGet(), head, socket), socket);
        }
      });
    }).listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  static RawOrigin start(BiConsumer<Request, NetSocket> script) throws Exception {
    return new RawOrigin(new NetServerOptions(), script);
  }

  /** With server options: {@code setSoLinger(0)} makes a close reset the connection. */
  static RawOrigin start(NetServerOptions options, BiConsumer<Request, NetSocket> script) throws Exception {
    return new RawOrigin(options, script);
  }

  String url() {
    return "http://127.0.0.1:" + server.actualPort();
  }

  static void write(NetSocket socket, String text) {
    socket.write(Buffer.buffer(text.getBytes(StandardCharsets.ISO_8859_1)));
  }

  @Override
  public void close() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }
}
