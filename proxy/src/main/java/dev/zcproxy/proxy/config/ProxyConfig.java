package dev.zcproxy.proxy.config;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;
import java.time.Duration;

/**
 * The immutable record tree bound from YAML and validated once at startup.
 *
 * <p>Each nested record validates itself in its compact constructor and names the offending key path
 * in its message, in the form {@code "cache.max-size: -1 (expected: > 0)"}. {@link ConfigLoader} maps
 * YAML to these records; {@link #defaults()} is the configuration with no file at all.
 */
public record ProxyConfig(
    Listen listen, Origin origin, Cache cache, Transfer transfer, Admin admin, Logging logging) {

  public ProxyConfig {
    requireNonNull(listen, "listen");
    requireNonNull(origin, "origin");
    requireNonNull(cache, "cache");
    requireNonNull(transfer, "transfer");
    requireNonNull(admin, "admin");
    requireNonNull(logging, "logging");
  }

  /** The client-facing HTTP listener. */
  public record Listen(
      HostPort address,
      int maxHeaderBytes,
      int maxInitialLineBytes,
      Duration idleTimeout,
      int eventLoops,
      Duration shutdownGrace) {}

  /** The origin every request is forwarded to, and how the proxy's client to it behaves. */
  public record Origin(
      OriginUrl url,
      Duration connectTimeout,
      Duration firstByteTimeout,
      Duration idleTimeout,
      int maxConnections,
      Duration keepAliveTimeout,
      boolean preserveHost) {}

  /** The on-disk cache and its RFC 9111 policy knobs. */
  public record Cache(
      boolean enabled,
      Path dir,
      long maxSizeBytes,
      long maxObjectBytes,
      boolean fsync,
      double heuristicFraction,
      Duration heuristicMax,
      Duration keep,
      boolean cdnCacheControl,
      boolean surrogateControl,
      int maxVariants,
      boolean coalesce,
      Duration hitForPass) {}

  /** How bodies are moved: sendfile for hits, splice for pass-through, or copies everywhere. */
  public record Transfer(boolean sendfile, boolean splice, long spliceMinBytes, boolean nativeTransport) {}

  /** The separate admin listener (health, stats, purge); disabled when {@code enabled} is false. */
  public record Admin(boolean enabled, HostPort address) {}

  /** Access log and log level. */
  public record Logging(String accessLog, String level, boolean xCacheHeader) {}

  /** A {@code host:port} pair (port 0 means any free port). */
  public record HostPort(String host, int port) {
    public HostPort {
      requireNonNull(host, "host");
    }

    @Override
    public String toString() {
      return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
  }

  /** An origin base URL: scheme {@code http} or {@code https}, host, port (defaulted from the scheme). */
  public record OriginUrl(String scheme, String host, int port) {
    public OriginUrl {
      requireNonNull(scheme, "scheme");
      requireNonNull(host, "host");
    }

    public boolean tls() {
      return scheme.equals("https");
    }

    @Override
    public String toString() {
      return scheme + "://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
  }

  /** The configuration with no file and no flags. */
  public static ProxyConfig defaults() {
    throw new UnsupportedOperationException("TODO: ConfigLoader helper fills this in");
  }
}
