package dev.zcproxy.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.Test;

/**
 * The root pom compiles with {@code -XDstringConcat=inline} (StringBuilder code, as javac did before JDK 9): javac's
 * default turns each {@code "a" + b} into an invokedynamic whose first call generates method-handle classes at run
 * time, 50 of them on the way to the first response, which the JDK 17 class-data archive does not keep
 * (loadtest/results/STARTUP-2026-12-02c.md). This keeps the option from being lost in a pom edit.
 */
class StringConcatTest {
  private static final byte[] FACTORY = "java/lang/invoke/StringConcatFactory".getBytes(StandardCharsets.US_ASCII);

  @Test
  void noClassOfProxyOrCacheUsesIndyStringConcat() throws Exception {
    List<String> offenders = new ArrayList<>();
    int[] seen = {0};
    for (Class<?> c : new Class<?>[] {Main.class, dev.zcproxy.cache.store.DiskStore.class}) {
      scan(location(c), offenders, seen);
    }
    assertTrue(seen[0] > 300, "the proxy's and the cache's classes were read: " + seen[0]);
    assertEquals(List.of(), offenders, "classes compiled with invokedynamic string concatenation (-XDstringConcat=inline"
        + " lost from the pom, or classes compiled before it was added: Maven does not recompile for a changed compiler"
        + " option, mvn clean does)");
  }

  private static Path location(Class<?> c) throws URISyntaxException {
    return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
  }

  private static void scan(Path where, List<String> offenders, int[] seen) throws IOException {
    if (Files.isDirectory(where)) {
      try (Stream<Path> files = Files.walk(where)) {
        for (Path p : (Iterable<Path>) files.filter(f -> f.toString().endsWith(".class"))::iterator) {
          seen[0]++;
          if (contains(Files.readAllBytes(p), FACTORY)) {
            offenders.add(where.relativize(p).toString());
          }
        }
      }
      return;
    }
    try (ZipFile jar = new ZipFile(where.toFile())) {
      for (Enumeration<? extends ZipEntry> e = jar.entries(); e.hasMoreElements(); ) {
        ZipEntry entry = e.nextElement();
        if (!entry.getName().startsWith("dev/zcproxy/") || !entry.getName().endsWith(".class")) {
          continue;
        }
        seen[0]++;
        try (InputStream in = jar.getInputStream(entry)) {
          if (contains(in.readAllBytes(), FACTORY)) {
            offenders.add(entry.getName());
          }
        }
      }
    }
  }

  private static boolean contains(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }
}
