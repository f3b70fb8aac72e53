package dev.zcproxy.cache;

import static java.util.Objects.requireNonNull;

/**
 * The immutable description of one stored response: what the index holds and the file header says.
 *
 * <p>Times are epoch milliseconds from the injected clock: {@code requestTime} is when the request
 * that produced this response was sent to the origin, {@code responseTime} when its head arrived
 * (RFC 9111 §4.2.3 {@code request_time} and {@code response_time}).
 *
 * @param primaryKey the primary cache key: the absolute target URI ({@link CacheKey#primary})
 * @param variant the secondary key built from the request fields this response {@code Vary}s on
 *     ({@code ""} when it has no {@code Vary})
 * @param status the stored status code
 * @param headers the stored response header fields (hop-by-hop removed; updated by 304 merges)
 * @param requestTime epoch millis when the origin request was sent
 * @param responseTime epoch millis when the origin response head was received
 * @param bodyLength the body's length in bytes
 * @param bodyOffset where the body starts in the entry's file (set by the store; 0 before)
 * @param invalidatedAt epoch millis of a soft purge: the response is stale from then on (0: never
 *     soft-purged); cleared by a revalidation ({@link #withHeaders})
 */
public record EntryMeta(
    String primaryKey,
    String variant,
    int status,
    Headers headers,
    long requestTime,
    long responseTime,
    long bodyLength,
    long bodyOffset,
    long invalidatedAt) {

  /** An entry that was never soft-purged. */
  public EntryMeta(String primaryKey, String variant, int status, Headers headers, long requestTime,
      long responseTime, long bodyLength, long bodyOffset) {
    this(primaryKey, variant, status, headers, requestTime, responseTime, bodyLength, bodyOffset, 0);
  }

  public EntryMeta {
    requireNonNull(primaryKey, "primaryKey");
    requireNonNull(variant, "variant");
    requireNonNull(headers, "headers");
    if (bodyLength < 0) {
      throw new IllegalArgumentException("bodyLength: " + bodyLength + " (expected: >= 0)");
    }
  }

  /** The key of this one stored variant: primary key and variant together. */
  public CacheKey key() {
    return CacheKey.of(primaryKey, variant);
  }

  /** This entry revalidated (a 304 or matching HEAD merged in): new headers and times, no longer soft-purged. */
  public EntryMeta withHeaders(Headers newHeaders, long newRequestTime, long newResponseTime) {
    return new EntryMeta(primaryKey, variant, status, newHeaders, newRequestTime, newResponseTime, bodyLength, bodyOffset, 0);
  }

  public EntryMeta withBody(long length, long offset) {
    return new EntryMeta(primaryKey, variant, status, headers, requestTime, responseTime, length, offset, invalidatedAt);
  }

  /** This entry soft-purged at {@code at}: stale from then on (an earlier soft purge wins). */
  public EntryMeta withInvalidatedAt(long at) {
    long when = invalidatedAt != 0 && invalidatedAt < at ? invalidatedAt : at;
    return new EntryMeta(primaryKey, variant, status, headers, requestTime, responseTime, bodyLength, bodyOffset, when);
  }

  // equals and hashCode written out, with the values the record's generated ones give (the hash is the index
  // snapshot's fingerprint of an entry, so it must not change): the generated ones are bootstrapped through
  // java.lang.runtime.ObjectMethods at their first call, about 20 method-handle classes spun in the interpreter
  // on the path of a restart's first hit (the lookup that finds its entry on disk), which the class-data archive
  // does not keep.

  @Override
  public boolean equals(Object o) {
    return this == o || o instanceof EntryMeta m && status == m.status && requestTime == m.requestTime
        && responseTime == m.responseTime && bodyLength == m.bodyLength && bodyOffset == m.bodyOffset
        && invalidatedAt == m.invalidatedAt && primaryKey.equals(m.primaryKey) && variant.equals(m.variant)
        && headers.equals(m.headers);
  }

  @Override
  public int hashCode() {
    int h = primaryKey.hashCode();
    h = h * 31 + variant.hashCode();
    h = h * 31 + Integer.hashCode(status);
    h = h * 31 + headers.hashCode();
    h = h * 31 + Long.hashCode(requestTime);
    h = h * 31 + Long.hashCode(responseTime);
    h = h * 31 + Long.hashCode(bodyLength);
    h = h * 31 + Long.hashCode(bodyOffset);
    return h * 31 + Long.hashCode(invalidatedAt);
  }
}
