package dev.zcproxy.proxy.transfer;

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
  /** Read into buffers and written again (TLS, HTTP/2, NIO fallback, streamed origin bodies). */
  COPY,
  /** No body was sent (HEAD, 304, errors without body). */
  NONE
}
