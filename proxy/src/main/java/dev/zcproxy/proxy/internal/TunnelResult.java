package dev.zcproxy.proxy.internal;

/**
 * How a tunnel between two sockets ended and what it moved.
 *
 * <p>Byte counts: {@code copiedAToB}/{@code copiedBToA} are the bytes that went through user space (all of
 * them in {@link Mode#COPY}; in {@link Mode#SPLICE} only what Vert.x had already read before the switch).
 * {@code bytesAToB}/{@code bytesBToA} are the totals, or {@code -1} when unknown: Netty's {@code spliceTo}
 * with an unbounded length does not count what the kernel moves, and it bypasses the Vert.x byte counters.
 *
 * @param mode how bytes were moved
 * @param bytesAToB total bytes from the first socket to the second, {@code -1} if unknown (splice)
 * @param bytesBToA total bytes from the second socket to the first, {@code -1} if unknown (splice)
 * @param copiedAToB bytes copied in user space from the first socket to the second
 * @param copiedBToA bytes copied in user space from the second socket to the first
 * @param end why the tunnel ended
 * @param error the failure when {@code end} is {@link End#ERROR}, else {@code null}
 * @param fallbackReason why splice was not used ({@code null} in {@link Mode#SPLICE})
 */
public record TunnelResult(
    Mode mode,
    long bytesAToB,
    long bytesBToA,
    long copiedAToB,
    long copiedBToA,
    End end,
    Throwable error,
    String fallbackReason) {

  /** How the bytes were moved. */
  public enum Mode {
    /** Kernel {@code splice(2)} both ways (after a short user-space drain). */
    SPLICE,
    /** User-space copy through Vert.x with back-pressure. */
    COPY
  }

  /** Why a tunnel ended. */
  public enum End {
    /** One side closed (EOF or reset); the other was closed after it. */
    CLOSED,
    /** An I/O error on either side. */
    ERROR,
    /** No traffic either way for the configured idle timeout. */
    IDLE_TIMEOUT,
    /** The tunnel reached its configured maximum lifetime. */
    MAX_LIFETIME
  }
}
