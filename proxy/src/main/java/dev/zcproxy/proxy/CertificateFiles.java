package dev.zcproxy.proxy;

import dev.zcproxy.proxy.config.ProxyConfig.CertKey;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.PemKeyCertOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The listener's certificate and key files: read into Vert.x key/cert options, and checked for
 * changes (modification time, size, inode) so new files can be served without a restart.
 *
 * <p>Reads block on disk: call off the event loop. Not thread-safe; one owner calls {@link #changed}.
 */
final class CertificateFiles {
  private final List<CertKey> pairs;
  private List<Object> seen;

  CertificateFiles(List<CertKey> pairs) {
    this.pairs = List.copyOf(Objects.requireNonNull(pairs, "pairs"));
  }

  /**
   * Reads every pair into options (values, not paths, so a later read of changed files compares unequal).
   *
   * @throws IllegalArgumentException naming {@code listen.tls.certificates} and the file that cannot be read
   */
  PemKeyCertOptions load() {
    PemKeyCertOptions o = new PemKeyCertOptions();
    List<Object> stamps = stamps();
    for (CertKey p : pairs) {
      Buffer cert = read(p.cert());
      Buffer key = read(p.key());
      if (!cert.toString().contains("-----BEGIN CERTIFICATE-----")) {
        throw new IllegalArgumentException("listen.tls.certificates: " + p.cert() + " (expected: a PEM certificate chain)");
      }
      if (!key.toString().contains("PRIVATE KEY-----")) {
        throw new IllegalArgumentException("listen.tls.certificates: " + p.key() + " (expected: a PEM private key)");
      }
      o.addCertValue(cert).addKeyValue(key);
    }
    seen = stamps;
    return o;
  }

  /** Whether a file changed (or appeared, or went) since the last {@link #load}. */
  boolean changed() {
    return !stamps().equals(seen);
  }

  private List<Object> stamps() {
    List<Object> out = new ArrayList<>();
    for (CertKey p : pairs) {
      out.add(stamp(p.cert()));
      out.add(stamp(p.key()));
    }
    return out;
  }

  private static Object stamp(Path f) {
    try {
      BasicFileAttributes a = Files.readAttributes(f, BasicFileAttributes.class);
      return List.of(a.lastModifiedTime().toMillis(), a.size(), String.valueOf(a.fileKey()));
    } catch (IOException e) {
      return "missing";
    }
  }

  private static Buffer read(Path f) {
    try {
      return Buffer.buffer(Files.readAllBytes(f));
    } catch (NoSuchFileException e) {
      throw new IllegalArgumentException("listen.tls.certificates: " + f + ": no such file (expected: a readable PEM file)");
    } catch (IOException e) {
      throw new IllegalArgumentException("listen.tls.certificates: " + f + ": cannot read: " + e.getMessage());
    }
  }
}
