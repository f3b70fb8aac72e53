package dev.zcproxy.proxy.demo;

import dev.zcproxy.proxy.config.Units;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * The deterministic body pattern of the demo origin: byte {@code i} is {@code (i * 31 + 7) & 0xff}.
 *
 * <p>Because 31 is odd the pattern repeats every 256 bytes, so any chunk whose length is a multiple
 * of 256 starts the pattern afresh; anyone can regenerate a body to check it.
 */
public final class BodyPattern {
  /** The period of the pattern in bytes. */
  public static final int PERIOD = 256;

  /** The largest body the origin agrees to produce (16 GiB). */
  public static final long MAX_SIZE = 16L << 30;

  private BodyPattern() {}

  /** Returns byte {@code i} of every body. */
  public static byte byteAt(long i) {
    return (byte) ((i * 31 + 7) & 0xff);
  }

  /** Returns the first {@code length} bytes of the pattern. */
  public static byte[] bytes(int length) {
    byte[] b = new byte[length];
    for (int i = 0; i < length; i++) {
      b[i] = byteAt(i);
    }
    return b;
  }

  /** What {@link #parseSize} accepts, for error messages. */
  public static final String SIZE_EXPECTED = Units.SIZE_EXPECTED + "; at most 16GiB";

  /**
   * Parses a size as the config file does ({@link Units#parseSize}: {@code 1000}, {@code 16KiB}, {@code 1.5MiB},
   * or nginx's {@code 16k}, {@code 1m}, {@code 1g}, which keep URLs like {@code /bytes/16k} short); returns -1 if
   * it is not one, is negative or exceeds {@link #MAX_SIZE}.
   */
  public static long parseSize(String s) {
    if (s == null || s.length() > 20) {
      return -1;
    }
    try {
      long bytes = Units.parseSize(s);
      return bytes >= 0 && bytes <= MAX_SIZE ? bytes : -1;
    } catch (IllegalArgumentException e) {
      return -1;
    }
  }

  /**
   * Writes {@code dir/name} holding {@code size} pattern bytes unless a file of that size is already
   * there; writes to a temp file and renames it so that a reader never sees half a file.
   */
  public static Path writeFile(Path dir, String name, long size) throws IOException {
    Path target = dir.resolve(name);
    if (Files.isRegularFile(target) && Files.size(target) == size) {
      return target;
    }
    Files.createDirectories(dir);
    Path tmp = Files.createTempFile(dir, "." + name, ".tmp");
    byte[] chunk = bytes(64 * 1024);
    try (OutputStream out = Files.newOutputStream(tmp)) {
      long left = size;
      while (left > 0) {
        int n = (int) Math.min(chunk.length, left);
        out.write(chunk, 0, n);
        left -= n;
      }
    } catch (IOException e) {
      Files.deleteIfExists(tmp);
      throw e;
    }
    try {
      // readable by every user, like any file a web server serves (temp files start as 0600)
      Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
    } catch (UnsupportedOperationException e) {
      // not a POSIX file system: keep the default permissions
    }
    return Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }
}
