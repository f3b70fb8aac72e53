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
  private final java.util.concurrent.Executor ioExecutor;

  /**
   * @param sendfile whether plain HTTP/1.1 responses use sendfile
   * @param io where the copy path reads the file (a read may block on disk: never on an event loop)
   */
  public BodyTransfer(boolean sendfile, java.util.concurrent.Executor io) {
    this.sendfile = sendfile;
    this.ioExecutor = java.util.Objects.requireNonNull(io, "io");
  }

  /** The mode {@link #send} will use for a response on this connection. */
  public TransferMode modeFor(io.vertx.core.http.HttpServerRequest req) {
    // One eligibility rule for whole bodies and for ranges of a filling file.
    return sendfile && dev.zcproxy.proxy.internal.ResponseFiles.canSendRanges(req) ? TransferMode.SENDFILE : TransferMode.COPY;
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

  /**
   * The portable path: 64 KiB positional reads on the I/O executor, each written on the response's
   * event loop with back-pressure.
   */
  private Future<Void> copy(HttpServerResponse resp, FileChannel channel, long offset, long length) {
    if (!resp.headWritten() && resp.headers().get("content-length") == null) {
      resp.putHeader("content-length", Long.toString(length));
    }
    CopyLoop loop = new CopyLoop(resp, channel, offset, length, io.vertx.core.Vertx.currentContext());
    loop.next();
    return loop.done.future();
  }

  private final class CopyLoop {
    final io.vertx.core.Promise<Void> done = io.vertx.core.Promise.promise();
    final HttpServerResponse resp;
    final FileChannel channel;
    final io.vertx.core.Context context;
    long pos;
    final long end;

    CopyLoop(HttpServerResponse resp, FileChannel channel, long offset, long length, io.vertx.core.Context context) {
      this.resp = resp;
      this.channel = channel;
      this.pos = offset;
      this.end = offset + length;
      this.context = context;
    }

    /** Reads the next chunk off the event loop, then writes it on it. */
    void next() {
      int n = (int) Math.min(COPY_CHUNK, end - pos);
      long at = pos;
      ioExecutor.execute(() -> {
        ByteBuffer bb = ByteBuffer.allocate(n);
        IOException failure = null;
        try {
          while (bb.hasRemaining()) {
            int r = channel.read(bb, at + bb.position());
            if (r < 0) {
              throw new IOException("cache file shorter than its header says");
            }
          }
        } catch (IOException e) {
          failure = e;
        }
        IOException f = failure;
        context.runOnContext(v -> write(bb, n, f));
      });
    }

    private void write(ByteBuffer bb, int n, IOException failure) {
      if (failure != null) {
        resp.reset();
        done.tryFail(failure);
        return;
      }
      pos += n;
      Future<Void> written = resp.write(Buffer.buffer(bb.array()));
      if (pos >= end) {
        resp.end().onComplete(done);
        return;
      }
      // Read the next chunk once this one is in the socket: Vert.x 5's writeQueueFull() counts messages,
      // not bytes (16 queued 64 KiB chunks per client), so a client that never reads would hold 1 MiB of
      // heap each. Waiting for the write bounds it to one chunk.
      written.onComplete(ar -> {
        if (ar.failed()) {
          done.tryFail(ar.cause());
        } else {
          next();
        }
      });
    }
  }
}
