package dev.zcproxy.cache.policy;

import static java.util.Objects.requireNonNull;

import dev.zcproxy.cache.EntryMeta;

/** What the proxy does with an origin response to a fetch for the cache: store it, merge it, serve stale, or pass it. */
public sealed interface ResponseAction {

  /**
   * Store the response (and serve it as it is written: MISS, {@code stored}).
   *
   * @param entry the entry to write: the stored fields, variant and times; body length and offset 0
   *     until the store writes it
   */
  record Store(EntryMeta entry) implements ResponseAction {
    public Store {
      requireNonNull(entry, "entry");
    }
  }

  /**
   * The origin confirmed the stale entry (a 304, or a HEAD's matching 200: RFC 9111 §4.3.4, §4.3.5):
   * update the stored headers and serve the entry (REVALIDATED).
   *
   * @param refreshed the stale entry with the merged fields and new times
   */
  record Merge(EntryMeta refreshed) implements ResponseAction {
    public Merge {
      requireNonNull(refreshed, "refreshed");
    }
  }

  /** The origin answered 5xx and stale-if-error allows the stale entry instead (RFC 5861 §4): serve it (STALE). */
  record ServeStale() implements ResponseAction {}

  /**
   * Relay the response without storing it (MISS with a {@code detail}).
   *
   * @param reason why; {@link Reason#remembered} says whether the URI becomes hit-for-pass
   * @param detail the {@code Cache-Status} detail (the reason's token, or the policy's own for
   *     {@link Reason#OTHER})
   */
  record Pass(Reason reason, String detail) implements ResponseAction {
    public Pass {
      requireNonNull(reason, "reason");
      requireNonNull(detail, "detail");
    }

    /** A pass for {@code reason}, with its token as the detail. */
    public Pass(Reason reason) {
      this(reason, reason.token());
    }
  }
}
