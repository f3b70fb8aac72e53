package dev.zcproxy.proxy.transfer;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.function.LongConsumer;

/**
 * Carries out {@link TransferPlan}s: writes stored bodies and ranges of filling files to clients (with
 * sendfile, or with the one copy loop of this proxy), and splices origin bodies, through the
 * {@link TransferPlatform}.
 *
 * <p>Vert.x issues {@code sendfile(2)} for {@link HttpServerResponse#sendFile(FileChannel, long, long)}
 * on a plain HTTP/1.1 connection without compression (DESIGN.md §3); on any other it copies, which the
 * {@link TransferPlanner} counts as a fallback when the plan said sendfile.
 */
public final class BodyTransfer {
  /** Chunk of a whole stored body: a hit's copy. */
  private static final int COPY_CHUNK = 64 * 1024;
  /** Chunk of a filling file's range: fewer hops for the many readers a coalesced fill can have. */
  private static final int RANGE_CHUNK = 256 * 1024;
  /**
   * Bodies of this length and more go the range way even with a Content-Type: Vert.x's own {@code sendFile} splits
   * them into 1 MiB pieces and logs a client that hangs up during one at ERROR; the range way reports it quietly.
   */
  private static final long QUIET_FROM = 1024 * 1024;
  private final Executor ioExecutor;
  private final TransferPlatform platform;

  /**
   * @param io where the copy loop reads files (a read may block on disk: never on an event loop)
   * @param platform the operations below the public Vert.x API
   */
  public BodyTransfer(Executor io, TransferPlatform platform) {
    this.ioExecutor = Objects.requireNonNull(io, "io");
    this.platform = Objects.requireNonNull(platform, "platform");
  }

  /** The operations below the public Vert.x API this uses (and the planner asks). */
  public TransferPlatform platform() {
    return platform;
  }

  /**
   * Sends {@code length} bytes of {@code channel} from {@code offset} as the rest of the response and
   * ends it, by sendfile when {@code mode} says so, else by copying. The head (status, headers including
   * Content-Length) must be set, not yet written. The caller keeps ownership of the channel and closes
   * it when the future completes. Call on the response's event loop.
   */
  private Future<Void> send(HttpServerResponse resp, TransferMode mode, FileChannel channel, long offset, long length) {
    if (length == 0) {
      return resp.end();
    }
    if (mode == TransferMode.SENDFILE) {
      return resp.sendFile(channel, offset, length);
    }
    if (!resp.headWritten() && resp.headers().get("content-length") == null) {
      resp.putHeader("content-length", Long.toString(length));
    }
    return copy(resp, channel, offset, length, COPY_CHUNK, n -> {}).transform(ar -> {
      if (ar.succeeded()) {
        return resp.end();
      }
      resp.reset(); // a short body must never look complete
      return Future.failedFuture(ar.cause());
    });
  }

  /**
   * {@link #send(HttpServerResponse, TransferMode, FileChannel, long, long)} for {@code req}'s response, which
   * adds no field: Vert.x's {@code sendFile(FileChannel, ...)} sets {@code Content-Type: application/octet-stream}
   * on a response without one, and a cache must not add a field the origin did not send. Such a response's
   * head is written first and the file region queued behind it (still sendfile); so is any body of
   * {@link #QUIET_FROM} and more, whose client may hang up mid-body without an ERROR line.
   */
  public Future<Void> send(HttpServerRequest req, TransferMode mode, FileChannel channel, long offset, long length) {
    HttpServerResponse resp = req.response();
    if (mode != TransferMode.SENDFILE || length == 0 || resp.headers().contains("content-type") && length < QUIET_FROM
        || req.isSSL() || req.version() == io.vertx.core.http.HttpVersion.HTTP_2) {
      return send(resp, mode, channel, offset, length);
    }
    resp.write(Buffer.buffer()); // the head alone (Content-Length is set): the region goes behind it
    return sendRange(req, mode, channel, offset, length, n -> {}).transform(ar -> {
      if (ar.succeeded()) {
        return resp.end();
      }
      resp.reset(); // a short body must never look complete
      return Future.failedFuture(ar.cause());
    });
  }

  /**
   * Appends {@code length} bytes of {@code channel} from {@code offset} to a response body under way
   * (its head written), by sendfile when {@code mode} says so, else by copying; {@code progress} gets
   * the bytes of each finished write. Call on the request's event loop.
   */
  public Future<Void> sendRange(HttpServerRequest req, TransferMode mode, FileChannel channel, long offset, long length,
      LongConsumer progress) {
    if (mode == TransferMode.SENDFILE) {
      return platform.sendRange(req, channel, offset, length).onSuccess(v -> progress.accept(length));
    }
    return copy(req.response(), channel, offset, length, RANGE_CHUNK, progress);
  }

  /**
   * The copy loop: positional reads of {@code chunk} bytes on the I/O executor, each written on the caller's event loop
   * once the previous write is in the socket. Vert.x 5's {@code writeQueueFull()} counts messages, not
   * bytes, so waiting for each write is what bounds the heap a client that never reads can hold to one
   * chunk. Does not end the response.
   */
  private Future<Void> copy(HttpServerResponse resp, FileChannel channel, long offset, long length, int chunk,
      LongConsumer progress) {
    Context context = Objects.requireNonNull(io.vertx.core.Vertx.currentContext(), "call on an event loop");
    CopyLoop loop = new CopyLoop(resp, channel, offset, offset + length, chunk, context, progress);
    loop.next();
    return loop.done.future();
  }

  private final class CopyLoop {
    final Promise<Void> done = Promise.promise();
    final HttpServerResponse resp;
    final FileChannel channel;
    final Context context;
    final LongConsumer progress;
    final int chunk;
    long pos;
    final long end;

    CopyLoop(HttpServerResponse resp, FileChannel channel, long from, long end, int chunk, Context context,
        LongConsumer progress) {
      this.chunk = chunk;
      this.resp = resp;
      this.channel = channel;
      this.pos = from;
      this.end = end;
      this.context = context;
      this.progress = progress;
    }

    /** Reads the next chunk off the event loop, then writes it on it. */
    void next() {
      if (pos >= end) {
        done.tryComplete();
        return;
      }
      int n = (int) Math.min(chunk, end - pos);
      long at = pos;
      try {
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
      } catch (java.util.concurrent.RejectedExecutionException stopping) {
        done.tryFail(stopping);
      }
    }

    private void write(ByteBuffer bb, int n, IOException failure) {
      if (failure != null) {
        done.tryFail(failure);
        return;
      }
      resp.write(Buffer.buffer(bb.array())).onComplete(ar -> {
        if (ar.failed()) {
          done.tryFail(ar.cause());
          return;
        }
        pos += n;
        progress.accept(n);
        next();
      });
    }
  }

  /** Stops Vert.x reading the origin socket: call in the response handler of a body planned to splice. */
  public void holdOrigin(HttpClientResponse cres) {
    platform.holdOrigin(cres);
  }

  /** Undoes {@link #holdOrigin}: the splice did not start, Vert.x reads and decodes the body again. */
  public void releaseOrigin(HttpClientResponse cres) {
    platform.releaseOrigin(cres);
  }

  /** Splices the next {@code length} body bytes from the origin socket to the client socket (see {@code BodySplice}). */
  public Future<Void> spliceToClient(HttpClientResponse cres, HttpServerRequest req, long length, long idleMillis) {
    return platform.spliceToClient(cres, req, length, idleMillis);
  }

  /**
   * Relays the rest of {@code cres}'s body to {@code req}'s client as the origin connection's own buffers,
   * when the platform can (see {@code BodyForward}); false: nothing changed, copy through Vert.x.
   */
  public boolean forwardToClient(HttpClientResponse cres, HttpServerRequest req, java.util.function.IntConsumer forwarded) {
    return platform.forwardToClient(cres, req, forwarded);
  }

  /**
   * Relays the body bytes that came with {@code cres}'s head to {@code req}'s client as the origin
   * connection's own buffers before the rest is spliced, when the platform can; false: copy them through Vert.x.
   */
  public boolean forwardPrefixToClient(HttpClientResponse cres, HttpServerRequest req, java.util.function.IntConsumer forwarded) {
    return platform.forwardPrefixToClient(cres, req, forwarded);
  }

  /**
   * Why a fill cannot splice into this open file (its descriptor is not reachable); {@code null} when it
   * can. Ask right before {@link #spliceToFile}: nothing has been read from the origin then, so the fill
   * can still copy.
   */
  public String whyNotSpliceInto(FileChannel file) {
    return platform.whyNotSpliceInto(file);
  }

  /** Splices the next {@code length} body bytes from the origin socket into {@code file} at {@code offset} (see {@code BodySplice}). */
  public Future<Void> spliceToFile(HttpClientResponse cres, FileChannel file, long offset, long length, long idleMillis,
      LongConsumer chunkDone) {
    return platform.spliceToFile(cres, file, offset, length, idleMillis, chunkDone);
  }
}
