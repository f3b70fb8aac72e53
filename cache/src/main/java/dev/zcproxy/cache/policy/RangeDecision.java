package dev.zcproxy.cache.policy;

/** How to answer a request's {@code Range} from a stored complete response (RFC 9110 §14). */
public sealed interface RangeDecision {

  /** Send the whole representation (no {@code Range}, an {@code If-Range} that does not match, or an ignored range). */
  record Full() implements RangeDecision {}

  /**
   * Send one byte range as 206 with {@code Content-Range: bytes first-last/complete}.
   *
   * @param first offset of the first byte in the body
   * @param length number of bytes
   * @param completeLength the whole body's length
   */
  record Partial(long first, long length, long completeLength) implements RangeDecision {
    public String contentRange() {
      return "bytes " + first + "-" + (first + length - 1) + "/" + completeLength;
    }
  }

  /** The range cannot be satisfied: 416 with {@code Content-Range: bytes * /completeLength} (no space). */
  record Unsatisfiable(long completeLength) implements RangeDecision {}
}
