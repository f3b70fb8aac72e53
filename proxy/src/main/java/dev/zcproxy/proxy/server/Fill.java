package dev.zcproxy.proxy.server;

import dev.zcproxy.cache.CacheOutcome;
import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.ResponseHead;
import dev.zcproxy.cache.policy.CacheStatus;
import dev.zcproxy.cache.store.EntryWriter;
import dev.zcproxy.proxy.transfer.TransferMode;
import dev.zcproxy.proxy.transfer.TransferPlan;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One origin fetch of a storable response, written once into a cache file and read by every client
 * that wants it, the first included, from that file as the bytes land (sendfile of each newly
 * written range). A slow reader never slows the fetch; the fetch goes on when readers leave.
 *
 * <h2>A state machine owned by one event loop</h2>
 * <pre>
 * HEAD_PENDING ─┬─ start ──→ FILLING ─┬─ stored ─────────────────────→ COMPLETE
 *               │   (copy or splice)  ├─ disk failed → DEGRADED ─ end → COMPLETE (not stored)
 *               │                     └─ origin failed ─────────────→ FAILED
 *               ├─ notShared ───→ UNSHARED (waiters pass)
 *               └─ headFailed ──→ HEAD_FAILED (waiters get the error)
 * </pre>
 * Every field without a comment saying otherwise belongs to the <b>owner</b> context: the event loop
 * of the request that fetches, on which the origin response's handlers run. Disk progress and write
 * failures, which arrive on the cache-io pool, are posted to the owner before they touch anything.
 * Readers live on their own event loops: they read the immutable {@link View} the owner publishes
 * (one volatile reference) and ask the owner, by message, for what changes state (joining, leaving,
 * bytes of the in-memory tail). No locks.
 *
 * <p>A copy fill keeps the bytes not yet on disk (the tail): when the disk write fails it degrades to
 * a pass-through fed from the tail, so no reader sees an error. A spliced fill cannot keep them (the
 * kernel moves them), so it splices only into disk space reserved for the whole body
 * ({@link EntryWriter#reserveSpace}), and falls back to the copy path if the writer fails before the
 * splice starts.
 */
final class Fill {
  // Logs under the handler's name, as it did when this was part of ProxyHandler.
  private static final Logger LOG = LoggerFactory.getLogger(Fill.class);
  /** Pause the origin when this many bytes wait for the disk (or, degraded, for the slowest reader). */
  static final long HIGH_WATER = 8L << 20;
  static final long LOW_WATER = 2L << 20;
  private static final int TAIL_SLICE = 256 * 1024;
  /**
   * A copy fill of a body of known length up to this size is held whole in memory (the tail) and
   * written by one task on the cache-io pool at its end ({@link EntryWriter#commitWhole}); its readers
   * are sent from the tail meanwhile.
   */
  static final long WHOLE_MAX = 64 * 1024;

  /** Where a fill is. */
  enum State {
    /** Waiting for the origin's head: requests queue as waiters. */
    HEAD_PENDING,
    /** The body is being written to the cache file; readers send from the file. */
    FILLING,
    /** The disk write failed: readers finish from the file up to {@code diskEnd}, then from the tail. */
    DEGRADED,
    /** The whole body arrived (stored, or passed through when degraded). */
    COMPLETE,
    /** The origin failed mid-body: readers close their connections. */
    FAILED,
    /** The response may not be stored: waiters fetched on their own. */
    UNSHARED,
    /** The origin could not be reached: waiters got the same error. */
    HEAD_FAILED;

    boolean ended() {
      return this == COMPLETE || this == FAILED;
    }
  }

  /**
   * What readers see of the fill, published by the owner after each change.
   *
   * @param onDisk body bytes readable from {@code channel}
   * @param diskEnd once degraded, the body bytes readable from the file (the rest is in the tail);
   *     {@link Long#MAX_VALUE} otherwise
   * @param total the body length: the announced one (-1 when unknown) until complete, then the real one
   * @param stored whether the entry was published (COMPLETE only)
   */
  record View(State state, ResponseHead head, EntryMeta meta, CacheStatus cs, long expected, long onDisk, long diskEnd,
      long total, FileChannel channel, long bodyOffset, boolean stored) {

    static final View PENDING = new View(State.HEAD_PENDING, null, null, null, -1, 0, Long.MAX_VALUE, -1, null, 0, false);

    View with(State s) {
      return new View(s, head, meta, cs, expected, onDisk, diskEnd, total, channel, bodyOffset, stored);
    }
  }

  private final HandlerContext ctx;
  /** The owner: the one event loop that changes this fill. */
  private final Context owner;
  final String key;
  final String fwd;
  /** Set before {@link #start}, on the owner. */
  Runnable onDone = () -> {};
  /**
   * Told on the owner, once, of the entry stored when the fill also kept its body in the RAM tier (so that its hit
   * head can be encoded before its first hit); set before {@link #start}, or {@code null}.
   */
  java.util.function.Consumer<EntryMeta> onKeptInRam;
  /** Published by the owner, read anywhere. */
  private volatile View view = View.PENDING;

  private State state = State.HEAD_PENDING;
  private final List<Exchange> waiters = new ArrayList<>();
  private Throwable headFailure;
  private EntryWriter writer;
  private HttpClientResponse cres;
  private final List<Reader> readers = new ArrayList<>();
  private FileChannel channel;
  private boolean channelClosed;
  private long onDisk;
  private long received;
  private long diskEnd = Long.MAX_VALUE;
  private boolean splicing;
  /**
   * A small body held whole: readers are sent from the tail (as if degraded at 0 bytes on disk), which
   * is kept until the fill is dropped; the file is written in one task at the end.
   */
  private boolean whole; // written once in start(), before the view readers read is published
  private boolean originEnded;
  private boolean pausedForDisk;
  private boolean pausedForReaders;
  /**
   * Body chunks not yet confirmed on disk (degraded: not yet sent by every reader), oldest first,
   * starting at body offset {@code tailStart}.
   */
  private final ArrayDeque<Buffer> tail = new ArrayDeque<>();
  private long tailStart;
  private long tailBytes;
  /**
   * A copy fill of a body the RAM tier admits keeps its chunks (the arrays handed to the writer, not
   * copied again) to give the whole body to the tier: its file is then not read back. {@code null} otherwise.
   */
  private List<byte[]> ramChunks;
  /** The generation whose body this fill put into the RAM tier, dropped again if it is not stored; -1: none. */
  /**
   * Whether this fill's body is kept in the RAM tier under {@link #ramGeneration}. A flag, not a sign: a store's
   * generations carry its random session in their top bits, so half of all stores hand out negative ones.
   */
  private boolean ramKept;
  private long ramGeneration;

  Fill(HandlerContext ctx, Context owner, String key, String fwd) {
    this.ctx = ctx;
    this.owner = owner;
    this.key = key;
    this.fwd = fwd;
  }

  /** The current snapshot; any thread. */
  View view() {
    return view;
  }

  /** Whether a new request may still join (the fetch has not failed, ended or turned out unshareable); any thread. */
  boolean joinable() {
    State s = view.state;
    return s == State.HEAD_PENDING || s == State.FILLING;
  }

  private void publish() {
    view = new View(state, view.head, view.meta, view.cs, view.expected, onDisk, diskEnd,
        view.total, channel, writer == null ? 0 : writer.bodyOffset(), view.stored);
  }

  // ---------------------------------------------------------------- before the head (owner)

  /** Queues {@code ex} until the head is known, or joins it now; from any loop. */
  void await(Exchange ex) {
    ctx.metrics().collapsed();
    owner.runOnContext(v -> {
      switch (state) {
        case HEAD_PENDING -> waiters.add(ex);
        case UNSHARED -> ex.context.runOnContext(x -> ctx.flow().pass(ex, fwd, "hit-for-pass"));
        case HEAD_FAILED -> ex.context.runOnContext(x -> ex.originFailed(headFailure, fwd));
        default -> ex.context.runOnContext(x -> ctx.flow().joinOrFetch(ex, this));
      }
    });
  }

  /** The fetch failed before a head arrived: the waiters get the same answer. On the owner. */
  void headFailed(Throwable cause) {
    headFailure = cause;
    state = State.HEAD_FAILED;
    publish();
    ctx.fills().remove(key, this);
    for (Exchange e : drainWaiters()) {
      e.context.runOnContext(v -> e.originFailed(cause, fwd));
    }
  }

  /** The response may not be stored: every waiter fetches on its own. On the owner. */
  void notShared() {
    state = State.UNSHARED;
    publish();
    ctx.fills().remove(key, this);
    for (Exchange e : drainWaiters()) {
      e.context.runOnContext(v -> ctx.flow().pass(e, fwd, "hit-for-pass"));
    }
  }

  private List<Exchange> drainWaiters() {
    List<Exchange> w = List.copyOf(waiters);
    waiters.clear();
    return w;
  }

  // ---------------------------------------------------------------- filling (owner)

  /** Starts writing the body into the store; releases the waiters to join as readers. On the owner, in the response handler. */
  void start(HttpClientResponse cres, ResponseHead head, EntryMeta meta, CacheStatus cs) {
    this.cres = cres;
    long expected = HeaderMaps.contentLength(cres.headers());
    boundVariants(meta);
    boolean small = expected >= 0 && expected <= WHOLE_MAX;
    // A small body's writer starts nothing until it gets the whole body (or streams after all, spliced).
    EntryWriter w = small ? ctx.store().newDeferredWriter(meta, expected) : ctx.store().newWriter(meta, expected);
    this.writer = w;
    state = State.FILLING;
    TransferPlan plan = ctx.planner().forFill(cres, w.bodyOffset(), expected);
    // A write error under splice loses the bytes in flight, so splice only into space reserved for
    // the whole body; the copy fill keeps what is not on disk yet and degrades to a pass-through instead.
    boolean splice = plan.mode() == TransferMode.SPLICE && w.reserveSpace();
    whole = small && !splice;
    if (whole) {
      diskEnd = 0; // readers are sent from the tail from the first byte
    }
    view = new View(State.FILLING, head, meta, cs, expected, 0, diskEnd, expected, null, w.bodyOffset(), false);
    if (!whole) {
      w.onProgress(new ProgressRelay(w));
    }
    w.onFailure(t -> owner.runOnContext(v -> degrade()));
    cres.handler(this::onData);
    cres.exceptionHandler(t -> {
      if (!splicing) {
        onOriginError(t);
      }
    });
    cres.endHandler(v -> {
      originEnded = true;
      if (!splicing) {
        onOriginEnd();
      }
    });
    if (!splice && !whole && expected > 0 && ctx.ram() != null && ctx.ram().admits(expected)) {
      ramChunks = new ArrayList<>(2);
    }
    if (splice) {
      ctx.transfer().holdOrigin(cres);
      owner.runOnContext(v -> startSplice());
    }
    for (Exchange e : drainWaiters()) {
      e.context.runOnContext(v -> ctx.flow().joinOrFetch(e, this));
    }
  }

  /** Bytes Vert.x decoded: kept in the tail until on disk (or sent, degraded), and written to the cache file. */
  private void onData(Buffer buf) {
    if (state.ended()) {
      return;
    }
    received += buf.length();
    tail.add(buf);
    tailBytes += buf.length();
    if (whole && state == State.FILLING) {
      if (received > view.expected) {
        fail(); // longer than announced: never stored, the readers are cut
      } else {
        wakeReaders();
      }
      return;
    }
    if (state == State.DEGRADED) {
      wakeReaders();
      if (tailBytes > HIGH_WATER && !pausedForReaders) {
        pausedForReaders = true;
        cres.pause();
      }
      return;
    }
    byte[] bytes = buf.getBytes();
    if (ramChunks != null) {
      ramChunks.add(bytes); // the writer only reads it
    }
    writer.write(ByteBuffer.wrap(bytes));
    if (writer.pendingBytes() > HIGH_WATER && !pausedForDisk) {
      pausedForDisk = true;
      cres.pause();
    }
  }

  private void onOriginError(Throwable t) {
    ctx.metrics().originError();
    LOG.debug("origin body for {} failed after {} bytes: {}", key, received, t.toString());
    fail();
  }

  private void onOriginEnd() {
    long expected = view.expected;
    if (state.ended()) {
      return;
    }
    if (expected >= 0 && received != expected) {
      fail();
      return;
    }
    if (state == State.DEGRADED) {
      passedThrough();
      return;
    }
    ctx.metrics().filled(TransferMode.COPY, received);
    if (whole) {
      commitWhole();
      return;
    }
    keepInRam();
    commit();
  }

  /**
   * The whole small body arrived: one array for the RAM tier (before the commit, so that publishing
   * finds it kept) and the writer, which creates, writes, renames and indexes the file in one task.
   */
  private void commitWhole() {
    byte[] body = new byte[(int) received];
    int at = 0;
    for (Buffer b : tail) {
      b.getBytes(0, b.length(), body, at);
      at += b.length();
    }
    if (ctx.ram() != null && ctx.ram().admits(body.length) && ctx.ram().keepFilled(writer.generation(), body)) {
      ramGeneration = writer.generation();
      ramKept = true;
    }
    writer.commitWhole(ByteBuffer.wrap(body)).whenComplete((m, t) -> owner.runOnContext(v -> committed(m, t)));
  }

  /** Before the commit (so that publishing finds it kept): the whole small body, received here, to the RAM tier. */
  private void keepInRam() {
    List<byte[]> chunks = ramChunks;
    ramChunks = null;
    if (chunks == null || received != view.expected) {
      return;
    }
    byte[] body = chunks.size() == 1 ? chunks.get(0) : new byte[(int) received];
    if (chunks.size() != 1) {
      int at = 0;
      for (byte[] c : chunks) {
        System.arraycopy(c, 0, body, at, c.length);
        at += c.length;
      }
    }
    if (body.length == received && ctx.ram().keepFilled(writer.generation(), body)) {
      ramGeneration = writer.generation();
      ramKept = true;
    }
  }

  /** Tells {@link #onKeptInRam} of {@code m} when this fill's body is in the RAM tier; its failure changes nothing. */
  private void keptInRam(EntryMeta m) {
    java.util.function.Consumer<EntryMeta> hook = onKeptInRam;
    if (hook == null || !ramKept || m == null) {
      return;
    }
    try {
      hook.accept(m);
    } catch (RuntimeException e) {
      LOG.debug("no hit head encoded at the fill of {}: {}", key, e.toString()); // the first hit encodes it
    }
  }

  /** The entry was not stored: its body must not stay in the RAM tier (nothing would ever drop it). */
  private void dropFromRam() {
    ramChunks = null;
    if (ramKept) {
      ctx.ram().drop(ramGeneration);
      ramKept = false;
    }
  }

  /**
   * Fill by splice(2): what Vert.x already decoded went through {@link #onData}; the rest moves origin
   * socket → cache file in the kernel, 1 MiB at a time, each finished chunk reported to the writer
   * (and so to the readers). The origin connection then goes back to the pool, as after a spliced pass.
   */
  private void startSplice() {
    if (originEnded) {
      // The whole body came with the head (the end handler took it from there): the connection goes
      // back to the pool, reading again.
      ctx.transfer().releaseOrigin(cres);
      return;
    }
    if (state != State.FILLING) {
      ctx.transfer().releaseOrigin(cres); // degraded before the splice began: go on copying
      return;
    }
    writer.externalTarget().whenComplete((fc, t) -> owner.runOnContext(x -> {
      if (t != null || state != State.FILLING) {
        // The writer failed before a byte was spliced: nothing is lost, the copy path takes over
        // (and if the origin's end arrived meanwhile, its handler already passed the body through).
        degrade();
        ctx.transfer().releaseOrigin(cres);
        return;
      }
      String whyNot = ctx.transfer().whyNotSpliceInto(fc);
      if (whyNot != null) {
        // Nothing was read from the origin yet: copy the rest instead, counted, and the request goes on.
        LOG.info("fill of {} copies instead of splicing: {}", key, whyNot);
        ctx.metrics().fillFallback(TransferMode.SPLICE);
        ctx.transfer().releaseOrigin(cres);
        return;
      }
      splicing = true;
      long remaining = view.expected - received;
      ctx.transfer().spliceToFile(cres, fc, writer.bodyOffset() + received, remaining, ctx.originIdleMillis(), writer::externalWritten)
          .onComplete(ar -> owner.runOnContext(y -> {
            if (ar.succeeded()) {
              received += remaining; // the whole body is in the file now
              ctx.metrics().filled(TransferMode.SPLICE, remaining);
              commit();
            } else {
              // The origin failed, or (despite the reservation) the disk did: the spliced bytes are gone.
              ctx.metrics().originError();
              LOG.debug("spliced fill of {} failed: {}", key, ar.cause().toString());
              fail();
            }
          }));
    }));
  }

  private void commit() {
    writer.commit().whenComplete((m, t) -> owner.runOnContext(v -> committed(m, t)));
  }

  private void committed(EntryMeta m, Throwable t) {
    if (state.ended()) {
      return;
    }
    if (t == null && state == State.FILLING) {
      // Leave the registry first: a request arriving from now on finds the published entry in the index.
      ctx.fills().remove(key, this);
      state = State.COMPLETE;
      View v = view;
      view = new View(State.COMPLETE, v.head, m, v.cs, v.expected, onDisk, diskEnd, m.bodyLength(), channel, v.bodyOffset, true);
      keptInRam(m); // before the count: whoever waits for the entry to be stored finds its hit head ready
      ctx.metrics().stored();
      ended();
      return;
    }
    dropFromRam();
    LOG.debug("not stored: {}: {}", key, t == null ? "degraded" : t.toString());
    // Not stored (a write error the origin outran, an invalidation, a rename failure), but the whole
    // body arrived: the readers still get it, from the file as far as it was written and from the
    // bytes kept in memory after that, if they cover the rest.
    degrade();
    if (tailStart <= diskEnd && tailStart + tailBytes == received) {
      passedThrough();
    } else {
      fail();
    }
  }

  /** Disk progress, posted from the cache-io pool: readers may send up to {@code bytesOnDisk}. */
  private void onDisk(long bytesOnDisk, FileChannel opened) {
    if (opened != null) {
      if (channel == null && !channelClosed) {
        channel = opened;
        ctx.fillFiles().add(opened);
      } else if (opened != channel) {
        closeOnIo(opened);
      }
    }
    if (state != State.FILLING) {
      publish(); // a late channel may still help readers below diskEnd
      wakeReaders();
      return;
    }
    onDisk = Math.max(onDisk, bytesOnDisk);
    while (!tail.isEmpty() && tailStart + tail.peekFirst().length() <= onDisk) {
      Buffer b = tail.pollFirst();
      tailStart += b.length();
      tailBytes -= b.length();
    }
    if (pausedForDisk && writer.pendingBytes() < LOW_WATER) {
      pausedForDisk = false;
      cres.resume();
    }
    publish();
    wakeReaders();
  }

  /**
   * The cache file could not be written (a full disk, an I/O error): from now on the readers are fed
   * from the tail of bytes not confirmed on disk, and later origin bytes, like a pass-through.
   * Nothing is stored.
   */
  private void degrade() {
    if (state != State.FILLING) {
      return;
    }
    state = State.DEGRADED;
    diskEnd = onDisk;
    dropFromRam();
    ctx.fills().remove(key, this);
    ctx.metrics().storeFailure();
    if (pausedForDisk) {
      pausedForDisk = false;
      cres.resume();
    }
    publish();
    wakeReaders();
  }

  /** A degraded fill got its whole body: readers finish from the tail; nothing was stored. */
  private void passedThrough() {
    state = State.COMPLETE;
    View v = view;
    view = new View(State.COMPLETE, v.head, v.meta.withBody(received, 0), v.cs, v.expected, onDisk, diskEnd, received,
        channel, v.bodyOffset, false);
    ended();
  }

  private void fail() {
    if (state.ended()) {
      return;
    }
    boolean wasFilling = state == State.FILLING;
    state = State.FAILED;
    ctx.fills().remove(key, this);
    if (wasFilling) {
      ctx.metrics().storeFailure();
    }
    writer.abort();
    dropFromRam();
    tail.clear();
    tailBytes = 0;
    publish();
    ended();
  }

  private void ended() {
    wakeReaders();
    maybeCloseChannel();
    onDone.run();
  }

  // ---------------------------------------------------------------- readers (messages to the owner)

  /** Adds a reader; {@code then} gets false (on the reader's loop) when it cannot join any more. From the reader's loop. */
  void addReader(Reader r, Handler<Boolean> then) {
    onOwner(() -> {
      boolean ok = !channelClosed && (state == State.FILLING || state == State.COMPLETE && view.stored);
      if (ok) {
        readers.add(r);
      }
      r.ex.context.runOnContext(x -> then.handle(ok));
    });
  }

  void removeReader(Reader r) {
    onOwner(() -> {
      readers.remove(r);
      trimTail();
      maybeCloseChannel();
    });
  }

  /**
   * Degraded: a reader that has sent {@code from} body bytes asks for the next ones; {@code then} gets
   * them (on the reader's loop), {@code null} when none arrived yet. Fails when they were dropped.
   */
  void tailFrom(Reader r, long from, Handler<io.vertx.core.AsyncResult<Buffer>> then) {
    onOwner(() -> {
      r.acked = Math.max(r.acked, from);
      trimTail();
      io.vertx.core.AsyncResult<Buffer> result;
      if (from < tailStart) {
        result = Future.failedFuture(new IllegalStateException("reader fell behind the retained tail"));
      } else {
        result = Future.succeededFuture(slice(from));
      }
      r.ex.context.runOnContext(x -> then.handle(result));
    });
  }

  /** Runs {@code task} on the owner: now when already there (replies to readers always go through their context's queue). */
  private void onOwner(Runnable task) {
    if (io.vertx.core.Vertx.currentContext() == owner) {
      task.run();
    } else {
      owner.runOnContext(v -> task.run());
    }
  }

  private Buffer slice(long from) {
    long pos = tailStart;
    Buffer out = null;
    for (Buffer b : tail) {
      long end = pos + b.length();
      if (end > from) {
        Buffer part = from > pos ? b.slice((int) (from - pos), b.length()) : b;
        if (out == null && (end == tailStart + tailBytes || part.length() >= TAIL_SLICE)) {
          return part; // one kept buffer holds the rest: sent as it is (a write sends a duplicate), not copied
        }
        if (out == null) {
          out = Buffer.buffer((int) Math.min(TAIL_SLICE, received - from));
        }
        out.appendBuffer(part);
        if (out.length() >= TAIL_SLICE) {
          break;
        }
      }
      pos = end;
    }
    return out;
  }

  /** Degraded: drops tail bytes every reader has sent; resumes the origin when the tail is short again. */
  private void trimTail() {
    if (whole || state != State.DEGRADED && state != State.COMPLETE) {
      return; // a whole small body stays for readers that join late (it is at most WHOLE_MAX)
    }
    long min = received;
    for (Reader r : readers) {
      min = Math.min(min, r.acked);
    }
    while (!tail.isEmpty() && tailStart + tail.peekFirst().length() <= min) {
      Buffer b = tail.pollFirst();
      tailStart += b.length();
      tailBytes -= b.length();
    }
    if (pausedForReaders && tailBytes < LOW_WATER) {
      pausedForReaders = false;
      cres.resume();
    }
  }

  private void wakeReaders() {
    for (Reader r : readers) {
      r.wake();
    }
  }

  private void maybeCloseChannel() {
    if (state.ended() && readers.isEmpty() && !channelClosed) {
      channelClosed = true;
      FileChannel c = channel;
      channel = null;
      publish();
      if (c != null) {
        closeOnIo(c);
      }
    }
  }

  private void closeOnIo(FileChannel c) {
    Runnable close = () -> {
      try {
        c.close();
      } catch (java.io.IOException ignored) {
        // nothing to do
      }
      ctx.fillFiles().remove(c);
    };
    try {
      ctx.ioExecutor().execute(close);
    } catch (java.util.concurrent.RejectedExecutionException stopping) {
      close.run(); // the pool is shut down (the proxy is stopping): a close does not block for long
    }
  }

  /**
   * Relays the writer's progress (on the cache-io pool, in the writer's order) to the owner; opens the
   * filling file for the readers on the first report, there, so the event loop never opens a file.
   * Its one field belongs to the writer's chain.
   */
  private final class ProgressRelay implements java.util.function.LongConsumer {
    private final EntryWriter w;
    private boolean opened; // the writer's chain

    ProgressRelay(EntryWriter w) {
      this.w = w;
    }

    @Override
    public void accept(long bytesOnDisk) {
      if (bytesOnDisk == 0 && !opened) {
        return; // the writer's first report, before any body byte: nothing to read yet, no hop to the owner
      }
      FileChannel ch = null;
      if (!opened) {
        opened = true;
        try {
          ch = FileChannel.open(w.tempPath(), StandardOpenOption.READ);
        } catch (java.io.IOException e) {
          LOG.debug("could not open the filling file of {}: {}", key, e.toString());
        }
      }
      FileChannel c = ch;
      owner.runOnContext(v -> onDisk(bytesOnDisk, c));
    }
  }

  /**
   * Keeps at most {@code cache.max-variants} variants per URI (RFC 9111 §4.1 lets a cache choose):
   * before a new variant is stored, the ones {@link dev.zcproxy.cache.policy.HttpCache#variantsToDrop} names go.
   */
  private void boundVariants(EntryMeta incoming) {
    ctx.cache().variantsToDrop(incoming, ctx.store().variants(incoming.primaryKey())).forEach(ctx.store()::remove);
  }

  /**
   * One client reading a fill's file: sends each newly written range, ends once the entry is complete.
   *
   * <p>Lives on the client's event loop: {@code sent}, {@code sending} and {@code done} are that
   * loop's; it reads the fill's published {@link View} and asks the fill's owner for the rest.
   * {@code acked} belongs to the fill's owner (what this reader last said it has sent).
   */
  static final class Reader {
    final Exchange ex;
    final Fill fill;
    final TransferMode mode;
    /** The body bytes {@code [from, to)} this reader sends; {@code to == -1}: up to the end. */
    final long from;
    final long to;
    /** The body offset sent up to (starts at {@code from}). */
    long sent;
    private boolean sending;
    private boolean done;
    /** The owner's: the body bytes this reader said it has sent. */
    long acked;

    Reader(Exchange ex, Fill fill, TransferMode mode) {
      this(ex, fill, mode, 0, -1);
    }

    /** A reader of the body bytes {@code [from, to)} only (a range answered from the growing file). */
    Reader(Exchange ex, Fill fill, TransferMode mode, long from, long to) {
      this.ex = ex;
      this.fill = fill;
      // A small body held whole is sent from memory (its writer started after the view this reader read).
      this.mode = fill.whole && mode == TransferMode.SENDFILE ? TransferMode.COPY : mode;
      this.from = from;
      this.to = to;
      this.sent = from;
      this.acked = from;
    }

    /** Where this reader's bytes end, as far as {@code v} knows (-1: not known yet). */
    private long limit(View v) {
      return to >= 0 ? to : v.total;
    }

    /**
     * Whether the head waits for the first body bytes, to go out with them in one write (nginx's
     * {@code postpone_output}): so for a small body held whole, which comes from memory right behind the head.
     */
    boolean headWithBody() {
      return fill.whole;
    }

    /** Any thread: pumps on the reader's loop. */
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

    private void cut(Object why) {
      if (!done) {
        done = true;
        fill.removeReader(this);
        // Never a short body that looks complete: close the connection.
        ex.finish(CacheOutcome.MISS, mode, ex.resp.reset().flatMap(v -> Future.failedFuture(String.valueOf(why))));
      }
    }

    private void end() {
      done = true;
      fill.removeReader(this);
      ex.finish(CacheOutcome.MISS, mode, ex.resp.end());
    }

    void pump() {
      if (done || sending) {
        return;
      }
      View v = fill.view;
      if (v.state == State.FAILED) {
        cut("origin body incomplete");
        return;
      }
      long fileEnd = Math.min(v.onDisk, v.diskEnd);
      long limit = limit(v);
      long sendEnd = limit >= 0 ? Math.min(fileEnd, limit) : fileEnd;
      if (sent < sendEnd && v.channel != null) {
        long n = sendEnd - sent;
        sending = true;
        fill.ctx.transfer().sendRange(ex.req, mode, v.channel, v.bodyOffset + sent, n, k -> {
          sent += k;
          ex.bodyBytes = sent - from;
        }).onComplete(ar -> ex.context.runOnContext(x -> {
          sending = false;
          if (ar.failed()) {
            cut(ar.cause());
            return;
          }
          pump();
        }));
        return;
      }
      if (limit >= 0 && sent >= limit) {
        end();
        return;
      }
      if (v.state.ended() && v.channel == null && sent < fileEnd) {
        cut("the filled file could not be opened"); // never waits for bytes that cannot come
        return;
      }
      if (sent >= v.diskEnd) {
        pumpTail(v);
      }
    }

    /** Degraded: sends what the fill kept in memory; ends when the origin body ended. */
    private void pumpTail(View v) {
      sending = true;
      fill.tailFrom(this, sent, ar -> {
        sending = false;
        if (done) {
          return;
        }
        if (ar.failed()) {
          cut(ar.cause());
          return;
        }
        Buffer next = ar.result();
        if (next == null) {
          View now = fill.view;
          if (now.state == State.COMPLETE && sent >= limit(now)) {
            end();
          } else if (now.state == State.FAILED) {
            cut("origin body incomplete");
          }
          return; // woken when more arrives
        }
        sending = true;
        if (to >= 0 && sent + next.length() > to) {
          next = next.slice(0, (int) (to - sent)); // a range ends inside the tail
        }
        int n = next.length();
        long end = limit(fill.view);
        if (end >= 0 && sent + n >= end) {
          // The last bytes: head (when it waited for them), body and end of response in one write.
          done = true;
          sent += n;
          ex.bodyBytes = sent - from;
          fill.removeReader(this);
          ex.finish(CacheOutcome.MISS, mode, ex.resp.end(next));
          return;
        }
        ex.resp.write(next).onComplete(w -> {
          sending = false;
          if (w.failed()) {
            abandon();
            return;
          }
          sent += n;
          ex.bodyBytes = sent - from;
          pump();
        });
      });
    }
  }
}
