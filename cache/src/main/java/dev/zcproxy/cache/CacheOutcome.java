package dev.zcproxy.cache;

/**
 * How a response was produced, in the one vocabulary used by code, headers, metrics and logs.
 */
public enum CacheOutcome {
  /** Served from a fresh stored response without contacting the origin. */
  HIT,
  /** Served from a stale stored response (stale-while-revalidate, stale-if-error, max-stale). */
  STALE,
  /** Served from a stored response after the origin confirmed it with a 304. */
  REVALIDATED,
  /** Fetched from the origin because nothing usable was stored; stored if it may be. */
  MISS,
  /** Forwarded to the origin without looking in or writing to the cache. */
  PASS,
  /** Tunnelled as raw bytes (CONNECT, Upgrade). */
  PIPE,
  /** Answered by the proxy itself (errors, 504 for only-if-cached, admin). */
  SYNTH
}
