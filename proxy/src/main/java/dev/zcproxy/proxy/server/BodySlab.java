package dev.zcproxy.proxy.server;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;

/**
 * The RAM tier's direct memory, carved into blocks of {@link #BLOCK} bytes: a body takes whole blocks (its last one
 * partly), any free block serves any body, so memory given back by one size is taken again by another. Per-body
 * {@code malloc} (or Netty's pool) left the bodies' memory at about twice their bytes after a tier holding 4 KiB keys
 * turned over to 1 KiB and 16 KiB bodies (holes of one size do not fit another: a simulation of the Zipf cells, 47 MB
 * of bodies, 100 MB resident). Memory is taken from the system a {@link #SLAB} at a time as blocks are first needed,
 * never more than {@code limit} bytes, and given back only when the tier closes: what it holds is the tier's high-water
 * mark.
 *
 * <p>Thread-safe: the free list and counters are guarded by this object; a body's reference count is Netty's.
 */
final class BodySlab {
  /** Block size: a 4 KiB body is one block, a 16 KiB one four; a 1 KiB body leaves 3 KiB of its block unused. */
  static final int BLOCK = 4096;
  /** Memory taken from the system at a time. */
  static final int SLAB = 1 << 20;
  private static final int PER_SLAB = SLAB / BLOCK;

  private final UnpooledByteBufAllocator alloc = new UnpooledByteBufAllocator(true, true, true);
  private final int maxSlabs;
  private final ByteBuf[] slabs;
  private int slabCount;
  /** Free block ids (slab * PER_SLAB + index), a stack with room for every block of every slab. */
  private final int[] free;
  private int freeCount;
  private int used;
  private boolean closed;

  /** Blocks for at most {@code limit} bytes of bodies (rounded up to whole slabs). */
  BodySlab(long limit) {
    this.maxSlabs = (int) Math.max(1, (limit + SLAB - 1) / SLAB);
    this.slabs = new ByteBuf[maxSlabs];
    this.free = new int[maxSlabs * PER_SLAB];
  }

  /** Blocks a body of {@code length} bytes takes. */
  static int blocks(int length) {
    return Math.max(1, (length + BLOCK - 1) / BLOCK);
  }

  /**
   * A body of {@code length} bytes, {@code body}'s from {@code offset}, with one reference (the caller's), or
   * {@code null} when the slab's limit leaves no room; its blocks return to the free list when its count reaches 0.
   */
  ByteBuf copyOf(byte[] body, int offset, int length) {
    int n = blocks(length);
    int[] ids = take(n);
    if (ids == null) {
      return null;
    }
    ByteBuf[] parts = new ByteBuf[n];
    for (int i = 0; i < n; i++) {
      int len = Math.min(BLOCK, length - i * BLOCK);
      ByteBuf slab = slab(ids[i]);
      int at = (ids[i] % PER_SLAB) * BLOCK;
      slab.setBytes(at, body, offset + i * BLOCK, len);
      // a view that releasing does not free (a slice shares the slab's count): the body's count is what frees its blocks
      parts[i] = Unpooled.unreleasableBuffer(slab.slice(at, len));
    }
    return new Body(alloc, n, parts, ids, this);
  }

  private synchronized ByteBuf slab(int id) {
    return slabs[id / PER_SLAB];
  }

  private synchronized int[] take(int n) {
    if (closed) {
      return null;
    }
    while (freeCount < n && slabCount < maxSlabs) {
      ByteBuf s = alloc.directBuffer(SLAB, SLAB);
      int base = slabCount * PER_SLAB;
      slabs[slabCount++] = s;
      for (int i = PER_SLAB - 1; i >= 0; i--) {
        free[freeCount++] = base + i;
      }
    }
    if (freeCount < n) {
      return null;
    }
    int[] ids = new int[n];
    for (int i = 0; i < n; i++) {
      ids[i] = free[--freeCount];
    }
    used += n;
    return ids;
  }

  private synchronized void give(int[] ids) {
    for (int id : ids) {
      free[freeCount++] = id;
    }
    used -= ids.length;
    releaseIfDone();
  }

  /** Takes no more bodies; gives the memory back once every body was freed (now, or at the last release). */
  synchronized void close() {
    closed = true;
    releaseIfDone();
  }

  private void releaseIfDone() {
    if (closed && used == 0) {
      for (int i = 0; i < slabCount; i++) {
        slabs[i].release();
        slabs[i] = null;
      }
      slabCount = 0;
      freeCount = 0;
    }
  }

  /** Bytes of the blocks that bodies hold now. */
  synchronized long usedBytes() {
    return (long) used * BLOCK;
  }

  /** Direct memory taken from the system now (whole slabs). */
  long reservedBytes() {
    return alloc.metric().usedDirectMemory();
  }

  /** A body: its blocks as one buffer, which gives them back when its last reference is released. */
  private static final class Body extends CompositeByteBuf {
    private final int[] ids;
    private final BodySlab owner;

    Body(UnpooledByteBufAllocator alloc, int n, ByteBuf[] parts, int[] ids, BodySlab owner) {
      super(alloc, true, Math.max(2, n), parts);
      this.ids = ids;
      this.owner = owner;
    }

    @Override
    protected void deallocate() {
      super.deallocate(); // "releases" its views, which free nothing (see copyOf)
      owner.give(ids);
    }
  }
}
