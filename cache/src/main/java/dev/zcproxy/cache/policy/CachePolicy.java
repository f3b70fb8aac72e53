package dev.zcproxy.cache.policy;

import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.Headers;
import dev.zcproxy.cache.Lookup;
import dev.zcproxy.cache.RequestHead;
import dev.zcproxy.cache.ResponseHead;
import java.util.List;

/**
 * The RFC 9111 caching policy of a shared cache: pure functions of request and response heads and a
 * time, deciding what may be stored, what may be served, and how stored headers change.
 *
 * <p>Every method is pure: no I/O, no clock of its own (times are epoch milliseconds passed in).
 */
public final class CachePolicy {
  private final PolicyConfig config;

  public CachePolicy(PolicyConfig config) {
    this.config = java.util.Objects.requireNonNull(config, "config");
  }

  public PolicyConfig config() {
    return config;
  }

  /** Whether requests with this method are looked up in the cache at all (GET and HEAD). */
  public boolean isLookupMethod(String method) {
    throw new UnsupportedOperationException("TODO");
  }

  /**
   * Chooses how to answer {@code req} from the stored variants of its URI at {@code nowMillis}
   * (RFC 9111 §4: Vary selection §4.1, freshness §4.2, request directives §5.2.1, RFC 5861).
   */
  public Lookup select(RequestHead req, List<EntryMeta> variants, long nowMillis) {
    throw new UnsupportedOperationException("TODO");
  }

  /** Whether the response to {@code req} may be stored (RFC 9111 §3), and under which variant. */
  public Storability storable(RequestHead req, ResponseHead resp) {
    throw new UnsupportedOperationException("TODO");
  }

  /** The header fields to add to a request that revalidates {@code stored} (RFC 9111 §4.3.1). */
  public Headers validators(EntryMeta stored) {
    throw new UnsupportedOperationException("TODO");
  }

  /** The stored entry updated by a 304 received for it (RFC 9111 §3.2, §4.3.4). */
  public EntryMeta merge304(EntryMeta stored, ResponseHead notModified, long requestTime, long responseTime) {
    throw new UnsupportedOperationException("TODO");
  }

  /** The header fields to send with {@code entry} at {@code nowMillis}: the stored ones plus a current {@code Age} (§5.1). */
  public Headers responseHeaders(EntryMeta entry, long nowMillis) {
    throw new UnsupportedOperationException("TODO");
  }

  /** Whether a conditional {@code req} is answered 304 from {@code entry} (RFC 9110 §13.2.2, RFC 9111 §4.3.2). */
  public boolean notModified(RequestHead req, EntryMeta entry) {
    throw new UnsupportedOperationException("TODO");
  }

  /** How to answer {@code req}'s {@code Range}/{@code If-Range} from the complete stored {@code entry}. */
  public RangeDecision range(RequestHead req, EntryMeta entry) {
    throw new UnsupportedOperationException("TODO");
  }

  /** Whether {@code entry} may be served stale because the origin failed (RFC 5861 §4, RFC 9111 §4.2.4). */
  public boolean staleIfError(RequestHead req, EntryMeta entry, long nowMillis) {
    throw new UnsupportedOperationException("TODO");
  }

  /** The primary keys that a response to an unsafe request invalidates (RFC 9111 §4.4). */
  public List<String> invalidations(RequestHead req, ResponseHead resp) {
    throw new UnsupportedOperationException("TODO");
  }

  /** Epoch millis after which {@code entry} is useless and may leave the index (freshness + stale windows + keep). */
  public long retainUntil(EntryMeta entry) {
    throw new UnsupportedOperationException("TODO");
  }
}
