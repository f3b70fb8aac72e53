package dev.zcproxy.proxy.internal;

import io.netty.channel.ChannelFuture;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.impl.VertxConnection;
import java.nio.channels.FileChannel;

/**
 * Sends ranges of a file into an HTTP/1.1 response body that is already under way, with sendfile: the
 * piece Vert.x's public API lacks for serving a cache file while it is still being filled.
 *
 * <p>Uses the internal {@code VertxConnection.sendFile(FileChannel, long, long)}, which queues a Netty
 * {@code FileRegion} behind whatever the response already wrote (DESIGN.md §3). The public
 * {@code HttpServerResponse.sendFile} can only send a whole body once. Callers check
 * {@link #canSendRanges} and keep a copy path for every other case.
 */
public final class ResponseFiles {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ResponseFiles.class);
  /**
   * {@code VertxConnection.sendFile} splits a range of this many bytes and more into pieces itself and logs each
   * piece that fails (a client that hung up: {@code sendfile(..) failed with error(-32): Broken pipe}) at ERROR.
   */
  public static final long VERTX_CHUNK = 1024 * 1024;
  /** The piece this sends at a time: below {@link #VERTX_CHUNK}, page-aligned. */
  private static final long PIECE = VERTX_CHUNK - 4096;

  private ResponseFiles() {}

  /**
   * Whether {@link #sendRange} will move bytes with sendfile on this request's connection: plain
   * (no TLS) HTTP/1.x on a Vert.x connection that supports file regions.
   */
  public static boolean canSendRanges(HttpServerRequest req) {
    return !req.isSSL() && req.version() != HttpVersion.HTTP_2 && req.connection() instanceof VertxConnection;
  }

  /**
   * Appends {@code length} bytes of {@code file} from {@code offset} to the response body of {@code req}.
   * The response head must have been written (with a Content-Length). Call on the request's event loop;
   * the future completes when the bytes were handed to the socket, and fails quietly (no log line) when the
   * client went away first. The channel stays open.
   */
  public static Future<Void> sendRange(HttpServerRequest req, FileChannel file, long offset, long length) {
    VertxConnection conn = (VertxConnection) req.connection();
    Promise<Void> done = Promise.promise();
    sendPieces(conn, file, offset, length, done);
    return done.future();
  }

  /**
   * Sends the range in pieces below {@link #VERTX_CHUNK}, each once the one before was handed to the socket, as
   * Vert.x does for a longer range itself, but without its ERROR line per failed piece: a client that hangs up
   * during a large body is an ordinary event, reported by {@code done} failing (counted and logged by the caller).
   */
  private static void sendPieces(VertxConnection conn, FileChannel file, long offset, long length, Promise<Void> done) {
    long piece = Math.min(length, PIECE);
    ChannelFuture f = conn.sendFile(file, offset, piece);
    f.addListener(x -> {
      if (!x.isSuccess()) {
        LOG.debug("file range to {} not sent: {}", conn.remoteAddress(), x.cause().toString());
        done.tryFail(x.cause());
      } else if (piece < length) {
        sendPieces(conn, file, offset + piece, length - piece, done);
      } else {
        done.tryComplete();
      }
    });
  }
}
