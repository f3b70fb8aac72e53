package dev.zcproxy.cache.store;

import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.Headers;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;

/**
 * Encodes and decodes the versioned header at the start of every entry file.
 *
 * <pre>
 * offset size  field (big-endian)
 *      0    4  magic 'ZCPX'
 *      4    4  format version
 *      8    4  metadata length M
 *     12    4  CRC32 over bytes [16, 32 + M)
 *     16    8  body offset (multiple of 4 KiB)
 *     24    8  body length
 *     32    M  metadata: primaryKey, variant (int length + UTF-8), status (int),
 *              requestTime, responseTime (long), header count (int), then name/value strings,
 *              then, only when the entry was soft-purged, invalidatedAt (long)
 *  32 + M   .. zero padding up to the body offset (slack for in-place 304 updates)
 * </pre>
 *
 * <p>The file of a valid entry is exactly {@code bodyOffset + bodyLength} bytes long.
 */
final class EntryFormat {
  static final int MAGIC = 0x5A435058; // "ZCPX"
  static final int VERSION = 1;
  static final int FIXED_SIZE = 32;
  static final int ALIGN = 4096;
  /** Room left after the metadata so that a 304 update usually fits in place. */
  static final int MIN_SLACK = 1024;
  /** Refuse to decode metadata larger than this (a corrupt length must not allocate gigabytes). */
  static final int MAX_META = 1 << 20;

  private EntryFormat() {}

  /** A decoded header: the metadata (with body offset and length set) and the file size it implies. */
  record Decoded(EntryMeta meta) {
    long fileSize() {
      return meta.bodyOffset() + meta.bodyLength();
    }
  }

  /** Thrown when a file is not a valid entry of this format version. */
  static final class FormatException extends Exception {
    FormatException(String message) {
      super(message, null, false, false);
    }
  }

  /** The metadata bytes of {@code meta} (everything but the fixed part). */
  static byte[] encodeMeta(EntryMeta meta) {
    byte[] pk = utf8(meta.primaryKey());
    byte[] variant = utf8(meta.variant());
    Headers h = meta.headers();
    byte[][] fields = new byte[h.size() * 2][];
    int size = 4 + pk.length + 4 + variant.length + 4 + 8 + 8 + 4;
    for (int i = 0; i < h.size(); i++) {
      fields[2 * i] = utf8(h.name(i));
      fields[2 * i + 1] = utf8(h.value(i));
      size += 8 + fields[2 * i].length + fields[2 * i + 1].length;
    }
    if (meta.invalidatedAt() != 0) {
      size += 8;
    }
    ByteBuffer b = ByteBuffer.allocate(size).order(ByteOrder.BIG_ENDIAN);
    putBytes(b, pk);
    putBytes(b, variant);
    b.putInt(meta.status());
    b.putLong(meta.requestTime());
    b.putLong(meta.responseTime());
    b.putInt(h.size());
    for (byte[] f : fields) {
      putBytes(b, f);
    }
    if (meta.invalidatedAt() != 0) {
      b.putLong(meta.invalidatedAt());
    }
    return b.array();
  }

  /** The body offset for new files whose metadata is {@code metaLength} bytes: aligned, with slack. */
  static long bodyOffsetFor(int metaLength) {
    long need = (long) FIXED_SIZE + metaLength + Math.max(MIN_SLACK, metaLength / 2);
    return (need + ALIGN - 1) / ALIGN * ALIGN;
  }

  /** Whether metadata of {@code metaLength} bytes fits before an existing body at {@code bodyOffset}. */
  static boolean fits(int metaLength, long bodyOffset) {
    return FIXED_SIZE + (long) metaLength <= bodyOffset;
  }

  /** The complete header (fixed part + metadata, no padding) for a body at {@code offset} of {@code length}. */
  static ByteBuffer encodeHeader(byte[] metaBytes, long bodyOffset, long bodyLength) {
    ByteBuffer b = ByteBuffer.allocate(FIXED_SIZE + metaBytes.length).order(ByteOrder.BIG_ENDIAN);
    b.putInt(MAGIC).putInt(VERSION).putInt(metaBytes.length).putInt(0);
    b.putLong(bodyOffset).putLong(bodyLength);
    b.put(metaBytes);
    CRC32 crc = new CRC32();
    crc.update(b.array(), 16, b.capacity() - 16);
    b.putInt(12, (int) crc.getValue());
    b.flip();
    return b;
  }

  /** The metadata length from a fixed part, after checking magic and version. */
  static int metaLength(ByteBuffer fixed) throws FormatException {
    if (fixed.remaining() < FIXED_SIZE) {
      throw new FormatException("truncated header");
    }
    int p = fixed.position();
    if (fixed.getInt(p) != MAGIC) {
      throw new FormatException("bad magic");
    }
    int version = fixed.getInt(p + 4);
    if (version != VERSION) {
      throw new FormatException("format version " + version + " (expected: " + VERSION + ")");
    }
    int len = fixed.getInt(p + 8);
    if (len < 0 || len > MAX_META) {
      throw new FormatException("metadata length " + len);
    }
    return len;
  }

  /** Decodes a whole header: {@code header} holds the fixed part followed by the metadata. */
  static Decoded decode(ByteBuffer header) throws FormatException {
    ByteBuffer b = header.slice().order(ByteOrder.BIG_ENDIAN);
    int metaLength = metaLength(b);
    if (b.remaining() < FIXED_SIZE + metaLength) {
      throw new FormatException("truncated metadata");
    }
    CRC32 crc = new CRC32();
    ByteBuffer covered = b.duplicate().position(16).limit(FIXED_SIZE + metaLength);
    crc.update(covered);
    if ((int) crc.getValue() != b.getInt(12)) {
      throw new FormatException("metadata checksum mismatch");
    }
    long bodyOffset = b.getLong(16);
    long bodyLength = b.getLong(24);
    if (bodyOffset < FIXED_SIZE + metaLength || bodyLength < 0) {
      throw new FormatException("bad body offset/length " + bodyOffset + "/" + bodyLength);
    }
    b.position(FIXED_SIZE).limit(FIXED_SIZE + metaLength);
    try {
      String pk = getString(b);
      String variant = getString(b);
      int status = b.getInt();
      long requestTime = b.getLong();
      long responseTime = b.getLong();
      int n = b.getInt();
      if (n < 0 || n > b.remaining() / 8) {
        throw new FormatException("header count " + n);
      }
      Headers.Builder hb = Headers.builder();
      for (int i = 0; i < n; i++) {
        hb.add(getString(b), getString(b));
      }
      long invalidatedAt = b.remaining() == 8 ? b.getLong() : 0;
      if (b.hasRemaining()) {
        throw new FormatException("trailing metadata bytes");
      }
      return new Decoded(new EntryMeta(pk, variant, status, hb.build(), requestTime, responseTime, bodyLength, bodyOffset,
          invalidatedAt));
    } catch (BufferUnderflowException | IllegalArgumentException e) {
      throw new FormatException("malformed metadata: " + e);
    }
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static void putBytes(ByteBuffer b, byte[] bytes) {
    b.putInt(bytes.length).put(bytes);
  }

  private static String getString(ByteBuffer b) throws FormatException {
    int len = b.getInt();
    if (len < 0 || len > b.remaining()) {
      throw new FormatException("string length " + len);
    }
    String s = new String(b.array(), b.arrayOffset() + b.position(), len, StandardCharsets.UTF_8);
    b.position(b.position() + len);
    return s;
  }
}
