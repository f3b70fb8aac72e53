package dev.zcproxy.proxy.internal;

import dev.zcproxy.cache.EncodedHead;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.concurrent.FastThreadLocal;

/**
 * The bytes of a whole small response (a pre-encoded head with its {@code Age}, then its body from memory) in one
 * direct buffer, reused while a thread writes the same response again: the last one encoded on each thread is kept,
 * and the same head, age and body on that thread get a slice of it (a reference count more) instead of a new buffer,
 * a head encoding and a copy of the body. A keep-alive client that asks for the same object again within the same
 * second gets the same bytes; any other response replaces the kept one (whose slices in flight keep it alive).
 *
 * <p>State is per thread (an event loop writes its channels' hits); at most one buffer of at most {@link #MAX_KEPT}
 * bytes per thread is kept, and it is released when replaced or when the thread ends.
 */
final class EncodedResponses {
  /** The largest response kept for reuse; a larger one is encoded for each write as before. */
  static final int MAX_KEPT = 64 * 1024;
  /** Responses up to this size are assembled in a heap array and copied to the direct buffer at once. */
  private static final int SCRATCH_WHOLE = 4096;

  private static final FastThreadLocal<Last> LAST = new FastThreadLocal<>() {
    @Override
    protected Last initialValue() {
      return new Last();
    }

    @Override
    protected void onRemoval(Last last) {
      last.forget();
    }
  };

  private EncodedResponses() {}

  /**
   * A buffer with {@code head} (Age {@code ageSeconds}) and {@code length} bytes of {@code body} from {@code offset}
   * ({@code body} never changes), which the caller owns (writes, or releases). Throws what encoding the head throws;
   * nothing is kept then.
   */
  static ByteBuf encode(ByteBufAllocator alloc, EncodedHead head, long ageSeconds, byte[] body, int offset, int length) {
    Last last = LAST.get();
    if (last.buf != null && last.head == head && last.age == ageSeconds && last.body == body && last.offset == offset
        && last.length == length) {
      return last.buf.retainedSlice(0, last.buf.writerIndex());
    }
    int headLength = head.length(ageSeconds);
    int total = headLength + length;
    ByteBuf buf = alloc.directBuffer(total);
    try {
      last.write(buf, head, ageSeconds, body, offset, length, headLength);
    } catch (RuntimeException e) {
      buf.release();
      throw e;
    }
    if (total <= MAX_KEPT) {
      last.keep(buf.retain(), head, ageSeconds, body, offset, length);
    }
    return buf;
  }

  /** Releases what this thread keeps (tests; a thread's end does it too). */
  static void forgetOnThisThread() {
    if (LAST.isSet()) {
      LAST.get().forget();
    }
  }

  /** The last response encoded on a thread, and that thread's scratch array. Owned by the thread. */
  private static final class Last {
    ByteBuf buf;
    EncodedHead head;
    long age;
    byte[] body;
    int offset;
    int length;
    /** Where a small response is assembled before its one copy into the buffer (grown to the largest). */
    private byte[] scratch = new byte[512];

    void keep(ByteBuf kept, EncodedHead head, long age, byte[] body, int offset, int length) {
      forget();
      this.buf = kept;
      this.head = head;
      this.age = age;
      this.body = body;
      this.offset = offset;
      this.length = length;
    }

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
    void write(ByteBuf buf, EncodedHead head, long age, byte[] body, int offset, int length, int headLength) {
      boolean whole = headLength + length <= SCRATCH_WHOLE;
      int need = whole ? headLength + length : headLength;
      if (scratch.length < need) {
        scratch = new byte[Math.max(need, Math.min(SCRATCH_WHOLE, scratch.length * 2))];
      }
      head.writeTo(scratch, 0, age);
      if (whole) {
        System.arraycopy(body, offset, scratch, headLength, length);
        copyInto(buf, scratch, need);
      } else {
        buf.writeBytes(scratch, 0, headLength);
        buf.writeBytes(body, offset, length);
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
