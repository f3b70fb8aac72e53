package dev.zcproxy.cache.store;

import java.nio.file.Path;
import java.util.HexFormat;

/**
 * Names in the cache directory: {@code dir/a/bc/<hash>-<generation>} for entries (nginx
 * {@code levels=1:2}), {@code dir/tmp/<hash>-<generation>.tmp} for files being written.
 */
final class StoreLayout {
  static final String TMP = "tmp";
  static final String TMP_SUFFIX = ".tmp";
  private static final int HASH_LEN = 32;
  private static final int GEN_LEN = 16;

  private final Path dir;
  private final Path tmpDir;

  StoreLayout(Path dir) {
    this.dir = dir;
    this.tmpDir = dir.resolve(TMP);
  }

  Path dir() {
    return dir;
  }

  Path tmpDir() {
    return tmpDir;
  }

  Path entryPath(String hash, long generation) {
    return dir.resolve(hash.substring(0, 1)).resolve(hash.substring(1, 3)).resolve(hash + '-' + hex(generation));
  }

  Path tempPath(String hash, long generation) {
    return tmpDir.resolve(hash + '-' + hex(generation) + TMP_SUFFIX);
  }

  private static String hex(long generation) {
    return HexFormat.of().toHexDigits(generation);
  }

  /** A parsed entry file name. */
  record Name(String hash, long generation) {}

  /** The hash and generation of an entry file name, or null when it is not one. */
  static Name parse(String fileName) {
    if (fileName.length() != HASH_LEN + 1 + GEN_LEN || fileName.charAt(HASH_LEN) != '-') {
      return null;
    }
    String hash = fileName.substring(0, HASH_LEN);
    String gen = fileName.substring(HASH_LEN + 1);
    if (!isLowerHex(hash) || !isLowerHex(gen)) {
      return null;
    }
    return new Name(hash, Long.parseUnsignedLong(gen, 16));
  }

  /** Whether {@code file} sits where an entry with this name belongs ({@code dir/a/bc/name}). */
  boolean isInPlace(Path file, Name name) {
    return file.equals(entryPath(name.hash(), name.generation()));
  }

  private static boolean isLowerHex(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
        return false;
      }
    }
    return true;
  }
}
