package dev.zcproxy.proxy.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.vertx.core.buffer.Buffer;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;

/**
 * A body kept in the RAM tier, in direct memory off the JVM heap (or on the heap when direct memory is not to be
 * had), with a count of references: the tier holds one, and each hit that copies it out holds one while it copies
 * ({@link #tryRetain}), so a body dropped or evicted meanwhile is freed only after the copy, exactly once.
 *
 * <p>Direct bodies come from Netty's unpooled allocator: one {@code malloc(3)} of the body's exact size (glibc's bins
 * are the size classes: a 1 KiB body takes ~1 KiB, not a 4 KiB block), freed at the last {@link #release}. They count
 * against {@code -XX:MaxDirectMemorySize} with Netty's I/O buffers: {@link #directFits} says whether a tier of a given
 * size leaves the I/O buffers their room.
 *
 * <p>Thread-safe: the count is atomic; the bytes never change once the body was filled and handed to the tier.
 */
public final class RamBody {
  private static final AtomicIntegerFieldUpdater<RamBody> REFS = AtomicIntegerFieldUpdater.newUpdater(RamBody.class, "refs");
  /** Direct memory left to Netty's I/O buffers beside a direct tier (they took ~11 MB in the load tests). */
  static final long IO_ROOM = 32L << 20;

  private final ByteBuf buf;
  private volatile int refs = 1;

  private RamBody(ByteBuf buf) {
    this.buf = buf;
  }

  /**
   * Whether a tier of {@code tierBytes} may keep its bodies in direct memory: whether it and {@link #IO_ROOM} fit in the
   * JVM's direct-memory limit ({@code maxDirect}).
   */
  public static boolean directFits(long tierBytes, long maxDirect) {
    return tierBytes + IO_ROOM <= maxDirect;
  }

  /** The JVM's direct-memory limit as Netty counts it, or the heap's maximum when Netty cannot tell. */
  public static long maxDirectMemory() {
    try {
      return io.netty.util.internal.PlatformDependent.maxDirectMemory();
    } catch (LinkageError | RuntimeException e) {
      return Runtime.getRuntime().maxMemory();
    }
  }

  /**
   * A body of {@code length} bytes (to be filled through {@link #writable}), in direct memory when {@code direct} and the
   * limit allows, else on the heap.
   */
  public static RamBody allocate(int length, boolean direct) {
    ByteBuf b = null;
    if (direct) {
      try {
        b = UnpooledByteBufAllocator.DEFAULT.directBuffer(length, length);
      } catch (OutOfMemoryError e) { // the direct limit reached: this body goes to the heap
        b = null;
      }
    }
    return new RamBody(b != null ? b : Unpooled.buffer(length, length));
  }

  /** A body holding a copy of {@code bytes}. */
  public static RamBody copyOf(byte[] bytes, boolean direct) {
    RamBody body = allocate(bytes.length, direct);
    body.buf.setBytes(0, bytes);
    return body;
  }

  /** Its length in bytes. */
  public int length() {
    return buf.capacity();
  }

  /** Whether its bytes are off the heap. */
  public boolean isDirect() {
    return buf.isDirect();
  }

  /** Its whole memory, to fill before it is handed to the tier (a view: position 0, limit {@link #length}). */
  public ByteBuffer writable() {
    return buf.nioBuffer(0, buf.capacity());
  }

  /** Takes a reference unless it was released for good; true when taken ({@link #release} it after use). */
  public boolean tryRetain() {
    for (;;) {
      int n = refs;
      if (n <= 0) {
        return false;
      }
      if (REFS.compareAndSet(this, n, n + 1)) {
        return true;
      }
    }
  }

  /** Gives a reference back; the last one frees the memory. */
  public void release() {
    int n = REFS.decrementAndGet(this);
    if (n == 0) {
      buf.release();
    } else if (n < 0) {
      throw new IllegalStateException("RAM body released more often than retained");
    }
  }

  /** Whether its memory was freed (tests). */
  public boolean freed() {
    return refs <= 0 && buf.refCnt() == 0;
  }

  /** Appends {@code length} of its bytes from {@code offset} to {@code dst} (hold a reference while it copies). */
  public void copyTo(ByteBuf dst, int offset, int length) {
    dst.writeBytes(buf, offset, length);
  }

  /** Copies {@code length} of its bytes from {@code offset} into {@code dst} at {@code at} (hold a reference). */
  public void copyTo(byte[] dst, int at, int offset, int length) {
    buf.getBytes(offset, dst, at, length);
  }

  /** A copy of {@code length} of its bytes from {@code offset} as a Vert.x buffer (hold a reference while it copies). */
  public Buffer toBuffer(int offset, int length) {
    byte[] copy = new byte[length];
    buf.getBytes(offset, copy);
    return RamBodies.wrap(copy, 0, length);
  }
}
