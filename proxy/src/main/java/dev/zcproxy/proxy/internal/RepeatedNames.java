package dev.zcproxy.proxy.internal;

import io.netty.util.AsciiString;
import java.util.Arrays;

/**
 * The header names and status-line words one origin connection's decoder made last, handed out again when
 * the same bytes come back: a keep-alive origin sends the same names in every response, and each one Netty
 * decodes is otherwise a new {@link AsciiString} (a copy of its bytes, its hash computed again) whose
 * {@code String} is made again when the proxy reads the name.
 *
 * <p>The bytes are compared in full, so an answer is always the bytes received, in the case they were sent.
 * Bounded: {@value #SLOTS} names of up to {@value #MAX_NAME} bytes and one word per status-line position;
 * a name that collides replaces the one in its slot. Owned by one decoder, so by its channel's event loop.
 */
final class RepeatedNames {
  /** Name slots (a power of two). */
  static final int SLOTS = 32;
  /** Longer names are made afresh every time. */
  static final int MAX_NAME = 48;

  private final AsciiString[] names = new AsciiString[SLOTS];
  private final String[] words = new String[3];

  /** {@code Netty's splitHeaderName}: the name in {@code sb[start, start + length)}. */
  AsciiString name(byte[] sb, int start, int length) {
    if (length <= 0 || length > MAX_NAME) {
      return new AsciiString(sb, start, length, true);
    }
    int h = length;
    h = 31 * h + sb[start];
    h = 31 * h + sb[start + length - 1];
    h = 31 * h + sb[start + (length >> 1)];
    int slot = (h ^ (h >>> 7)) & (SLOTS - 1);
    AsciiString known = names[slot];
    if (known != null && known.length() == length
        && Arrays.equals(known.array(), known.arrayOffset(), known.arrayOffset() + length, sb, start, start + length)) {
      return known;
    }
    AsciiString made = new AsciiString(sb, start, length, true);
    names[slot] = made;
    return made;
  }

  /**
   * The status-line word at {@code position} (0, 1 or 2) in {@code sb[start, start + length)}, as Netty's
   * {@code splitFirstWordInitialLine} and the two after it make it (ISO-8859-1).
   */
  String word(int position, byte[] sb, int start, int length) {
    String known = words[position];
    if (known != null && sameLatin1(known, sb, start, length)) {
      return known;
    }
    String made = length == 0 ? "" : new String(sb, start, length, java.nio.charset.StandardCharsets.ISO_8859_1);
    words[position] = made;
    return made;
  }

  private static boolean sameLatin1(String s, byte[] sb, int start, int length) {
    if (s.length() != length) {
      return false;
    }
    for (int i = 0; i < length; i++) {
      if (s.charAt(i) != (char) (sb[start + i] & 0xff)) {
        return false;
      }
    }
    return true;
  }
}
