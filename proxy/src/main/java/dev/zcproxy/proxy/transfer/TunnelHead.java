package dev.zcproxy.proxy.transfer;

import dev.zcproxy.cache.policy.ContentLength;
import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * An HTTP/1.1 response head read from a raw origin connection, and the body framing helpers needed to relay
 * a refused upgrade.
 *
 * @param status the status code
 * @param reason the reason phrase (may be empty)
 * @param headers the header fields in order, names as sent
 */
record TunnelHead(int status, String reason, List<Map.Entry<String, String>> headers) {

  private static final byte[] CRLFCRLF = {'\r', '\n', '\r', '\n'};

  /** The index just past the CRLFCRLF that ends the head, or -1 if {@code buf} does not hold it yet. */
  static int headEnd(Buffer buf) {
    int n = buf.length();
    outer:
    for (int i = 0; i + 4 <= n; i++) {
      for (int j = 0; j < 4; j++) {
        if (buf.getByte(i + j) != CRLFCRLF[j]) {
          continue outer;
        }
      }
      return i + 4;
    }
    return -1;
  }

  /** Parses {@code head} (status line, fields, the final CRLFCRLF). */
  static TunnelHead parse(Buffer head) {
    String text = head.toString(StandardCharsets.ISO_8859_1);
    String[] lines = text.split("\r\n");
    String statusLine = lines[0];
    if (!statusLine.startsWith("HTTP/1.") || statusLine.length() < 12 || statusLine.charAt(8) != ' ') {
      throw new IllegalArgumentException("bad status line: " + statusLine);
    }
    int status;
    try {
      status = Integer.parseInt(statusLine.substring(9, 12));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("bad status line: " + statusLine, e);
    }
    String reason = statusLine.length() > 13 ? statusLine.substring(13) : "";
    List<Map.Entry<String, String>> headers = new ArrayList<>();
    for (int i = 1; i < lines.length; i++) {
      String line = lines[i];
      if (line.isEmpty()) {
        continue;
      }
      int colon = line.indexOf(':');
      if (colon <= 0 || Character.isWhitespace(line.charAt(0))) {
        throw new IllegalArgumentException("bad header line: " + line);
      }
      headers.add(Map.entry(line.substring(0, colon).trim(), line.substring(colon + 1).trim()));
    }
    return new TunnelHead(status, reason, List.copyOf(headers));
  }

  /** The first value of a header (case-insensitive name), or {@code null}. */
  String header(String name) {
    for (Map.Entry<String, String> e : headers) {
      if (e.getKey().equalsIgnoreCase(name)) {
        return e.getValue();
      }
    }
    return null;
  }

  /** Whether the response is chunked (last transfer coding). */
  boolean chunked() {
    String te = header("Transfer-Encoding");
    return te != null && te.toLowerCase(Locale.ROOT).trim().endsWith("chunked");
  }

  /** The Content-Length, or -1 when absent; throws on an invalid value (see {@link ContentLength}). */
  long contentLength() {
    List<String> fields = new ArrayList<>();
    for (Map.Entry<String, String> e : headers) {
      if (e.getKey().equalsIgnoreCase("Content-Length")) {
        fields.add(e.getValue());
      }
    }
    long n = ContentLength.parse(fields);
    if (n == ContentLength.INVALID && !fields.isEmpty()) {
      throw new IllegalArgumentException("invalid Content-Length");
    }
    return n;
  }

  /** Whether this status never has a body. */
  boolean bodiless() {
    return (status >= 100 && status < 200) || status == 204 || status == 304;
  }

  /**
   * Decodes a complete chunked body; {@code null} if {@code body} ends before the last chunk and trailers.
   * Trailers are dropped.
   */
  static Buffer dechunk(Buffer body) {
    Buffer out = Buffer.buffer();
    int pos = 0;
    int n = body.length();
    while (true) {
      int lineEnd = indexOfCrlf(body, pos);
      if (lineEnd < 0) {
        return null;
      }
      String sizeLine = body.getString(pos, lineEnd, "ISO-8859-1");
      int semi = sizeLine.indexOf(';');
      String hex = (semi >= 0 ? sizeLine.substring(0, semi) : sizeLine).trim();
      int size;
      try {
        size = Integer.parseInt(hex, 16);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("bad chunk size: " + sizeLine, e);
      }
      if (size < 0) {
        throw new IllegalArgumentException("bad chunk size: " + sizeLine);
      }
      pos = lineEnd + 2;
      if (size == 0) {
        // trailers: lines until an empty line
        while (true) {
          int end = indexOfCrlf(body, pos);
          if (end < 0) {
            return null;
          }
          if (end == pos) {
            return out;
          }
          pos = end + 2;
        }
      }
      if (pos + size + 2 > n) {
        return null;
      }
      out.appendBuffer(body.slice(pos, pos + size));
      pos += size + 2;
    }
  }

  private static int indexOfCrlf(Buffer b, int from) {
    for (int i = from; i + 1 < b.length(); i++) {
      if (b.getByte(i) == '\r' && b.getByte(i + 1) == '\n') {
        return i;
      }
    }
    return -1;
  }
}
