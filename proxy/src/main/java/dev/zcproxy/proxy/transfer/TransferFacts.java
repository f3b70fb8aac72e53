package dev.zcproxy.proxy.transfer;

import java.util.Objects;

/**
 * What the {@link TransferPlanner} decides from, besides the configuration: which leg the body takes,
 * the client connection, the body, and what the platform said about zero-copy on these connections (for a
 * tunnel, on its two sockets).
 *
 * @param leg where the body comes from and goes to
 * @param tls the client connection is TLS (HTTP/1.x)
 * @param http2 the client speaks HTTP/2
 * @param bodyless the response has no body (HEAD, 204, 304)
 * @param length the body length, -1 when unknown
 * @param ramBody the body is in the RAM tier (hits only)
 * @param whyNotZeroCopy why the platform cannot sendfile or splice on this leg's connections (no native
 *     epoll, no file descriptor access, TLS origin ...), {@code null} when it can
 */
public record TransferFacts(Leg leg, boolean tls, boolean http2, boolean bodyless, long length, boolean ramBody,
    String whyNotZeroCopy) {

  /** Where a body comes from and goes to. */
  public enum Leg {
    /** A stored body (cache file or RAM tier) to the client. */
    HIT(true, true),
    /** A cache file being filled to a client, range by range. */
    FILL_READER(true, true),
    /** An origin body that is not stored, to the client (pass-through). */
    RELAY(true, false),
    /** An origin body into its cache file. */
    FILL(false, false),
    /** Two sockets joined both ways for as long as they last (a CONNECT or WebSocket tunnel); no length. */
    TUNNEL(false, false);

    final boolean toClient;
    final boolean fromFile;

    Leg(boolean toClient, boolean fromFile) {
      this.toClient = toClient;
      this.fromFile = fromFile;
    }
  }

  public TransferFacts {
    Objects.requireNonNull(leg, "leg");
  }
}
