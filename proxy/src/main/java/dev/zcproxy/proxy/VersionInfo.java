package dev.zcproxy.proxy;

import io.vertx.core.transport.Transport;
import java.io.IOException;
import java.io.InputStream;
import java.util.Locale;
import java.util.Properties;

/** The {@code zcproxy --version} text: version, git commit, JDK and the transport that would be used. */
final class VersionInfo {
  /** Written at build time by the antrun {@code build-info} execution in proxy/pom.xml. */
  static final String RESOURCE = "build.properties";

  private VersionInfo() {}

  /** True when {@code args} ask for the version ({@code --help} wins, as in ConfigLoader). */
  static boolean requested(String[] args) {
    boolean version = false;
    for (String arg : args) {
      if (arg.equals("--help") || arg.equals("-h")) {
        return false;
      }
      version |= arg.equals("--version");
    }
    return version;
  }

  /** Four lines, e.g. {@code zcproxy 0.1.0}, {@code commit 0123abcd}, {@code java 17.0.9 (Eclipse Adoptium)}, {@code transport epoll}. */
  static String text() {
    Properties build = new Properties();
    try (InputStream in = VersionInfo.class.getResourceAsStream(RESOURCE)) {
      if (in != null) {
        build.load(in);
      }
    } catch (IOException e) {
      // a development build without the resource: reported as unknown below
    }
    return "zcproxy " + build.getProperty("version", "unknown") + "\n"
        + "commit " + build.getProperty("commit", "unknown") + "\n"
        + "java " + System.getProperty("java.version") + " (" + System.getProperty("java.vendor") + ")\n"
        + "transport " + transport();
  }

  /** The transport ProxyServer gets with transfer.native-transport on (the default). */
  static String transport() {
    Transport t = Transport.nativeTransport();
    if (t != null && t.available()) {
      return t.name().toLowerCase(Locale.ROOT);
    }
    Throwable cause = t != null ? t.unavailabilityCause() : Transport.EPOLL.unavailabilityCause();
    return "nio" + (cause == null ? "" : " (native transport unavailable: " + cause + ")");
  }
}
