package dev.zcproxy.proxy.transfer;

import java.util.Locale;

/** How the bytes of a response body were moved to the client. */
public enum TransferMode {
  /** {@code sendfile(2)} from the cache file: no body byte in the Java heap. */
  SENDFILE,
  /**
   * From the RAM tier: a small body copied from memory behind its head, head and body in one write (no
   * file, no sendfile).
   */
  RAM,
  /** {@code splice(2)} between sockets or from a socket into a file. */
  SPLICE,
  /** Read into buffers and written again on plain HTTP/1.x (NIO fallback, streamed origin bodies, small bodies). */
  COPY,
  /** Copied because the client connection is TLS (HTTP/1.x): the kernel cannot encrypt a sendfile or splice. */
  COPY_TLS,
  /** Copied because the client speaks HTTP/2 (over TLS or h2c): the body goes out in frames. */
  COPY_H2,
  /** No body was sent (HEAD, 304, errors without body). */
  NONE;

  /** The name in metrics labels, {@code /stats} and access logs: {@code sendfile}, {@code copy-tls} ... */
  public String label() {
    return name().toLowerCase(Locale.ROOT).replace('_', '-');
  }

  /**
   * The mode to count for a response that used {@code this} on a connection: a copy on a TLS or HTTP/2
   * connection is counted as {@link #COPY_TLS} or {@link #COPY_H2}, since no zero-copy mode was possible.
   */
  public TransferMode on(boolean tls, boolean http2) {
    if (this != COPY) {
      return this;
    }
    return http2 ? COPY_H2 : tls ? COPY_TLS : COPY;
  }
}
