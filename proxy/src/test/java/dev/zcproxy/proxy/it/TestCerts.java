package dev.zcproxy.proxy.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * A throw-away certificate authority for tests, made with the {@code openssl} command line: a CA and
 * leaf certificates (P-256 keys, PEM) for the names a test asks for, valid for two days.
 */
final class TestCerts {
  /** A leaf: its chain file (leaf only), its key file and the CN it was made for. */
  record Leaf(Path cert, Path key, String name) {}

  final Path dir;
  final Path caCert;
  final Path caKey;
  private int serial;

  private TestCerts(Path dir) throws Exception {
    this.dir = dir;
    this.caCert = dir.resolve("ca.pem");
    this.caKey = dir.resolve("ca.key");
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", caKey.toString(), "-out", caCert.toString(), "-days", "2", "-subj", "/CN=zcproxy test CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
  }

  /** A new CA under {@code dir}; skips the test when {@code openssl} is not installed. */
  static TestCerts create(Path dir) throws Exception {
    Assumptions.assumeTrue(hasOpenssl(), "openssl not installed: TLS tests skipped (apt-get install openssl)");
    return new TestCerts(dir);
  }

  static boolean hasOpenssl() {
    try {
      Process p = new ProcessBuilder("openssl", "version").redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException | InterruptedException e) {
      return false;
    }
  }

  /** A leaf for {@code cn} whose SANs are {@code cn} and the given extra DNS names or IPs ({@code IP:127.0.0.1}). */
  Leaf leaf(String cn, String... extraSans) throws Exception {
    int n = ++serial;
    Path key = dir.resolve(cn + "-" + n + ".key");
    Path csr = dir.resolve(cn + "-" + n + ".csr");
    Path cert = dir.resolve(cn + "-" + n + ".pem");
    Path ext = dir.resolve(cn + "-" + n + ".ext");
    List<String> sans = new ArrayList<>();
    sans.add(cn.matches("[0-9.]+") ? "IP:" + cn : "DNS:" + cn);
    for (String s : extraSans) {
      sans.add(s.contains(":") ? s : "DNS:" + s);
    }
    Files.writeString(ext, "subjectAltName=" + String.join(",", sans) + "\nextendedKeyUsage=serverAuth,clientAuth\n",
        StandardCharsets.US_ASCII);
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key.toString(),
        "-out", csr.toString(), "-subj", "/CN=" + cn);
    openssl("x509", "-req", "-in", csr.toString(), "-CA", caCert.toString(), "-CAkey", caKey.toString(),
        "-set_serial", Integer.toString(1000 + n), "-out", cert.toString(), "-days", "2", "-extfile", ext.toString());
    return new Leaf(cert, key, cn);
  }

  private void openssl(String... args) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add("openssl");
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
      p.destroyForcibly();
      throw new IllegalStateException("openssl " + String.join(" ", args) + " failed: " + out);
    }
  }
}
