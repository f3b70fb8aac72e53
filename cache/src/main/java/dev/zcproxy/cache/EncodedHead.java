package dev.zcproxy.cache;

import static java.util.Objects.requireNonNull;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * A stored response's HTTP/1.1 head encoded once into bytes, with only the {@code Age} value left to fill in per
 * response: status line and fields, then {@code Age: <n>} last and the empty line.
 *
 * <p>The fields are written as given, without validation: they are a stored response's, which were checked when
 * they were stored. Names and values are written as ISO-8859-1, one byte per char (RFC 9110 §5.5 obs-text passes
 * unchanged).
 *
 * <pre>{@code
 * EncodedHead h = EncodedHead.builder(200, "OK").field("Content-Length", "5").build();
 * ByteBuffer out = ByteBuffer.allocate(h.length(7));
 * h.writeTo(out, 7); // HTTP/1.1 200 OK\r\nContent-Length: 5\r\nAge: 7\r\n\r\n
 * }</pre>
 */
public final class EncodedHead {
  private static final byte[] AGE = "Age: ".getBytes(StandardCharsets.ISO_8859_1);
  private static final int END = 4; // CR LF CR LF after the age digits

  /** Status line and every field but Age, then {@code "Age: "}. */
  private final byte[] prefix;

  private EncodedHead(byte[] prefix) {
    this.prefix = prefix;
  }

  /** Starts a head with the status line {@code HTTP/1.1 <status> <reason>}. */
  public static Builder builder(int status, String reason) {
    return new Builder(status, reason);
  }

  /** The bytes of this head with {@code ageSeconds} as its Age. */
  public int length(long ageSeconds) {
    return prefix.length + digits(ageSeconds) + END;
  }

  /** The bytes this head keeps in memory (for caches bounded by bytes). */
  public int retainedBytes() {
    return prefix.length + 16;
  }

  /** Writes this head with {@code ageSeconds} as its Age at {@code out}'s position, which it advances. */
  public void writeTo(ByteBuffer out, long ageSeconds) {
    if (ageSeconds < 0) {
      throw new IllegalArgumentException("age: " + ageSeconds);
    }
    out.put(prefix);
    int n = digits(ageSeconds);
    int at = out.position();
    long v = ageSeconds;
    for (int i = n - 1; i >= 0; i--) {
      out.put(at + i, (byte) ('0' + (int) (v % 10)));
      v /= 10;
    }
    out.position(at + n);
    out.put((byte) '\r').put((byte) '\n').put((byte) '\r').put((byte) '\n');
  }

  /**
   * Writes this head with {@code ageSeconds} as its Age into {@code out} from {@code offset}; returns the bytes
   * written ({@link #length}). For a caller that reuses one array per connection (no buffer view per write).
   */
  public int writeTo(byte[] out, int offset, long ageSeconds) {
    if (ageSeconds < 0) {
      throw new IllegalArgumentException("age: " + ageSeconds);
    }
    System.arraycopy(prefix, 0, out, offset, prefix.length);
    int n = digits(ageSeconds);
    int at = offset + prefix.length;
    long v = ageSeconds;
    for (int i = n - 1; i >= 0; i--) {
      out[at + i] = (byte) ('0' + (int) (v % 10));
      v /= 10;
    }
    at += n;
    out[at] = '\r';
    out[at + 1] = '\n';
    out[at + 2] = '\r';
    out[at + 3] = '\n';
    return at + END - offset;
  }

  /** This head with {@code ageSeconds} as a new array (tests, diagnostics: not for the hit path). */
  public byte[] toBytes(long ageSeconds) {
    ByteBuffer b = ByteBuffer.allocate(length(ageSeconds));
    writeTo(b, ageSeconds);
    return b.array();
  }

  private static int digits(long v) {
    int n = 1;
    while (v >= 10) {
      v /= 10;
      n++;
    }
    return n;
  }

  /** Collects the status line and fields of one head. */
  public static final class Builder {
    private final StringBuilder sb = new StringBuilder(256);

    private Builder(int status, String reason) {
      if (status < 100 || status > 999) {
        throw new IllegalArgumentException("status: " + status);
      }
      sb.append("HTTP/1.1 ").append(status).append(' ').append(requireNonNull(reason, "reason")).append("\r\n");
    }

    /** Adds {@code name: value}; an {@code Age} field is dropped (each response gets its own). */
    public Builder field(String name, String value) {
      if (!name.equalsIgnoreCase("Age")) {
        sb.append(name).append(": ").append(value).append("\r\n");
      }
      return this;
    }

    public EncodedHead build() {
      byte[] fields = sb.toString().getBytes(StandardCharsets.ISO_8859_1);
      byte[] prefix = new byte[fields.length + AGE.length];
      System.arraycopy(fields, 0, prefix, 0, fields.length);
      System.arraycopy(AGE, 0, prefix, fields.length, AGE.length);
      return new EncodedHead(prefix);
    }
  }
}
