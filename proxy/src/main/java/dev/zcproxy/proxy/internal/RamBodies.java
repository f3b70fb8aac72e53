package dev.zcproxy.proxy.internal;

import io.netty.buffer.Unpooled;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.buffer.BufferInternal;

/**
 * Vert.x buffers over bodies kept in RAM, without copying them: {@code Buffer.buffer(byte[])} copies
 * the array into a new one for every response; a wrapped array is written as it is (Vert.x hands Netty
 * an unreleasable slice). The array must never change afterwards. Falls back to a copy when the
 * internal factory is not there.
 */
public final class RamBodies {
  private static final boolean WRAP = wrapAvailable();

  private RamBodies() {}

  private static boolean wrapAvailable() {
    try {
      BufferInternal.buffer(Unpooled.wrappedBuffer(new byte[1]));
      return true;
    } catch (LinkageError | RuntimeException e) {
      return false;
    }
  }

  /** {@code length} bytes of {@code body} from {@code offset}, as a buffer that shares the array. */
  public static Buffer wrap(byte[] body, int offset, int length) {
    if (WRAP) {
      return BufferInternal.buffer(Unpooled.wrappedBuffer(body, offset, length));
    }
    return Buffer.buffer(length).appendBytes(body, offset, length);
  }
}
