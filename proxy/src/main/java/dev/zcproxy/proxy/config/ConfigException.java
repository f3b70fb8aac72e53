package dev.zcproxy.proxy.config;

/**
 * A configuration that cannot be used: its {@link #getMessage()} is the complete operator-facing
 * text and {@link #exitCode()} is what the process should exit with.
 *
 * <p>Messages name where the value came from (file and 1-based line, or the flag), the dotted key
 * path, the bad value and what was expected, e.g. {@code conf/proxy.yaml:12: cache.max-size: "10 GB"
 * is not a size (expected: ...)}. The {@link InfoRequested} subtype is not an error: it carries the
 * {@code --help} or {@code --version} text, to be printed on stdout with exit code 0.
 */
public class ConfigException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  ConfigException(String message) {
    super(message);
  }

  ConfigException(String message, Throwable cause) {
    super(message, cause);
  }

  /** The process exit code for this outcome: 2 for a bad configuration or command line. */
  public int exitCode() {
    return 2;
  }

  /**
   * Not an error: {@code --help} or {@code --version} was given; print {@link #getMessage()} on
   * stdout and exit with {@link #exitCode()} 0.
   */
  public static final class InfoRequested extends ConfigException {
    private static final long serialVersionUID = 1L;

    InfoRequested(String text) {
      super(text);
    }

    @Override
    public int exitCode() {
      return 0;
    }

    @Override
    public synchronized Throwable fillInStackTrace() {
      return this;
    }
  }
}
