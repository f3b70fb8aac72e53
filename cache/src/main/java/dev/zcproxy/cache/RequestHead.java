package dev.zcproxy.cache;

import static java.util.Objects.requireNonNull;

/**
 * The head of a client request as the cache sees it: method, target URI and header fields.
 *
 * @param method the request method, upper case as received ({@code GET}, {@code HEAD}, ...)
 * @param scheme {@code http} or {@code https}, as the client reached the proxy
 * @param authority the {@code Host} the client asked for ({@code example.com:8080})
 * @param pathAndQuery the request target in origin-form ({@code /a/b?x=1})
 * @param headers the request header fields
 */
public record RequestHead(String method, String scheme, String authority, String pathAndQuery, Headers headers) {
  public RequestHead {
    requireNonNull(method, "method");
    requireNonNull(scheme, "scheme");
    requireNonNull(authority, "authority");
    requireNonNull(pathAndQuery, "pathAndQuery");
    requireNonNull(headers, "headers");
  }

  /** The absolute target URI: {@code scheme://authority/path?query}. */
  public String uri() {
    return scheme + "://" + authority + pathAndQuery;
  }
}
