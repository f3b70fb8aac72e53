package dev.zcproxy.cache.policy;

/** Whether a response may be stored (RFC 9111 §3), and if not, why. */
public sealed interface Storability {

  /**
   * The response may be stored.
   *
   * @param variant the secondary key to store it under ({@code ""} without {@code Vary})
   * @param headers the header fields to store (hop-by-hop fields and fields named by a qualified
   *     {@code private} or {@code no-cache} removed)
   */
  record Store(String variant, dev.zcproxy.cache.Headers headers) implements Storability {}

  /**
   * The response must not be stored.
   *
   * @param reason a short token for {@code Cache-Status} detail, metrics and logs, e.g.
   *     {@code method}, {@code status}, {@code no-store}, {@code private}, {@code authorization},
   *     {@code vary-star}, {@code no-freshness}, {@code too-large}, {@code partial}, {@code set-cookie}
   */
  record DontStore(String reason) implements Storability {}
}
