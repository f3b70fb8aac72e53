package dev.zcproxy.proxy.internal;

import dev.zcproxy.cache.EncodedHead;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/**
 * The first buffer of a file hit: its encoded head followed by the body's first bytes, read from the file
 * ({@code pread}), so that the head does not leave in a TCP segment of its own and the rest of the body follows as a
 * file region ({@code sendfile}).
 *
 * <p>Why: with TCP_NODELAY a head written alone leaves as a small segment of its own, and at 256 KiB the client then
 * sent about 7 packets per response against nginx's 3 and spent 1.25x the CPU per response
 * (loadtest/results/LARGE-2026-12-03c.md). nginx avoids it with {@code tcp_nopush} (TCP_CORK), which costs two
 * {@code setsockopt} per hit and moved the delivery to the reader into our sendfile ({@link HitCork}: 1.3-1.8x the
 * proxy's CPU per GB). Filling the first segment from the file costs one read of at most {@link #BYTES} bytes
 * instead (loadtest/results/LARGE-2026-12-03d.md).
 *
 * <p>For bodies longer than the room the buffer leaves after the head, so a region follows (the hit stays a sendfile
 * hit), and shorter than {@link #BELOW}; bodies of at most {@link #WHOLE} bytes are read whole and no region follows
 * ({@link #wholeBody}); those in between keep their writev + sendfile. Why not at 1 MiB
 * (loadtest/results/BULK-2026-12-03e.md): there the head alone keeps a client reading while the body arrives, so the
 * body's TCP input runs in the client, from its socket's backlog (on loopback: 26,000 client ACKs and 411 ms of client
 * CPU per GB against nginx's 7,400 and 229), and a one-threaded client reads 0.86x nginx's bytes. With the prefix the
 * receiver's side and its wake-ups run inside our sendfile, as in nginx's: one client thread read 1.29x the bytes, but
 * the proxy's CPU per GB rose 3.2x and 3.6x (0.13 -> 0.41 s at 16 connections, 0.09 -> 0.32 at 128, where the bytes
 * moved 1.03x; nginx's was 0.40 and 0.25 that day), which puts 128-connection 1 MiB hits above nginx's CPU per GB.
 *
 * <p>A read that fails or comes back short leaves the buffer with what it got: the region then starts where the read
 * stopped.
 *
 * <p>The buffer is one loopback segment (64 KiB less the IP and TCP headers): a smaller one (16 KiB) moved fewer bytes
 * per second at 256 KiB in the same runs; on a real NIC any size puts the head in the body's first segment, and the
 * copy costs at most 64 KiB per hit of under 1 MiB.
 *
 * <p>The metrics count what was written, not what was chosen: the prefix as buffer bytes (it was read and written by
 * the proxy), the rest of the body as file-region bytes; the hit is still a sendfile hit (a region always follows).
 *
 * <p>The read is on the event loop, and on a cold page cache it blocks the loop, bounded by one read of at most
 * {@link #BYTES} bytes per hit under 1 MiB. It is kept there on purpose: the sendfile that follows on the same loop
 * (as nginx's without aio threads) reads the same pages synchronously a moment later, so the prefix moves that wait
 * rather than adding one, and the readahead it starts serves the sendfile. Measured on this machine's ext4 on virtio
 * with the file's pages dropped ({@code posix_fadvise DONTNEED}) before each hit, time inside the body's system calls
 * per hit, median of 80 (loadtest/results/MEND-2026-12-03e.md): 256 KiB 383 us with the prefix against 404 us by
 * sendfile alone, its longest single call 267 us against 410 us; 900 KiB 1,024 against 1,013 us, longest call 717
 * against 1,015 us. Deciding by whether the pages are cached (mincore, the open-file set) would cost a system call or
 * a guess per hit for no shorter wait. (The open(2) itself runs on the I/O pool.)
 *
 * <p>Threads: immutable; called on the client connection's event loop (the read is of a file the open-file cache
 * holds open, like the sendfile that follows it on the same loop).
 */
final class HeadPrefix {
  /** The first buffer's size, head included: one loopback segment (65,536 less 52 bytes of IP and TCP headers). */
  static final int BYTES = 65_484;
  /** Bodies this long and longer leave their head alone. */
  static final long BELOW = 1 << 20;
  /**
   * Bodies this long and shorter are read whole into the head's buffer: the response leaves with one write and no file
   * region (a {@code pread} and one {@code write} instead of a {@code writev} of the head alone and a {@code sendfile}).
   * See {@link #wholeBody}.
   */
  static final int WHOLE = 16 << 10;

  private HeadPrefix() {}

  /**
   * A buffer holding {@code head} with {@code ageSeconds} and, when the body is longer than the room left in
   * {@code bytes}, the body's first bytes: read {@code buf.readableBytes() - head.length(ageSeconds)} of them.
   *
   * @param bytes the buffer's size, head included (0 or less than the head: the head alone)
   */
  static ByteBuf of(ByteBufAllocator alloc, EncodedHead head, long ageSeconds, FileChannel file, long offset,
      long length, int bytes) {
    int headLength = head.length(ageSeconds);
    int room = bytes - headLength;
    int prefix = room <= 0 ? 0 : wholeBody(length, room) ? (int) length : length > room && length < BELOW ? room : 0;
    ByteBuf buf = alloc.directBuffer(headLength + prefix);
    try {
      ByteBuffer out = buf.internalNioBuffer(0, headLength + prefix);
      int start = out.position();
      head.writeTo(out, ageSeconds);
      out.position(start + headLength).limit(start + headLength + prefix);
      int read = prefix == 0 ? 0 : readFully(file, out, offset);
      buf.writerIndex(headLength + read);
      return buf;
    } catch (RuntimeException e) {
      buf.release();
      throw e;
    }
  }

  /**
   * Whether a body of {@code length} bytes is read whole into a buffer with {@code room} bytes after the head: at most
   * {@link #WHOLE} bytes. A small file hit then costs what a RAM hit does on the socket: one buffer, one segment, one
   * wake-up of the client, instead of the head in a segment of its own and the body in a second one; the read of a few
   * KiB from the page cache costs about what the {@code sendfile} it replaces did (10,000 4 KiB keys, most of them
   * outside the default RAM tier: loadtest/results/DISKHIT-2026-12-03g.md).
   */
  static boolean wholeBody(long length, int room) {
    return length > 0 && length <= WHOLE && length <= room;
  }

  /** Reads into {@code out} from {@code position} until it is full, the file ends or a read fails; the bytes read. */
  private static int readFully(FileChannel file, ByteBuffer out, long position) {
    int read = 0;
    try {
      while (out.hasRemaining()) {
        int n = file.read(out, position + read);
        if (n <= 0) {
          break;
        }
        read += n;
      }
    } catch (IOException e) {
      // the region sends the rest from where the read stopped; sendfile reports the file's trouble if it persists
    }
    return read;
  }
}
