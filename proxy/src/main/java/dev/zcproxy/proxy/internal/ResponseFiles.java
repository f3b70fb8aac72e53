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
   * the future completes when the bytes were handed to the socket. The channel stays open.
   */
  public static Future<Void> sendRange(HttpServerRequest req, FileChannel file, long offset, long length) {
    VertxConnection conn = (VertxConnection) req.connection();
    Promise<Void> done = Promise.promise();
    ChannelFuture f = conn.sendFile(file, offset, length);
    f.addListener(x -> {
      if (x.isSuccess()) {
        done.tryComplete();
      } else {
        done.tryFail(x.cause());
      }
    });
    return done.future();
  }
}
