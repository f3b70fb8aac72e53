package dev.zcproxy.cache.policy;

import static java.util.Objects.requireNonNull;

import dev.zcproxy.cache.EntryMeta;

/**
 * How a stored entry answers one request: the status, the fields, the {@code Content-Range} and
 * {@code Content-Length} to send, and which bytes of the stored body follow, if any (RFC 9110 §13.2.2
 * conditionals, §14 ranges, §9.3.2 HEAD; RFC 9111 §4.3.2).
 *
 * <p>The proxy writes {@link #status}, then {@link #fields} (and its own {@code Via}, {@code Cache-Status}),
 * then {@link #contentRange} when not {@code null} and {@link #contentLength} (none when negative), then
 * {@link #length} bytes of the body from {@link #first} when {@link #body}.
 *
 * @param kind what kind of answer it is
 * @param entry the entry that answers ({@link HttpCache#served}): its body is the one sent
 * @param status the status code to send
 * @param fields the entry's fields to send, with its current {@code Age}
 * @param first the offset in the stored body of the first byte sent
 * @param length how many body bytes the response describes ({@code Content-Length})
 * @param contentRange the {@code Content-Range} value, or {@code null}
 * @param body whether body bytes follow the head (not for HEAD, 304, 412, 416, or a stored 204/304)
 */
public record Delivery(Kind kind, EntryMeta entry, int status, ResponseFields fields, long first, long length,
    String contentRange, boolean body) {

  /** The kinds of answer a stored entry gives. */
  public enum Kind {
    /** The stored response as it is (also for HEAD, without the body). */
    FULL,
    /** 304: the client's validators match the entry (RFC 9110 §13.2.2, RFC 9111 §4.3.2); no Content-Length. */
    NOT_MODIFIED,
    /** 206: one byte range of the body (RFC 9110 §14.2, §15.3.7). */
    PARTIAL,
    /** 416: no byte of the range exists (RFC 9110 §15.5.17); {@code Content-Length: 0}. */
    UNSATISFIABLE,
    /**
     * 412: the client's {@code If-Match} or {@code If-Unmodified-Since} fails against the entry (RFC 9110
     * §13.1.1, §13.1.4, §13.2.2: asked before the 304 and the range); {@code Content-Length: 0}.
     */
    PRECONDITION_FAILED
  }

  public Delivery {
    requireNonNull(kind, "kind");
    requireNonNull(entry, "entry");
    requireNonNull(fields, "fields");
  }

  /** The {@code Content-Length} to send, or {@code -1} for none (a 304 sends none, RFC 9110 §8.6). */
  public long contentLength() {
    return kind == Kind.NOT_MODIFIED ? -1 : length;
  }
}
