package dev.zcproxy.proxy.server;

import dev.zcproxy.cache.CacheOutcome;
import dev.zcproxy.proxy.transfer.TransferMode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes one line per response to the {@code zcproxy.access} logger.
 *
 * <p>Format, space-separated, one response per line:
 * <pre>
 * client "METHOD TARGET VERSION" STATUS BYTES DURATIONus OUTCOME MODE END
 * 127.0.0.1 "GET /a HTTP/1.1" 200 5120 312us HIT sendfile complete
 * 127.0.0.1 "GET /big HTTP/1.1" 200 1048576 20312us MISS copy aborted
 * </pre>
 * <ul>
 *   <li>STATUS is the status sent; 499 (as nginx) when the client went away before a response head.
 *   <li>BYTES are the body bytes written to the client connection, as far as the proxy saw them
 *       complete (a sendfile or splice range cut short is not counted).
 *   <li>END is {@code complete}, or {@code aborted} when the response was cut short (connection reset
 *       or closed before the body ended): the client did not get the whole response.
 *   <li>The request line is what the client sent, with {@code "}, {@code \} and bytes outside printable
 *       ASCII percent-encoded so the line always splits the same way; {@code -} for a part the
 *       request never had (a request line that could not be parsed).
 * </ul>
 */
final class AccessLog {
  private static final Logger ACCESS = LoggerFactory.getLogger("zcproxy.access");
  private final boolean enabled;

  AccessLog(boolean enabled) {
    this.enabled = enabled;
  }

  void log(String client, String method, String uri, String version, int status, long bytes, long micros,
      CacheOutcome outcome, TransferMode mode, boolean complete) {
    if (!enabled || !ACCESS.isInfoEnabled()) {
      return;
    }
    ACCESS.info("{} \"{} {} {}\" {} {} {}us {} {} {}", client, safe(method), safe(uri), version, status, bytes, micros, outcome,
        mode.name().toLowerCase(), complete ? "complete" : "aborted");
  }

  /** {@code s} with {@code "}, {@code \}, spaces and non-printable characters percent-encoded; {@code -} for null or empty. */
  static String safe(String s) {
    if (s == null || s.isEmpty()) {
      return "-";
    }
    StringBuilder out = null;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      boolean plain = c > 0x20 && c < 0x7f && c != '"' && c != '\\';
      if (plain) {
        if (out != null) {
          out.append(c);
        }
        continue;
      }
      if (out == null) {
        out = new StringBuilder(s.length() + 16).append(s, 0, i);
      }
      for (byte b : String.valueOf(c).getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
        out.append('%').append(Character.toUpperCase(Character.forDigit((b >> 4) & 0xF, 16)))
            .append(Character.toUpperCase(Character.forDigit(b & 0xF, 16)));
      }
    }
    return out == null ? s : out.toString();
  }
}
