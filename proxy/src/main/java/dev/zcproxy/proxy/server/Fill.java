package dev.zcproxy.proxy.server;

import dev.zcproxy.cache.CacheOutcome;
import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.ResponseHead;
import dev.zcproxy.cache.store.EntryWriter;
import dev.zcproxy.proxy.internal.BodySplice;
import dev.zcproxy.proxy.internal.ResponseFiles;
import dev.zcproxy.proxy.transfer.TransferMode;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientResponse;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One origin fetch of a storable response, written once into a cache file and read by every client
 * that wants it, the first included, from that file as the bytes land (sendfile of each newly
 * written range). A slow reader never slows the fetch; the fetch goes on when readers leave.
 *
 * <p>Thread-safety: readers live on their own event loops, progress arrives on the cache-io pool;
 * the shared state is guarded by this object's lock and readers are woken on their own context.
 */
final class Fill {
  // Logs under the handler's name, as it did when this was part of ProxyHandler.
  private static final Logger LOG = LoggerFactory.getLogger(ProxyHandler.class);
  /** Pause the origin when this many bytes wait for the disk. */
  private static final long WRITER_HIGH_WATER = 8L << 20;
  private static final long WRITER_LOW_WATER = 2L << 20;
  /** Free disk space kept beyond a spliced fill's length. */
  private static final long SPLICE_DISK_RESERVE = 256L << 20;

  private final HandlerContext ctx;
  final String key;
  final String fwd;
  Runnable onDone = () -> {};
  // Before the head: requests waiting to join.
  private final List<Exchange> waiters = new java.util.ArrayList<>();
  private boolean headKnown;
  private boolean shared = true;
  private Throwable headFailure;
  // After the head.
  ResponseHead head;
  EntryMeta meta;
  CacheStatus cs;
  long expected;
  private EntryWriter writer;
  private HttpClientResponse cres;
  private Context originContext;
  private final List<Reader> readers = new java.util.ArrayList<>();
  private java.nio.channels.FileChannel channel;
  private boolean channelClosed;
  private long onDisk;
  private long received;
  private boolean complete;
  private boolean failed;
  private boolean pausedForDisk;
  /**
   * Body chunks not yet confirmed on disk, oldest first, starting at body offset {@code tailStart}.
   * If the disk write fails they are what keeps the readers going: the fill then degrades to
   * a pass-through fed from this tail (nothing is stored, no client sees an error).
   */
  private final java.util.ArrayDeque<Buffer> tail = new java.util.ArrayDeque<>();
  private long tailStart;
  private long tailBytes;
  private boolean degraded;
  /** Once degraded: body bytes readable from the file (the rest comes from the tail). */
  private long diskEnd;
  private boolean pausedForReaders;

  Fill(HandlerContext ctx, String key, String fwd) {
    this.ctx = ctx;
    this.key = key;
    this.fwd = fwd;
  }

  /** Whether a new request may still join (the fetch has not failed, ended or turned out unshareable). */
  synchronized boolean joinable() {
    return shared && !failed && !degraded && !channelClosed && headFailure == null;
  }

  /** Queues {@code ex} until the head is known, or joins it now. */
  void await(Exchange ex) {
    ctx.metrics().collapsed();
    synchronized (this) {
      if (!headKnown) {
        waiters.add(ex);
        return;
      }
    }
    ex.context.runOnContext(v -> ctx.flow().joinOrFetch(ex, this));
  }

  /** The fetch failed before a head arrived: the waiters get the same answer. */
  void headFailed(Throwable cause) {
    List<Exchange> w;
    synchronized (this) {
      headKnown = true;
      headFailure = cause;
      w = List.copyOf(waiters);
      waiters.clear();
    }
    ctx.fills().remove(key, this);
    for (Exchange e : w) {
      e.context.runOnContext(v -> e.originFailed(cause, fwd));
    }
  }

  /** The response may not be stored: every waiter fetches on its own. */
  void notShared() {
    List<Exchange> w;
    synchronized (this) {
      headKnown = true;
      shared = false;
      w = List.copyOf(waiters);
      waiters.clear();
    }
    ctx.fills().remove(key, this);
    for (Exchange e : w) {
      e.context.runOnContext(v -> ctx.flow().pass(e, fwd, "hit-for-pass"));
    }
  }

  /** Starts writing the body into the store; releases the waiters to join as readers. */
  void start(HttpClientResponse cres, ResponseHead head, EntryMeta meta, CacheStatus cs) {
    this.cres = cres;
    this.originContext = ctx.vertx().getOrCreateContext();
    long expectedLength = HeaderMaps.contentLength(cres.headers());
    boundVariants(meta);
    EntryWriter w = ctx.store().newWriter(meta, expectedLength);
    List<Exchange> released;
    synchronized (this) {
      this.head = head;
      this.meta = meta;
      this.cs = cs;
      this.expected = expectedLength;
      this.writer = w;
      headKnown = true;
      released = List.copyOf(waiters);
      waiters.clear();
    }
    w.onProgress(this::onProgress);
    String whyNot = !ctx.spliceEnabled() ? "disabled" : expectedLength < 0 || expectedLength < ctx.spliceMinBytes() ? "small or unknown length"
        // A write error under splice loses the bytes in flight, so splice only with room to spare;
        // the copy fill keeps what is not on disk yet and degrades to a pass-through instead.
        : expectedLength > ctx.store().usableBytes() - SPLICE_DISK_RESERVE ? "disk nearly full"
        : BodySplice.whyNotToFile(cres, w.bodyOffset(), expectedLength);
    if (whyNot == null) {
      spliceFill(cres, w, released);
      return;
    }
    w.onFailure(t -> originContext.runOnContext(v -> degrade()));
    cres.handler(buf -> {
      boolean isDegraded;
      synchronized (this) {
        received += buf.length();
        tail.add(buf);
        tailBytes += buf.length();
        isDegraded = degraded;
      }
      if (isDegraded) {
        wakeReaders();
        if (tailBytes > WRITER_HIGH_WATER && !pausedForReaders) {
          pausedForReaders = true;
          cres.pause();
        }
        return;
      }
      w.write(ByteBuffer.wrap(buf.getBytes()));
      if (w.pendingBytes() > WRITER_HIGH_WATER && !pausedForDisk) {
        pausedForDisk = true;
        cres.pause();
      }
    });
    cres.exceptionHandler(t -> {
      ctx.metrics().originError();
      LOG.debug("origin body for {} failed after {} bytes: {}", key, received, t.toString());
      w.abort();
      finished(false);
    });
    cres.endHandler(v -> {
      if (expected >= 0 && received != expected) {
        w.abort();
        finished(false);
        return;
      }
      if (degradedNow()) {
        passedThrough();
        return;
      }
      ctx.metrics().filled(TransferMode.COPY, received);
      commitOrAbort(w);
    });
    for (Exchange e : released) {
      e.context.runOnContext(v -> ctx.flow().joinOrFetch(e, this));
    }
  }

  /**
   * Fill by splice(2): what Vert.x already decoded goes through the writer; the rest moves origin
   * socket → cache file in the kernel, 1 MiB at a time, each finished chunk reported to the writer
   * (and so to the readers). The origin connection is closed afterwards.
   */
  private void spliceFill(HttpClientResponse cres, EntryWriter w, List<Exchange> released) {
    boolean[] splicing = {false};
    boolean[] ended = {false};
    cres.handler(buf -> {
      received += buf.length();
      w.write(ByteBuffer.wrap(buf.getBytes()));
    });
    cres.exceptionHandler(t -> {
      if (!splicing[0] && !ended[0]) {
        ctx.metrics().originError();
        w.abort();
        finished(false);
      }
    });
    cres.endHandler(v -> {
      ended[0] = true;
      if (!splicing[0]) {
        commitOrAbort(w); // the whole body came with the head
      }
    });
    BodySplice.holdOrigin(cres);
    originContext.runOnContext(v -> {
      if (ended[0] || failed) {
        return;
      }
      splicing[0] = true;
      long remaining = expected - received;
      w.externalTarget().whenComplete((fc, t) -> originContext.runOnContext(x -> {
        if (t != null) {
          cres.request().connection().close();
          finished(false);
          return;
        }
        BodySplice.toFile(cres, fc, w.bodyOffset() + received, remaining, ctx.originIdleMillis(), w::externalWritten)
            .onComplete(ar -> {
              if (ar.succeeded()) {
                synchronized (this) {
                  received += remaining; // the whole body is in the file now
                }
                ctx.metrics().filled(TransferMode.SPLICE, remaining);
                commitOrAbort(w);
              } else {
                ctx.metrics().originError();
                LOG.debug("spliced fill of {} failed: {}", key, ar.cause().toString());
                w.abort();
                finished(false);
              }
            });
      }));
    });
    for (Exchange e : released) {
      e.context.runOnContext(v -> ctx.flow().joinOrFetch(e, this));
    }
  }

  private void commitOrAbort(EntryWriter w) {
    w.commit().whenComplete((m, t) -> {
      if (t == null) {
        synchronized (this) {
          this.meta = m;
          this.expected = m.bodyLength();
        }
        ctx.metrics().stored();
        finished(true);
        return;
      }
      LOG.debug("not stored: {}: {}", key, t.toString());
      // Not stored (a write error the origin outran, an invalidation, a rename failure), but the
      // whole body arrived: the readers still get it, from the file as far as it was written and
      // from the bytes kept in memory after that.
      originContext.runOnContext(v -> {
        degrade();
        passedThrough();
      });
    });
  }

  /** Body bytes on disk: called on the cache-io pool after each chunk. */
  private void onProgress(long bytesOnDisk) {
    synchronized (this) {
      if (channel == null && !channelClosed && !failed && Files.exists(writer.tempPath())) {
        try {
          channel = java.nio.channels.FileChannel.open(writer.tempPath(), java.nio.file.StandardOpenOption.READ);
        } catch (java.io.IOException e) {
          LOG.debug("could not open the filling file of {}: {}", key, e.toString());
        }
      }
      onDisk = bytesOnDisk;
      if (!degraded) {
        while (!tail.isEmpty() && tailStart + tail.peekFirst().length() <= bytesOnDisk) {
          Buffer b = tail.pollFirst();
          tailStart += b.length();
          tailBytes -= b.length();
        }
      }
    }
    wakeReaders();
    if (pausedForDisk) {
      originContext.runOnContext(v -> {
        if (pausedForDisk && writer.pendingBytes() < WRITER_LOW_WATER) {
          pausedForDisk = false;
          cres.resume();
        }
      });
    }
  }

  private void finished(boolean ok) {
    // Leave the registry first: a request arriving from now on finds the published entry in the
    // index (ok) or starts a new fetch (failed).
    ctx.fills().remove(key, this);
    synchronized (this) {
      if (ok) {
        complete = true;
      } else {
        failed = true;
      }
    }
    if (!ok) {
      ctx.metrics().storeFailure();
    }
    wakeReaders();
    maybeCloseChannel();
    onDone.run();
  }

  private synchronized boolean degradedNow() {
    return degraded;
  }

  /**
   * The cache file could not be written (a full disk, an I/O error): from now on the readers are fed
   * from the tail of bytes not confirmed on disk, and later origin bytes, like a pass-through.
   * Nothing is stored. On the origin's context.
   */
  private void degrade() {
    synchronized (this) {
      if (degraded || complete || failed) {
        return;
      }
      degraded = true;
      diskEnd = onDisk;
    }
    ctx.fills().remove(key, this);
    ctx.metrics().storeFailure();
    if (pausedForDisk) {
      pausedForDisk = false;
      cres.resume();
    }
    wakeReaders();
  }

  /** A degraded fill got its whole body: readers finish from the tail; nothing was stored. */
  private void passedThrough() {
    synchronized (this) {
      if (complete || failed) {
        return;
      }
      complete = true;
      meta = meta.withBody(received, 0);
    }
    wakeReaders();
    maybeCloseChannel();
    onDone.run();
  }

  /**
   * Bytes of the tail from body offset {@code from} on, or {@code null} when there are none yet;
   * throws when {@code from} was already trimmed away.
   */
  synchronized Buffer tailFrom(long from) {
    if (from < tailStart) {
      throw new IllegalStateException("reader fell behind the retained tail");
    }
    long pos = tailStart;
    Buffer out = null;
    for (Buffer b : tail) {
      long end = pos + b.length();
      if (end > from) {
        Buffer part = from > pos ? b.slice((int) (from - pos), b.length()) : b;
        if (out == null) {
          out = Buffer.buffer((int) Math.min(Integer.MAX_VALUE, received - from));
        }
        out.appendBuffer(part);
        if (out.length() >= 256 * 1024) {
          break;
        }
      }
      pos = end;
    }
    return out;
  }

  /** Drops tail bytes every reader has sent; resumes the origin when the tail is short again. */
  void trimTail() {
    boolean resume;
    synchronized (this) {
      long min = received;
      for (Reader r : readers) {
        min = Math.min(min, r.sent);
      }
      while (!tail.isEmpty() && tailStart + tail.peekFirst().length() <= min) {
        Buffer b = tail.pollFirst();
        tailStart += b.length();
        tailBytes -= b.length();
      }
      resume = pausedForReaders && tailBytes < WRITER_LOW_WATER;
      if (resume) {
        pausedForReaders = false;
      }
    }
    if (resume) {
      originContext.runOnContext(v -> cres.resume());
    }
  }

  private void wakeReaders() {
    List<Reader> rs;
    synchronized (this) {
      rs = List.copyOf(readers);
    }
    for (Reader r : rs) {
      r.wake();
    }
  }

  /** Adds a reader; false when the fill already ended and let go of its file. */
  synchronized boolean addReader(Reader r) {
    if (channelClosed) {
      return false;
    }
    readers.add(r);
    return true;
  }

  void removeReader(Reader r) {
    synchronized (this) {
      readers.remove(r);
    }
    maybeCloseChannel();
  }

  private void maybeCloseChannel() {
    java.nio.channels.FileChannel toClose = null;
    synchronized (this) {
      if ((complete || failed) && readers.isEmpty() && !channelClosed) {
        channelClosed = true;
        toClose = channel;
      }
    }
    if (toClose != null) {
      java.nio.channels.FileChannel c = toClose;
      ctx.ioExecutor().execute(() -> {
        try {
          c.close();
        } catch (java.io.IOException ignored) {
          // nothing to do
        }
      });
    }
  }

  /**
   * Keeps at most {@code cache.max-variants} variants per URI (RFC 9111 §4.1 lets a cache choose):
   * before a new variant is stored, the least recently received ones beyond the bound go.
   */
  private void boundVariants(EntryMeta incoming) {
    List<EntryMeta> stored = ctx.store().variants(incoming.primaryKey());
    int max = ctx.policy().config().maxVariants();
    List<EntryMeta> others = new java.util.ArrayList<>();
    for (EntryMeta m : stored) {
      if (!m.variant().equals(incoming.variant())) {
        others.add(m);
      }
    }
    if (others.size() < max) {
      return;
    }
    others.sort(java.util.Comparator.comparingLong(EntryMeta::responseTime));
    for (int i = 0; i <= others.size() - max; i++) {
      ctx.store().remove(others.get(i).key());
    }
  }

  /**
   * One client reading a fill's file: sends each newly written range, ends once the entry is complete.
   *
   * <p>Nested here because it reads the fill's progress (bytes on disk, the tail, the end state)
   * straight from its fields, under the fill's lock, on the reader's own event loop.
   */
  static final class Reader {
    final Exchange ex;
    final Fill fill;
    final TransferMode mode;
    volatile long sent;
    boolean sending;
    boolean done;

    Reader(Exchange ex, Fill fill, TransferMode mode) {
      this.ex = ex;
      this.fill = fill;
      this.mode = mode;
    }

    void wake() {
      ex.context.runOnContext(v -> pump());
    }

    /** The client went away before its response ended: counted and logged as such. */
    void abandon() {
      if (!done) {
        done = true;
        fill.removeReader(this);
        ex.finish(CacheOutcome.MISS, mode, Future.failedFuture("client closed the connection"));
      }
    }

    private void pump() {
      if (done || sending) {
        return;
      }
      long avail;
      long total;
      boolean complete;
      boolean failed;
      java.nio.channels.FileChannel ch;
      long bodyOffset;
      synchronized (fill) {
        avail = fill.onDisk;
        // With a known length the response is whole once every byte went out (no need to wait
        // for the commit); without one, only once the fill is complete.
        total = fill.complete ? fill.meta.bodyLength() : fill.expected;
        complete = fill.complete;
        failed = fill.failed;
        ch = fill.channel;
        bodyOffset = fill.writer.bodyOffset();
      }
      boolean degraded;
      long diskEnd;
      long received;
      synchronized (fill) {
        degraded = fill.degraded;
        diskEnd = fill.diskEnd;
        received = fill.received;
        if (degraded) {
          avail = Math.min(avail, diskEnd);
        }
      }
      if (!failed && degraded && sent >= diskEnd) {
        pumpTail(complete, received);
        return;
      }
      if (failed) {
        // Never a short body that looks complete: close the connection.
        done = true;
        fill.removeReader(this);
        ex.finish(CacheOutcome.MISS, mode, ex.resp.reset().flatMap(v -> Future.failedFuture("origin body incomplete")));
        return;
      }
      if (sent < avail && ch != null) {
        long n = avail - sent;
        sending = true;
        Future<Void> f = mode == TransferMode.SENDFILE
            ? ResponseFiles.sendRange(ex.req, ch, bodyOffset + sent, n)
            : copyRange(ch, bodyOffset + sent, n);
        f.onComplete(ar -> ex.context.runOnContext(v -> {
          sending = false;
          if (ar.failed()) {
            abandon();
            ex.finish(CacheOutcome.MISS, mode, ex.resp.reset().flatMap(x -> Future.failedFuture(ar.cause())));
            return;
          }
          sent += n;
          ex.bodyBytes = sent;
          pump();
        }));
        return;
      }
      if (total >= 0 && sent >= total) {
        done = true;
        fill.removeReader(this);
        ex.finish(CacheOutcome.MISS, mode, ex.resp.end());
      }
    }

    /** After the disk failed: sends what the fill kept in memory, then ends when the origin body ended. */
    private void pumpTail(boolean complete, long received) {
      Buffer next;
      try {
        next = fill.tailFrom(sent);
      } catch (IllegalStateException e) {
        abandon();
        ex.finish(CacheOutcome.MISS, mode, ex.resp.reset().flatMap(x -> Future.failedFuture(e)));
        return;
      }
      if (next == null) {
        if (complete && sent >= received) {
          done = true;
          fill.removeReader(this);
          ex.finish(CacheOutcome.MISS, mode, ex.resp.end());
        }
        return;
      }
      sending = true;
      int n = next.length();
      ex.resp.write(next).onComplete(ar -> {
        sending = false;
        if (ar.failed()) {
          abandon();
          return;
        }
        sent += n;
        ex.bodyBytes = sent;
        fill.trimTail();
        pump();
      });
    }

    /** The portable path: reads the range on the cache-io pool, writes it with back-pressure. */
    private Future<Void> copyRange(java.nio.channels.FileChannel ch, long offset, long length) {
      io.vertx.core.Promise<Void> done = io.vertx.core.Promise.promise();
      long chunk = Math.min(length, 256 * 1024);
      fill.ctx.ioExecutor().execute(() -> {
        try {
          ByteBuffer bb = ByteBuffer.allocate((int) chunk);
          while (bb.hasRemaining()) {
            int r = ch.read(bb, offset + bb.position());
            if (r < 0) {
              throw new java.io.EOFException("cache file shorter than written");
            }
          }
          ex.context.runOnContext(v -> {
            Future<Void> written = ex.resp.write(Buffer.buffer(bb.array()));
            if (chunk < length) {
              // Send the rest in the next pump, after this chunk.
              sent -= (length - chunk);
            }
            // once in the socket: writeQueueFull() counts messages (16 x 256 KiB per non-reading client)
            written.onComplete(done);
          });
        } catch (java.io.IOException e) {
          done.tryFail(e);
        }
      });
      return done.future();
    }
  }
}
