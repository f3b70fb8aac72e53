package dev.zcproxy.cache.policy;

/** How to answer a request's {@code Range} from a stored complete response (RFC 9110 §14). */
public sealed interface RangeDecision {

  /** Send the whole representation (no {@code Range}, an {@code If-Range} that does not match, or an ignored range). */
  record Full() implements RangeDecision {}

  /**
   * Send one byte range as 206 with {@code Content-Range: bytes from-last/complete}.
   *
   * @param first offset of the first byte in the stored body
   * @param length number of bytes
   * @param completeLength the whole representation's length
   * @param from offset of the first byte in the representation: {@code first} for a complete stored
   *     body, more for a stored partial one (RFC 9111 §3.3)
   */
  record Partial(long first, long length, long completeLength, long from) implements RangeDecision {
    /** A range of a complete stored body, where body and representation offsets agree. */
    public Partial(long first, long length, long completeLength) {
      this(first, length, completeLength, first);
    }

    public String contentRange() {
      return "bytes " + from + "-" + (from + length - 1) + "/" + completeLength;
    }
  }

  /** The range cannot be satisfied: 416 with {@code Content-Range: bytes * /completeLength} (no space). */
  record Unsatisfiable(long completeLength) implements RangeDecision {}
}
