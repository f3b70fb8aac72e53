package dev.zcproxy.proxy.transfer;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerResponse;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/**
 * Writes a stored body to the client: with sendfile on plain HTTP/1.1 and by copying otherwise, and
 * reports which it used.
 *
 * <p>Vert.x issues {@code sendfile(2)} for {@link HttpServerResponse#sendFile(FileChannel, long, long)}
 * on a plain HTTP/1.1 connection without compression (DESIGN.md §3); {@code forceCopy} makes every
 * send go through buffers instead, which the tests use to check both paths behave the same.
 */
public final class BodyTransfer {
  private static final int COPY_CHUNK = 64 * 1024;
  private final boolean sendfile;

  public BodyTransfer(boolean sendfile) {
    this.sendfile = sendfile;
  }

  /** The mode {@link #send} will use for a response on this connection. */
  public TransferMode modeFor(HttpServerResponse resp, boolean ssl, boolean http2) {
    return sendfile && !ssl && !http2 ? TransferMode.SENDFILE : TransferMode.COPY;
  }

  /**
   * Sends {@code length} bytes of {@code channel} from {@code offset} as the rest of the response and
   * ends it. The head (status, headers including Content-Length) must be set, not yet written.
   * The caller keeps ownership of the channel and closes it when the future completes.
   */
  public Future<Void> send(HttpServerResponse resp, TransferMode mode, FileChannel channel, long offset, long length) {
    if (length == 0) {
      return resp.end();
    }
    if (mode == TransferMode.SENDFILE) {
      return resp.sendFile(channel, offset, length);
    }
    return copy(resp, channel, offset, length);
  }

  /** The portable path: positional reads of 64 KiB written with back-pressure. Reads hit the page cache. */
  private static Future<Void> copy(HttpServerResponse resp, FileChannel channel, long offset, long length) {
    if (!resp.headWritten() && resp.headers().get("content-length") == null) {
      resp.putHeader("content-length", Long.toString(length));
    }
    CopyLoop loop = new CopyLoop(resp, channel, offset, length);
    loop.pump();
    return loop.done.future();
  }

  private static final class CopyLoop {
    final io.vertx.core.Promise<Void> done = io.vertx.core.Promise.promise();
    final HttpServerResponse resp;
    final FileChannel channel;
    long pos;
    final long end;

    CopyLoop(HttpServerResponse resp, FileChannel channel, long offset, long length) {
      this.resp = resp;
      this.channel = channel;
      this.pos = offset;
      this.end = offset + length;
    }

    void pump() {
      try {
        while (pos < end) {
          int n = (int) Math.min(COPY_CHUNK, end - pos);
          ByteBuffer bb = ByteBuffer.allocate(n);
          while (bb.hasRemaining()) {
            int r = channel.read(bb, pos + bb.position());
            if (r < 0) {
              throw new IOException("cache file shorter than its header says");
            }
          }
          bb.flip();
          pos += n;
          resp.write(Buffer.buffer(bb.array()));
          if (resp.writeQueueFull() && pos < end) {
            resp.drainHandler(v -> pump());
            return;
          }
        }
        resp.end().onComplete(done);
      } catch (IOException e) {
        resp.reset();
        done.tryFail(e);
      }
    }
  }
}
