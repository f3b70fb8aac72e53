package dev.zcproxy.cache;

import static java.util.Objects.requireNonNull;

/**
 * The status code and header fields of a response, without its body.
 *
 * @param status the status code
 * @param headers the response header fields (hop-by-hop fields already removed)
 */
public record ResponseHead(int status, Headers headers) {
  public ResponseHead {
    requireNonNull(headers, "headers");
  }
}
