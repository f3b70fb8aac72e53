package dev.zcproxy.proxy.internal;

import dev.zcproxy.cache.EncodedHead;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.concurrent.EventExecutor;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;

/**
 * The last whole small response written on each event loop, kept for reuse: one per proxy, closed with it.
 *
 * <p>A whole small response (a pre-encoded head with its {@code Age}, then its body from memory) is one direct
 * buffer; the last one encoded on an event loop is kept in that loop's {@link Slot}, and the same head, age and body on
 * that loop get a slice of it (a reference count more) instead of a new buffer, a head encoding and a copy of the
 * body. A keep-alive client that asks for the same object again within the same second gets the same bytes; any other
 * response replaces the kept one (whose slices in flight keep it alive).
 *
 * <p>Threads: each slot is owned by its event loop (only that loop encodes with it: a channel's handler takes the slot
 * of its channel's loop once); the map of slots is shared. At most one buffer of at most {@link #MAX_KEPT} bytes per
 * loop is kept; it is released when replaced, and every slot's when the proxy {@link #close closes} (on the slot's
 * loop while that loop runs, else at once); a slot keeps nothing after that.
 */
public final class EncodedResponses {
  /** The largest response kept for reuse; a larger one is encoded for each write as before. */
  static final int MAX_KEPT = 64 * 1024;
  /** Responses up to this size are assembled in a heap array and copied to the direct buffer at once. */
  private static final int SCRATCH_WHOLE = 4096;

  private final Map<EventExecutor, Slot> slots = new ConcurrentHashMap<>();
  private volatile boolean closed;

  /** Nothing kept yet. */
  public EncodedResponses() {}

  /** The slot of {@code loop} (made on first use); use it on {@code loop} only. */
  Slot slot(EventExecutor loop) {
    return slots.computeIfAbsent(loop, Slot::new);
  }

  /** Buffers kept now, over all loops (tests: read off the loops, so only meaningful once they are quiet). */
  int kept() {
    int n = 0;
    for (Slot s : slots.values()) {
      n += s.buf != null ? 1 : 0;
    }
    return n;
  }

  /**
   * Releases every loop's kept buffer (on the loop while it runs, else here) and keeps nothing from now on; call when
   * the proxy closes. Slices still in flight keep their buffer alive until written.
   */
  public void close() {
    closed = true;
    for (Slot s : slots.values()) {
      EventExecutor loop = s.loop;
      if (loop.inEventLoop() || loop.isShuttingDown()) {
        s.forget(); // a loop that stops takes no more hits: nothing races this
        continue;
      }
      try {
        loop.execute(s::forget); // after this, every encode on the loop sees closed
      } catch (RejectedExecutionException e) {
        s.forget(); // stopped meanwhile
      }
    }
  }

  /** One event loop's last response and scratch array. Owned by that loop. */
  final class Slot {
    private final EventExecutor loop;
    private ByteBuf buf;
    private EncodedHead head;
    private long age;
    private RamBody body;
    private int offset;
    private int length;
    /** Where a small response is assembled before its one copy into the buffer (grown to the largest). */
    private byte[] scratch = new byte[512];

    private Slot(EventExecutor loop) {
      this.loop = loop;
    }

    /**
     * A buffer with {@code head} (Age {@code ageSeconds}) and {@code length} bytes of {@code body} from {@code offset}
     * ({@code body} never changes), which the caller owns (writes, or releases). Throws what encoding the head
     * throws; nothing is kept then.
     */
    ByteBuf encode(ByteBufAllocator alloc, EncodedHead head, long ageSeconds, RamBody body, int offset, int length) {
      if (buf != null && this.head == head && age == ageSeconds && this.body == body && this.offset == offset
          && this.length == length) {
        return buf.retainedSlice(0, buf.writerIndex());
      }
      int headLength = head.length(ageSeconds);
      int total = headLength + length;
      ByteBuf out = alloc.directBuffer(total);
      try {
        write(out, head, ageSeconds, body, offset, length, headLength);
      } catch (RuntimeException e) {
        out.release();
        throw e;
      }
      if (total <= MAX_KEPT && !closed) {
        keep(out.retain(), head, ageSeconds, body, offset, length);
      }
      return out;
    }

    private void keep(ByteBuf kept, EncodedHead head, long age, RamBody body, int offset, int length) {
      forget();
      this.buf = kept;
      this.head = head;
      this.age = age;
      this.body = body;
      this.offset = offset;
      this.length = length;
    }

    /** Releases the kept buffer (tests, {@link #close}). */
    void forget() {
      ByteBuf b = buf;
      buf = null;
      head = null;
      body = null;
      if (b != null) {
        b.release();
      }
    }

    /** Writes the head and the body into {@code buf} (a small response is put together first: one copy, no view per write). */
    private void write(ByteBuf buf, EncodedHead head, long age, RamBody body, int offset, int length, int headLength) {
      boolean whole = headLength + length <= SCRATCH_WHOLE;
      int need = whole ? headLength + length : headLength;
      if (scratch.length < need) {
        scratch = new byte[Math.max(need, Math.min(SCRATCH_WHOLE, scratch.length * 2))];
      }
      head.writeTo(scratch, 0, age);
      if (whole) {
        body.copyTo(scratch, headLength, offset, length);
        copyInto(buf, scratch, need);
      } else {
        buf.writeBytes(scratch, 0, headLength);
        body.copyTo(buf, offset, length);
      }
    }
  }

  /**
   * Appends {@code length} bytes of {@code src} to {@code buf}: straight to its memory when it has an address (a
   * pooled buffer's {@code writeBytes(byte[])} makes a {@code ByteBuffer} view per call), else by {@code writeBytes}.
   */
  private static void copyInto(ByteBuf buf, byte[] src, int length) {
    if (buf.hasMemoryAddress() && io.netty.util.internal.PlatformDependent.hasUnsafe()) {
      buf.ensureWritable(length);
      io.netty.util.internal.PlatformDependent.copyMemory(src, 0, buf.memoryAddress() + buf.writerIndex(), length);
      buf.writerIndex(buf.writerIndex() + length);
    } else {
      buf.writeBytes(src, 0, length);
    }
  }
}
