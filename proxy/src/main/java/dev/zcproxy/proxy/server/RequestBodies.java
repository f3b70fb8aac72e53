package dev.zcproxy.proxy.server;

import dev.zcproxy.proxy.config.ProxyConfig;
import dev.zcproxy.proxy.origin.OriginBody;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.file.AsyncFile;
import io.vertx.core.file.OpenOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpServerRequest;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads client request bodies in full before the origin is contacted, like nginx's
 * {@code proxy_request_buffering on}: a client that uploads slowly holds a client connection and a
 * bounded buffer, never an origin connection.
 *
 * <h2>Design notes</h2>
 * <ul>
 *   <li><b>Memory is bounded twice:</b> a body stays in memory while it is at most
 *       {@code listen.body-buffer-size} and all bodies in memory together stay under
 *       {@code listen.body-buffer-total}; otherwise it goes to a temp file in {@code listen.body-temp-dir}
 *       (nginx's {@code client_body_buffer_size} / {@code client_body_temp_path}).
 *   <li><b>Temp files are always deleted:</b> when the request ends whichever way, and those a crash left
 *       behind at start.
 *   <li><b>Limits:</b> a body over {@code listen.max-body-size} is 413 (before a byte is read when its
 *       length is declared); no byte for {@code listen.body-timeout} is 408 (nginx's
 *       {@code client_body_timeout}, measured between reads).
 * </ul>
 */
final class RequestBodies {
  private static final Logger LOG = LoggerFactory.getLogger(RequestBodies.class);
  private static final String PREFIX = "zcproxy-body-";

  /** Why a body could not be read: the status to answer with, or 0 when the client went away. */
  static final class BodyException extends Exception {
    final int status;

    BodyException(int status, String message) {
      super(message, null, false, false);
      this.status = status;
    }
  }

  private final Vertx vertx;
  private final long maxBody;
  private final long perRequest;
  private final long total;
  private final long timeoutMillis;
  private final Path tempDir;
  private final AtomicLong inMemory;

  RequestBodies(Vertx vertx, ProxyConfig.Listen config) {
    this(vertx, config, null);
  }

  /**
   * @param previous the bodies of the handler a reload replaced: their memory stays counted, and the
   *     temp files of uploads under way are not cleaned away; {@code null} at start
   */
  RequestBodies(Vertx vertx, ProxyConfig.Listen config, RequestBodies previous) {
    this.vertx = vertx;
    this.maxBody = config.maxBodyBytes();
    this.perRequest = config.bodyBufferBytes();
    this.total = config.bodyBufferTotalBytes();
    this.timeoutMillis = Math.max(1, config.bodyTimeout().toMillis());
    this.tempDir = config.bodyTempDir().toAbsolutePath().normalize();
    this.inMemory = previous == null ? new AtomicLong() : previous.inMemory;
    if (previous == null) {
      cleanLeftovers();
    }
  }

  /** Request body bytes held in memory right now, by all requests. */
  long inMemory() {
    return inMemory.get();
  }

  private void cleanLeftovers() {
    if (!Files.isDirectory(tempDir)) {
      return;
    }
    try (DirectoryStream<Path> files = Files.newDirectoryStream(tempDir, PREFIX + "*")) {
      for (Path f : files) {
        Files.deleteIfExists(f);
      }
    } catch (IOException e) {
      LOG.warn("could not clean request body temp files in {}: {}", tempDir, e.toString());
    }
  }

  /** A body of zero bytes, for a request that declared {@code Content-Length: 0}. */
  Body empty() {
    return new Body(Buffer.buffer(), null, 0, 0);
  }

  /**
   * Reads the body of {@code req} (paused, on its event loop) to its end.
   *
   * @param declared the declared Content-Length, or -1 for a chunked body
   * @param beforeRead run once the body may be read (sends {@code 100 Continue} when the client waits for it)
   */
  Future<Body> read(HttpServerRequest req, long declared, Runnable beforeRead) {
    if (declared > maxBody) {
      return Future.failedFuture(new BodyException(413, "request body larger than " + maxBody + " bytes"));
    }
    Reader r = new Reader(req);
    beforeRead.run();
    r.start();
    return r.done.future();
  }

  /** One body being read; everything runs on the request's event loop. */
  private final class Reader {
    final HttpServerRequest req;
    final Promise<Body> done = Promise.promise();
    Buffer memory = Buffer.buffer();
    long reserved;
    long received;
    AsyncFile file;
    Path path;
    boolean opening;
    boolean ended;
    boolean finished;
    long lastRead = System.nanoTime();
    long timer = -1;

    Reader(HttpServerRequest req) {
      this.req = req;
    }

    void start() {
      req.handler(this::chunk);
      req.endHandler(v -> {
        ended = true;
        maybeComplete();
      });
      req.exceptionHandler(t -> fail(new BodyException(0, "client connection failed: " + t)));
      timer = vertx.setTimer(timeoutMillis, id -> checkTimeout());
      req.resume();
    }

    void checkTimeout() {
      if (finished) {
        return;
      }
      long idle = (System.nanoTime() - lastRead) / 1_000_000;
      if (idle >= timeoutMillis) {
        fail(new BodyException(408, "no request body bytes for " + timeoutMillis + " ms"));
      } else {
        timer = vertx.setTimer(timeoutMillis - idle, id -> checkTimeout());
      }
    }

    void chunk(Buffer b) {
      if (finished) {
        return;
      }
      lastRead = System.nanoTime();
      received += b.length();
      if (received > maxBody) {
        fail(new BodyException(413, "request body larger than " + maxBody + " bytes"));
        return;
      }
      if (file == null && !opening) {
        long n = b.length();
        if (memory.length() + n <= perRequest && inMemory.addAndGet(n) <= total) {
          reserved += n;
          memory.appendBuffer(b);
          return;
        }
        if (memory.length() + n <= perRequest) {
          inMemory.addAndGet(-n);
        }
        spill(b);
        return;
      }
      if (opening) {
        memory.appendBuffer(b); // held until the file is open; the request is paused meanwhile
        return;
      }
      write(b);
    }

    void spill(Buffer first) {
      opening = true;
      memory.appendBuffer(first);
      req.pause();
      vertx.fileSystem().mkdirs(tempDir.toString())
          .compose(v -> vertx.fileSystem().createTempFile(tempDir.toString(), PREFIX, ".tmp", (String) null))
          .compose(p -> {
            path = Path.of(p);
            return vertx.fileSystem().open(p, new OpenOptions().setWrite(true).setRead(false));
          })
          .onComplete(ar -> {
            opening = false;
            if (ar.failed()) {
              LOG.warn("could not create a request body temp file in {}: {}", tempDir, ar.cause().toString());
              fail(new BodyException(500, "could not buffer the request body"));
              return;
            }
            file = ar.result();
            if (finished) {
              closeAndDelete();
              return;
            }
            Buffer held = memory;
            memory = Buffer.buffer();
            releaseMemory();
            write(held);
            req.resume();
            maybeComplete();
          });
    }

    void write(Buffer b) {
      file.write(b);
      if (file.writeQueueFull()) {
        req.pause();
        file.drainHandler(v -> {
          if (!finished) {
            req.resume();
          }
        });
      }
    }

    void maybeComplete() {
      if (!ended || opening || finished) {
        return;
      }
      finished = true;
      vertx.cancelTimer(timer);
      if (file == null) {
        done.complete(new Body(memory, null, received, reserved));
        reserved = 0; // now the Body's to give back
        return;
      }
      AsyncFile f = file;
      f.close().onComplete(ar -> {
        if (ar.failed()) {
          delete(path);
          done.fail(new BodyException(500, "could not buffer the request body"));
        } else {
          done.complete(new Body(null, path, received, 0));
        }
      });
    }

    void fail(BodyException e) {
      if (finished) {
        return;
      }
      finished = true;
      vertx.cancelTimer(timer);
      req.handler(null);
      releaseMemory();
      memory = Buffer.buffer();
      if (file != null) {
        closeAndDelete();
      }
      done.fail(e);
    }

    void releaseMemory() {
      if (reserved > 0) {
        inMemory.addAndGet(-reserved);
        reserved = 0;
      }
    }

    void closeAndDelete() {
      Path p = path;
      file.close().onComplete(ar -> delete(p));
    }
  }

  private void delete(Path p) {
    if (p != null) {
      vertx.fileSystem().delete(p.toString()).onFailure(t -> LOG.debug("could not delete {}: {}", p, t.toString()));
    }
  }

  /** A body read in full: in memory or in a temp file; {@link #release} gives back both, once. */
  final class Body implements OriginBody {
    private final Buffer memory;
    private final Path path;
    private final long length;
    private final long reserved;
    private final AtomicBoolean released = new AtomicBoolean();

    private Body(Buffer memory, Path path, long length, long reserved) {
      this.memory = memory;
      this.path = path;
      this.length = length;
      this.reserved = reserved;
    }

    @Override
    public long length() {
      return length;
    }

    @Override
    public Future<HttpClientResponse> sendWith(HttpClientRequest request) {
      if (path == null) {
        return request.send(memory);
      }
      return vertx.fileSystem().open(path.toString(), new OpenOptions().setRead(true).setWrite(false))
          .compose(f -> {
            f.setReadBufferSize(64 * 1024);
            f.pipeTo(request).onComplete(ar -> f.close()); // a pipe never closes its source
            return request.response();
          });
    }

    /** Frees the memory or deletes the temp file; safe to call more than once. */
    void release() {
      if (released.compareAndSet(false, true)) {
        if (reserved > 0) {
          inMemory.addAndGet(-reserved);
        }
        delete(path);
      }
    }
  }
}
