package dev.zcproxy.cache.store;

import static java.util.Objects.requireNonNull;

import dev.zcproxy.cache.EntryMeta;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Streams one response body into a temp file and publishes it as a cache entry by atomic rename only
 * when it is complete.
 *
 * <p>Calls never block: writes are queued in order to the store's I/O executor. A write error fails
 * the writer (later writes are dropped, {@link #commit} fails, the temp file is deleted) and is logged
 * once; the caller's response to its client is unaffected.
 *
 * <p>All file work happens in a serial task chain on the I/O executor: create the temp file, append
 * the queued buffers at {@code bodyOffset + written}, then at commit write the header, force, rename and
 * index. The fields below marked "chain" are touched only from that chain. Buffers written while an
 * append task is already queued join that task: it writes everything queued by then with one gathering
 * write and reports progress once (an origin read decoded into 8 KiB parts is one file write and one
 * progress report, not one per part).
 *
 * <p>A writer made by {@link DiskStore#newDeferredWriter} starts no task until it is used: a caller
 * that holds a small body whole gives it to {@link #commitWhole}, which creates, writes, renames and
 * indexes the file in ONE task (one hop to the I/O executor per fill instead of one per step); any
 * other call starts the chain as for a streaming writer.
 */
public final class EntryWriter {
  private static final Logger LOG = LoggerFactory.getLogger(EntryWriter.class);

  private final DiskStore store;
  private final EntryMeta meta;
  private final long expectedLength;
  private final String hash;
  private final long generation;
  private final Path temp;
  private final byte[] metaBytes;
  private final long bodyOffset;
  private final SerialExecutor chain;
  private final AtomicLong pending = new AtomicLong();
  /** Buffers given to {@link #write}, in order, not yet taken by an append task. */
  private final java.util.concurrent.ConcurrentLinkedQueue<ByteBuffer> queued = new java.util.concurrent.ConcurrentLinkedQueue<>();
  /** Whether an append task is queued on the chain that has not started taking {@link #queued} yet. */
  private final java.util.concurrent.atomic.AtomicBoolean appendQueued = new java.util.concurrent.atomic.AtomicBoolean();
  private final CompletableFuture<EntryMeta> result = new CompletableFuture<>();
  private volatile long written;
  private volatile boolean failed;
  private volatile boolean commitRequested;
  private volatile LongConsumer progress;
  private FileChannel channel; // chain
  private boolean cleaned; // chain
  private boolean claimedHeader; // chain
  /** Space reserved in the store for an external writer and not written yet (see {@link #reserveSpace}). */
  private final AtomicLong reservation = new AtomicLong();
  /** Whether the streaming chain (create the temp file first) was started; a deferred writer starts it when first used. */
  private final java.util.concurrent.atomic.AtomicBoolean started = new java.util.concurrent.atomic.AtomicBoolean();
  /** Zeros for the padding between the header and the body of a file written whole (read-only, shared). */
  private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(8192).asReadOnlyBuffer();

  EntryWriter(DiskStore store, EntryMeta meta, long expectedLength, String hash, long generation, Path temp) {
    this.store = store;
    this.meta = meta;
    this.expectedLength = expectedLength;
    this.hash = hash;
    this.generation = generation;
    this.temp = temp;
    this.metaBytes = EntryFormat.encodeMeta(meta);
    this.bodyOffset = EntryFormat.bodyOffsetFor(metaBytes.length);
    this.chain = new SerialExecutor(store.ioExecutor());
  }

  void start() {
    if (started.compareAndSet(false, true)) {
      submit(this::openTemp);
    }
  }

  void failClosed() {
    failed = true;
    cleaned = true;
    result.completeExceptionally(new IllegalStateException("store closed"));
  }

  /**
   * Queues {@code data} to be appended to the body. The writer takes ownership of the buffer (no copy):
   * it is read later on the I/O executor, from its position to its limit, so the caller must not change
   * or reuse it (or its backing memory) afterwards. Dropped silently once the writer has failed.
   *
   * @throws IllegalStateException after {@link #commit}
   */
  public void write(ByteBuffer data) {
    requireNonNull(data, "data");
    if (commitRequested) {
      throw new IllegalStateException("write after commit");
    }
    int n = data.remaining();
    if (failed || n == 0) {
      return;
    }
    start();
    pending.addAndGet(n);
    queued.add(data);
    if (appendQueued.compareAndSet(false, true)) {
      submit(this::appendQueued);
    }
  }

  /**
   * Hands the rest of the body to an external writer, such as {@code splice(2)} from a socket into the
   * file: completes, once every queued {@link #write} is on disk, with the writer's open temp file
   * channel (still owned by this writer: never close it or move its position). The caller writes the
   * next bytes at {@code bodyOffset() + writtenBytes()} onward and reports each range with
   * {@link #externalWritten}, in order. Completes exceptionally when the writer has failed.
   */
  public CompletableFuture<FileChannel> externalTarget() {
    CompletableFuture<FileChannel> f = new CompletableFuture<>();
    start();
    submit(() -> {
      appendQueued();
      if (failed || channel == null) {
        f.completeExceptionally(new IOException("entry write failed or aborted"));
      } else {
        f.complete(channel);
      }
    });
    return f;
  }

  /**
   * Reserves room on the file system for the whole expected body, for an external writer that cannot
   * recover from a full disk (splice: the bytes it took from the socket would be lost). Never blocks.
   * False when the room is not known to be free (or the length is unknown): write through
   * {@link #write} instead, which makes room or fails cleanly. The reservation is used up by
   * {@link #externalWritten} and given back when the writer ends.
   */
  public boolean reserveSpace() {
    if (expectedLength < 0 || failed || !store.reserve(expectedLength)) {
      return false;
    }
    reservation.set(expectedLength);
    if (failed) { // ended meanwhile: its cleanup may have missed the reservation
      store.release(reservation.getAndSet(0));
      return false;
    }
    return true;
  }

  /** Records that an external writer put the next {@code n} body bytes into the file (see {@link #externalTarget}). */
  public void externalWritten(long n) {
    if (n <= 0) {
      return;
    }
    long fromReservation = Math.min(n, reservation.get());
    reservation.addAndGet(-fromReservation);
    store.wroteReserved(n, fromReservation);
    submit(() -> {
      if (failed) {
        return;
      }
      if (expectedLength >= 0 && written + n > expectedLength) {
        fail(new IOException("body longer than " + expectedLength + " bytes"), false);
        return;
      }
      written += n;
      notifyProgress();
    });
  }

  /**
   * Calls {@code listener} once, on the I/O executor, if this writer fails or is aborted: nothing will
   * be published, and queued writes are dropped.
   */
  public void onFailure(java.util.function.Consumer<Throwable> listener) {
    requireNonNull(listener, "listener");
    result.whenComplete((m, t) -> {
      if (t != null) {
        listener.accept(t);
      }
    });
  }

  /** Bytes accepted by {@link #write} but not yet on disk: the caller pauses its source when this grows large. */
  public long pendingBytes() {
    return pending.get();
  }

  /** Bytes of the body written to the file so far. */
  public long writtenBytes() {
    return written;
  }

  /** Whether a write failed (or {@link #abort} was called): nothing will be published. */
  public boolean failed() {
    return failed;
  }

  /**
   * The temp file the body is being written to (for serving while filling): the body starts at
   * {@link #bodyOffset()}; {@link #onProgress} says how much of it is on disk. The file is created on
   * the I/O executor (it may not exist yet) and is renamed away at commit or deleted on failure:
   * open it only after the first progress report, and keep the open channel.
   */
  public Path tempPath() {
    return temp;
  }

  /** The generation of the file this writer publishes: the {@link OpenEntry#generation} of its entry. */
  public long generation() {
    return generation;
  }

  /** Where the body starts in {@link #tempPath()} (and in the published file). */
  public long bodyOffset() {
    return bodyOffset;
  }

  /**
   * Registers a listener of body bytes on disk, called on the I/O executor after each chunk lands (and
   * once right away with the current count). Replaces an earlier listener.
   */
  public void onProgress(LongConsumer bytesOnDisk) {
    requireNonNull(bytesOnDisk, "bytesOnDisk");
    progress = bytesOnDisk;
    start();
    submit(() -> {
      if (!failed) {
        notifyProgress();
      }
    });
  }

  /**
   * Publishes the entry once every queued write is on disk: checks the length against the expected one,
   * optionally forces the file, renames it into place and indexes it. Completes with the indexed meta,
   * or exceptionally (and nothing is stored). The entry may still be evicted at once by the index's
   * admission policy (its file is then deleted). Calling it again returns the same future.
   */
  public CompletableFuture<EntryMeta> commit() {
    if (!commitRequested) {
      commitRequested = true;
      start();
      submit(() -> doCommit(false));
    }
    return result;
  }

  /**
   * Writes {@code body}, the whole body, and publishes the entry, all in one task on the I/O executor:
   * create the temp file, write header and body with one gathering write, rename, index (as
   * {@link #commit} does, with the same length check). Only for a writer from
   * {@link DiskStore#newDeferredWriter} that was not used otherwise; the writer takes the buffer (see
   * {@link #write}). Calling it again, or after {@link #commit}, returns the same future.
   *
   * @throws IllegalStateException when the writer was already streaming
   */
  public CompletableFuture<EntryMeta> commitWhole(ByteBuffer body) {
    requireNonNull(body, "body");
    if (commitRequested) {
      return result;
    }
    if (!started.compareAndSet(false, true)) {
      throw new IllegalStateException("the writer is streaming: use write and commit");
    }
    commitRequested = true;
    submit(() -> writeWhole(body));
    return result;
  }

  /** Drops the entry: queued writes are discarded and the temp file deleted. Safe to call more than once. */
  public void abort() {
    if (result.isDone() && !failed) {
      return; // already published
    }
    failed = true;
    submit(() -> {
      cleanup();
      result.completeExceptionally(new CancellationException("entry write aborted"));
    });
  }

  // ---- the chain ----

  private void submit(Runnable task) {
    try {
      chain.execute(task);
    } catch (RuntimeException e) { // executor shut down: the temp file, if any, goes at the next scan
      failed = true;
      store.writerDone(this);
      result.completeExceptionally(e);
    }
  }

  private void openTemp() {
    if (failed) {
      cleanup();
      return;
    }
    try {
      channel = createTemp();
      if (expectedLength <= 0) {
        // The file is never shorter than the body offset, even for an empty body (a body of known
        // length extends it with its first write, and a shorter one is never published).
        DiskStore.writeFully(channel, ByteBuffer.allocate(1), bodyOffset - 1);
      }
    } catch (IOException | RuntimeException e) {
      fail(e, true);
    }
  }

  /**
   * At most this many buffers go into one gathering write: the JDK copies each heap buffer into a
   * temporary direct buffer and keeps those per thread, so this bounds what a cache-io thread keeps
   * (16 x 8 KiB parts = 128 KiB of direct memory).
   */
  private static final int MAX_GATHER = 16;

  /** Chain: appends every buffer queued so far, as few writes as possible. */
  private void appendQueued() {
    appendQueued.set(false); // a buffer queued from now on schedules another task (or is taken below)
    ByteBuffer[] batch = new ByteBuffer[Math.min(MAX_GATHER, Math.max(1, queued.size()))];
    while (true) {
      int k = 0;
      long n = 0;
      ByteBuffer b;
      while (k < batch.length && (b = queued.poll()) != null) {
        batch[k++] = b;
        n += b.remaining();
      }
      if (k == 0) {
        return;
      }
      append(k == batch.length ? batch : java.util.Arrays.copyOf(batch, k), n);
      java.util.Arrays.fill(batch, null);
    }
  }

  private void append(ByteBuffer[] data, long n) {
    if (failed) {
      pending.addAndGet(-n);
      return;
    }
    try {
      if (expectedLength >= 0 && written + n > expectedLength) {
        pending.addAndGet(-n);
        fail(new IOException("body longer than " + expectedLength + " bytes"), false);
        return;
      }
      long pos = bodyOffset + written;
      long limit = store.failWritesAfter;
      if (limit >= 0 && written + n > limit) {
        throw new IOException("No space left on device (injected after " + limit + " body bytes)");
      }
      long wanted = expectedLength >= 0 ? expectedLength - written : n;
      // The first chunk also claims the header block before the body, and the whole body must be able
      // to fit at all: a body larger than the cache could ever hold is refused before it evicts anything.
      long header = written == 0 && !claimedHeader ? bodyOffset : 0;
      claimedHeader = true;
      if ((header > 0 && !store.couldFit(header + wanted)) || !store.claim(header + n, header + wanted)) {
        pending.addAndGet(-n);
        fail(new IOException("no room on the cache's file system for " + wanted + " more bytes (cache.min-free)"), false);
        return;
      }
      store.writeHook.beforeWrite(temp, pos, (int) n);
      try {
        writeAt(data, n, pos);
      } catch (IOException e) {
        // Most likely a full disk that the store's estimate missed (another process wrote): make room
        // and try once more from where the write stopped.
        store.noSpace(wanted);
        writeAt(data, n, pos + (n - remaining(data)));
      }
      written += n;
      pending.addAndGet(-n);
      notifyProgress();
    } catch (IOException | RuntimeException e) {
      pending.addAndGet(-n);
      fail(e, true);
    }
  }

  /** Writes every remaining byte of {@code data} at {@code pos}: one positional write, or position + gathering writes. */
  private void writeAt(ByteBuffer[] data, long n, long pos) throws IOException {
    if (data.length == 1) {
      DiskStore.writeFully(channel, data[0], pos);
      return;
    }
    long left = remaining(data);
    channel.position(pos);
    while (left > 0) {
      left -= channel.write(data);
    }
  }

  private static long remaining(ByteBuffer[] data) {
    long r = 0;
    for (ByteBuffer b : data) {
      r += b.remaining();
    }
    return r;
  }

  private void notifyProgress() {
    LongConsumer p = progress;
    if (p != null) {
      try {
        p.accept(written);
      } catch (RuntimeException e) {
        LOG.warn("progress listener failed", e);
      }
    }
  }

  /** The one task of {@link #commitWhole}: temp file, one gathering write of header, padding and body, then {@link #doCommit}. */
  private void writeWhole(ByteBuffer body) {
    if (failed) {
      cleanup();
      result.completeExceptionally(new IOException("entry write failed or aborted"));
      return;
    }
    int n = body.remaining();
    if (expectedLength >= 0 && n != expectedLength) {
      fail(new IOException("body length " + n + " (expected: " + expectedLength + ")"), false);
      return;
    }
    try {
      long limit = store.failWritesAfter;
      if (limit >= 0 && n > limit) {
        throw new IOException("No space left on device (injected after " + limit + " body bytes)");
      }
      long fileSize = bodyOffset + n;
      if (!store.couldFit(fileSize) || !store.claim(fileSize, fileSize)) {
        fail(new IOException("no room on the cache's file system for " + n + " more bytes (cache.min-free)"), false);
        return;
      }
      claimedHeader = true;
      channel = createTemp();
      store.writeHook.beforeWrite(temp, bodyOffset, n);
      ByteBuffer header = EntryFormat.encodeHeader(metaBytes, bodyOffset, n);
      int pad = (int) (bodyOffset - header.remaining());
      ByteBuffer zeros = pad <= ZEROS.capacity() ? ZEROS.duplicate().limit(pad) : ByteBuffer.allocate(pad);
      int bodyStart = body.position();
      ByteBuffer[] all = {header, zeros, body};
      try {
        writeAll(all, fileSize);
      } catch (IOException e) {
        // Most likely a full disk that the store's estimate missed: make room and write the file once more.
        store.noSpace(fileSize);
        header.position(0);
        zeros.position(0);
        body.position(bodyStart);
        channel.position(0);
        writeAll(all, fileSize);
      }
      written = n;
    } catch (IOException | RuntimeException e) {
      fail(e, true);
      return;
    }
    doCommit(true);
  }

  /** Writes every byte of {@code all} at the channel's position (gathering writes until none remain). */
  private void writeAll(ByteBuffer[] all, long total) throws IOException {
    long done = 0;
    while (done < total) {
      long k = channel.write(all);
      if (k <= 0) {
        throw new IOException("wrote " + done + " of " + total + " bytes");
      }
      done += k;
    }
  }

  /** @param whole whether {@link #writeWhole} already wrote the header and the whole file (its length is known) */
  private void doCommit(boolean whole) {
    if (!whole) {
      appendQueued(); // a write queued while an append task ran may not have its own task before this one
    }
    if (failed) {
      cleanup();
      result.completeExceptionally(new IOException("entry write failed or aborted"));
      return;
    }
    if (expectedLength >= 0 && written != expectedLength) {
      fail(new IOException("body length " + written + " (expected: " + expectedLength + ")"), false);
      return;
    }
    if (store.isClosed()) {
      fail(new IllegalStateException("store closed"), false);
      return;
    }
    Path target = store.layout().entryPath(hash, generation);
    try {
      long length = written;
      if (!whole) {
        DiskStore.writeFully(channel, EntryFormat.encodeHeader(metaBytes, bodyOffset, length), 0);
        if (channel.size() != bodyOffset + length) {
          throw new IOException("file size " + channel.size() + " (expected: " + (bodyOffset + length) + ")");
        }
      }
      if (store.config().fsync()) {
        channel.force(true);
      }
      channel.close();
      moveIntoPlace(target);
      cleaned = true;
      store.writerDone(this);
      store.release(reservation.getAndSet(0));
      if (store.config().fsync()) {
        forceDirectory(target.getParent());
      }
      EntryMeta published = meta.withBody(length, bodyOffset);
      if (store.publish(store.entry(hash, published, generation), published)) {
        result.complete(published);
      } else {
        result.completeExceptionally(new IllegalStateException("entry " + meta.primaryKey() + " was invalidated while being written"));
      }
    } catch (IOException | RuntimeException e) {
      if (cleaned) {
        DiskStore.deleteQuietly(target);
      }
      fail(e, true);
    }
  }

  /**
   * Creates the temp file; its directory is created only when it is missing (one {@code open(2)} per
   * fill instead of a {@code mkdir(2)} and a {@code stat(2)} before it: the directory almost always exists).
   */
  private FileChannel createTemp() throws IOException {
    try {
      return FileChannel.open(temp, CREATE_NEW_WRITE, NO_ATTRIBUTES);
    } catch (NoSuchFileException missingDir) {
      Files.createDirectories(temp.getParent());
      return FileChannel.open(temp, CREATE_NEW_WRITE, NO_ATTRIBUTES);
    }
  }

  /** The temp file's open options, made once: the varargs overload builds an array and a set per file. */
  private static final java.util.Set<java.nio.file.OpenOption> CREATE_NEW_WRITE =
      java.util.Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
  private static final java.nio.file.attribute.FileAttribute<?>[] NO_ATTRIBUTES = new java.nio.file.attribute.FileAttribute<?>[0];

  /** Renames the complete temp file to {@code target}, creating its fan-out directory only when the rename says it is missing. */
  private void moveIntoPlace(Path target) throws IOException {
    try {
      Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
    } catch (NoSuchFileException missingDir) {
      if (!Files.exists(temp)) {
        throw missingDir;
      }
      Files.createDirectories(target.getParent());
      Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
    }
  }

  private static void forceDirectory(Path dir) {
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    } catch (IOException | RuntimeException e) {
      // best effort: not every file system lets a directory be forced
    }
  }

  /** Fails the writer (on the chain): logs once (rate-limited store-wide), deletes the temp file, fails the commit future. */
  private void fail(Exception e, boolean log) {
    boolean first = !failed;
    failed = true;
    if (first && log) {
      store.logWriteError(meta.primaryKey(), e);
    } else if (first) {
      LOG.debug("cache write of {} dropped: {}", meta.primaryKey(), e.getMessage());
    }
    cleanup();
    result.completeExceptionally(e);
  }

  private void cleanup() {
    if (cleaned) {
      return;
    }
    cleaned = true;
    if (channel != null) {
      try {
        channel.close();
      } catch (IOException ignored) {
        // the file is deleted next
      }
    }
    DiskStore.deleteQuietly(temp);
    store.writerDone(this);
    store.release(reservation.getAndSet(0));
  }

  /** The response being written (its times tell the ban sweep how old it is). */
  EntryMeta meta() {
    return meta;
  }
}
