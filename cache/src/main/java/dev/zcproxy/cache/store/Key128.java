package dev.zcproxy.cache.store;

import java.util.HexFormat;

/**
 * A 128-bit key hash (the 32 hex digits of {@link dev.zcproxy.cache.CacheKey#hash()}) as two longs: the
 * index's key. {@link StoreEntry} extends it so that an indexed entry is its own key (no separate key
 * object per entry); equality is by the two longs only, whatever the subclass.
 */
class Key128 {
  final long hi;
  final long lo;

  Key128(long hi, long lo) {
    this.hi = hi;
    this.lo = lo;
  }

  /** The key of 32 lower-case hex digits. */
  static Key128 of(String hex) {
    return new Key128(parseHi(hex), parseLo(hex));
  }

  static long parseHi(String hex) {
    requireHash(hex);
    return Long.parseUnsignedLong(hex, 0, 16, 16);
  }

  static long parseLo(String hex) {
    requireHash(hex);
    return Long.parseUnsignedLong(hex, 16, 32, 16);
  }

  private static void requireHash(String hex) {
    if (hex.length() != 32) {
      throw new IllegalArgumentException("hash: " + hex + " (expected: 32 hex digits)");
    }
  }

  /** The 32 lower-case hex digits (allocates: not for the hit path). */
  final String hex() {
    HexFormat f = HexFormat.of();
    return f.toHexDigits(hi) + f.toHexDigits(lo);
  }

  /** The same 128 bits as a plain key (for maps that must not keep an entry alive). */
  final Key128 key() {
    return getClass() == Key128.class ? this : new Key128(hi, lo);
  }

  @Override
  public final boolean equals(Object o) {
    return o instanceof Key128 k && k.hi == hi && k.lo == lo;
  }

  @Override
  public final int hashCode() {
    return (int) (lo ^ (lo >>> 32));
  }

  @Override
  public String toString() {
    return hex();
  }
}
