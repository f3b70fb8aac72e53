package dev.zcproxy.proxy.server;

import dev.zcproxy.cache.CacheOutcome;
import dev.zcproxy.proxy.transfer.TransferMode;
import java.util.Locale;
import java.util.function.LongSupplier;
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
 *
 * <p>With {@code logging.access-log-format: json} each line is instead one JSON object with the same
 * facts and the origin's status and time when the request went to the origin ({@link #jsonLine}).
 */
final class AccessLog {
  private static final Logger ACCESS = LoggerFactory.getLogger("zcproxy.access");
  private final boolean enabled;
  private final boolean json;
  private final LongSupplier clock;

  AccessLog(boolean enabled) {
    this(enabled, false, System::currentTimeMillis);
  }

  /** @param clock epoch milliseconds, for the {@code time} of JSON lines */
  AccessLog(boolean enabled, boolean json, LongSupplier clock) {
    this.enabled = enabled;
    this.json = json;
    this.clock = clock;
  }

  /** Whether {@link #log} writes anything (callers may skip building its arguments). */
  boolean writes() {
    return enabled && ACCESS.isInfoEnabled();
  }

  void log(String client, String method, String uri, String version, int status, long bytes, long micros,
      CacheOutcome outcome, TransferMode mode, boolean complete) {
    log(client, method, uri, version, status, bytes, micros, outcome, mode, complete, -1, -1);
  }

  /**
   * @param originStatus the status of the origin's response, or -1 when none was received
   * @param originMicros the time from sending the origin request to its response head, or -1
   */
  void log(String client, String method, String uri, String version, int status, long bytes, long micros,
      CacheOutcome outcome, TransferMode mode, boolean complete, int originStatus, long originMicros) {
    if (!enabled || !ACCESS.isInfoEnabled()) {
      return;
    }
    if (json) {
      ACCESS.info(jsonLine(clock.getAsLong(), client, method, uri, version, status, bytes, micros, outcome, mode, complete,
          originStatus, originMicros));
      return;
    }
    ACCESS.info("{} \"{} {} {}\" {} {} {}us {} {} {}", client, safe(method), safe(uri), version, status, bytes, micros, outcome,
        mode.label(), complete ? "complete" : "aborted");
  }

  /**
   * One access-log JSON object, on one line: {@code time} (ISO-8601 UTC), {@code client},
   * {@code method}, {@code url}, {@code version}, {@code status}, {@code bytes}, {@code duration_us},
   * {@code outcome}, {@code mode}, {@code complete}, and {@code origin_status} and {@code origin_us}
   * when the origin answered. Unknown request-line parts are {@code null}; strings are JSON-escaped.
   */
  static String jsonLine(long epochMillis, String client, String method, String uri, String version, int status, long bytes,
      long micros, CacheOutcome outcome, TransferMode mode, boolean complete, int originStatus, long originMicros) {
    StringBuilder sb = new StringBuilder(192).append("{\"time\":\"").append(java.time.Instant.ofEpochMilli(epochMillis))
        .append("\",\"client\":");
    jsonString(sb, client);
    sb.append(",\"method\":");
    jsonString(sb, method);
    sb.append(",\"url\":");
    jsonString(sb, uri);
    sb.append(",\"version\":");
    jsonString(sb, version == null || version.equals("-") ? null : version);
    sb.append(",\"status\":").append(status).append(",\"bytes\":").append(bytes).append(",\"duration_us\":").append(micros)
        .append(",\"outcome\":\"").append(outcome.name()).append("\",\"mode\":\"").append(mode.label())
        .append("\",\"complete\":").append(complete);
    if (originStatus >= 0) {
      sb.append(",\"origin_status\":").append(originStatus).append(",\"origin_us\":").append(originMicros);
    }
    return sb.append('}').toString();
  }

  /** Appends {@code s} as a JSON string (RFC 8259 escapes, control characters as {@code \\uXXXX}), or {@code null}. */
  private static void jsonString(StringBuilder sb, String s) {
    if (s == null) {
      sb.append("null");
      return;
    }
    sb.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        default -> {
          if (c < 0x20 || c == 0x7f || c == 0x2028 || c == 0x2029) {
            sb.append(String.format("\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
        }
      }
    }
    sb.append('"');
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
