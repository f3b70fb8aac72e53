package dev.zcproxy.proxy.config;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The immutable record tree bound from YAML and validated once at startup.
 *
 * <p>Each nested record validates itself in its compact constructor and names the offending key path
 * in its message, in the form {@code "cache.max-size: -1 (expected: > 0)"}. {@link ConfigLoader} maps
 * YAML to these records; {@link #defaults()} is the configuration with no file at all, and
 * {@code conf/proxy.yaml} spells out the same values (a test keeps the two equal).
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

  /** The configuration with no file and no flags. */
  public static ProxyConfig defaults() {
    return new ProxyConfig(
        Listen.DEFAULT, Origin.DEFAULT, Cache.DEFAULT, Transfer.DEFAULT, Admin.DEFAULT, Logging.DEFAULT);
  }

  /**
   * The client-facing HTTP listener, and how it reads request bodies.
   *
   * <p>{@code maxHeaderBytes} beyond which a request gets 431; {@code idleTimeout} zero means off;
   * {@code eventLoops} zero means one per available core; {@code shutdownGrace} zero means close at
   * once. Request bodies are read in full before the origin is contacted (nginx's
   * {@code proxy_request_buffering}): up to {@code bodyBufferBytes} per request in memory while all
   * requests together hold less than {@code bodyBufferTotalBytes}, the rest in a temp file under
   * {@code bodyTempDir}; larger than {@code maxBodyBytes} gets 413, no byte for {@code bodyTimeout} gets
   * 408. {@code trustedProxies} are the address blocks whose {@code X-Forwarded-*} and {@code Forwarded}
   * fields are kept (and appended to); from any other client they are replaced.
   */
  public record Listen(
      HostPort address,
      int maxHeaderBytes,
      int maxInitialLineBytes,
      Duration idleTimeout,
      int eventLoops,
      Duration shutdownGrace,
      List<String> trustedProxies,
      long maxBodyBytes,
      long bodyBufferBytes,
      long bodyBufferTotalBytes,
      Duration bodyTimeout,
      Path bodyTempDir) {

    static final Listen DEFAULT =
        new Listen(
            new HostPort("127.0.0.1", 8080),
            8 * 1024,
            8 * 1024,
            Duration.ofSeconds(60),
            0,
            Duration.ofSeconds(30),
            List.of(),
            100L << 20,
            64 * 1024,
            64L << 20,
            Duration.ofSeconds(60),
            Path.of("./var/body-temp"));

    public Listen {
      requireNonNull(address, "listen.address");
      positive("listen.max-header-size", maxHeaderBytes);
      positive("listen.max-initial-line", maxInitialLineBytes);
      notNegative("listen.idle-timeout", idleTimeout, "0 = off");
      check(eventLoops >= 0, "listen.event-loops", eventLoops, ">= 0, 0 = one per core");
      notNegative("listen.shutdown-grace", shutdownGrace, "0 = close at once");
      requireNonNull(trustedProxies, "listen.trusted-proxies");
      trustedProxies = List.copyOf(trustedProxies);
      for (String t : trustedProxies) {
        try {
          Cidr.parse(t);
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException("listen.trusted-proxies: " + e.getMessage()
              + " (expected: a list of addresses or CIDR blocks, e.g. [10.0.0.0/8, \"::1\"])");
        }
      }
      positive("listen.max-body-size", maxBodyBytes);
      check(bodyBufferBytes >= 0, "listen.body-buffer-size", bodyBufferBytes, ">= 0, 0 = always a temp file");
      check(bodyBufferTotalBytes >= 0, "listen.body-buffer-total", bodyBufferTotalBytes, ">= 0");
      positive("listen.body-timeout", bodyTimeout);
      requireNonNull(bodyTempDir, "listen.body-temp-dir");
      check(!bodyTempDir.toString().isBlank(), "listen.body-temp-dir", "\"" + bodyTempDir + "\"", "a directory path");
    }

    /** The listener with default request-body handling and no trusted proxies. */
    public Listen(HostPort address, int maxHeaderBytes, int maxInitialLineBytes, Duration idleTimeout, int eventLoops,
        Duration shutdownGrace) {
      this(address, maxHeaderBytes, maxInitialLineBytes, idleTimeout, eventLoops, shutdownGrace, DEFAULT.trustedProxies,
          DEFAULT.maxBodyBytes, DEFAULT.bodyBufferBytes, DEFAULT.bodyBufferTotalBytes, DEFAULT.bodyTimeout,
          DEFAULT.bodyTempDir);
    }
  }

  /**
   * The origin every request is forwarded to, and how the proxy's client to it behaves.
   *
   * <p>{@code idleTimeout} and {@code keepAliveTimeout} zero mean off; {@code preserveHost} sends the
   * client's {@code Host} to the origin (like Varnish), false sends the origin URL's authority;
   * {@code stripRequestHeaders} are request fields never forwarded to the origin.
   */
  public record Origin(
      OriginUrl url,
      Duration connectTimeout,
      Duration firstByteTimeout,
      Duration idleTimeout,
      int maxConnections,
      Duration keepAliveTimeout,
      boolean preserveHost,
      List<String> stripRequestHeaders) {

    static final Origin DEFAULT =
        new Origin(
            new OriginUrl("http", "127.0.0.1", 8081),
            Duration.ofSeconds(5),
            Duration.ofSeconds(30),
            Duration.ofSeconds(30),
            64,
            Duration.ofSeconds(60),
            true,
            List.of());

    /** The origin settings with no request fields stripped. */
    public Origin(OriginUrl url, Duration connectTimeout, Duration firstByteTimeout, Duration idleTimeout,
        int maxConnections, Duration keepAliveTimeout, boolean preserveHost) {
      this(url, connectTimeout, firstByteTimeout, idleTimeout, maxConnections, keepAliveTimeout, preserveHost, List.of());
    }

    public Origin {
      requireNonNull(url, "origin.url");
      positive("origin.connect-timeout", connectTimeout);
      positive("origin.first-byte-timeout", firstByteTimeout);
      notNegative("origin.idle-timeout", idleTimeout, "0 = off");
      check(maxConnections > 0, "origin.max-connections", maxConnections, "> 0");
      notNegative("origin.keep-alive-timeout", keepAliveTimeout, "0 = off");
      requireNonNull(stripRequestHeaders, "origin.strip-request-headers");
      stripRequestHeaders = List.copyOf(stripRequestHeaders);
      for (String h : stripRequestHeaders) {
        check(!h.isBlank() && h.chars().allMatch(c -> c > ' ' && c < 0x7f && c != ':'), "origin.strip-request-headers",
            "\"" + h + "\"", "a list of header field names");
      }
    }
  }

  /**
   * The on-disk cache and its RFC 9111 policy knobs.
   *
   * <p>{@code heuristicMax}, {@code keep} and {@code hitForPass} zero mean off. A relative {@code dir}
   * is resolved against the working directory. {@code keyHeaders} are request fields that become part
   * of the cache key (added to every stored response's {@code Vary}).
   */
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
      Duration hitForPass,
      List<String> keyHeaders) {

    static final Cache DEFAULT =
        new Cache(
            true,
            Path.of("./var/cache"),
            1L << 30,
            1L << 30,
            false,
            0.1,
            Duration.ofDays(1),
            Duration.ofHours(1),
            true,
            true,
            16,
            true,
            Duration.ofMinutes(2),
            List.of());

    /** The cache settings with no extra key headers. */
    public Cache(boolean enabled, Path dir, long maxSizeBytes, long maxObjectBytes, boolean fsync,
        double heuristicFraction, Duration heuristicMax, Duration keep, boolean cdnCacheControl,
        boolean surrogateControl, int maxVariants, boolean coalesce, Duration hitForPass) {
      this(enabled, dir, maxSizeBytes, maxObjectBytes, fsync, heuristicFraction, heuristicMax, keep, cdnCacheControl,
          surrogateControl, maxVariants, coalesce, hitForPass, List.of());
    }

    public Cache {
      requireNonNull(dir, "cache.dir");
      check(!dir.toString().isBlank(), "cache.dir", "\"" + dir + "\"", "a directory path");
      positive("cache.max-size", maxSizeBytes);
      positive("cache.max-object-size", maxObjectBytes);
      check(
          heuristicFraction >= 0 && heuristicFraction <= 1,
          "cache.heuristic-fraction",
          heuristicFraction,
          "0..1");
      notNegative("cache.heuristic-max", heuristicMax, "0 = no heuristic freshness");
      notNegative("cache.keep", keep, "0 = off");
      check(maxVariants >= 1, "cache.max-variants", maxVariants, ">= 1");
      notNegative("cache.hit-for-pass", hitForPass, "0 = off");
      requireNonNull(keyHeaders, "cache.key-headers");
      keyHeaders = List.copyOf(keyHeaders);
      for (String h : keyHeaders) {
        check(!h.isBlank() && h.chars().allMatch(c -> c > ' ' && c < 0x7f && c != ':' && c != ','), "cache.key-headers",
            "\"" + h + "\"", "a list of header field names");
      }
    }
  }

  /**
   * How bodies are moved: sendfile for hits, splice for pass-through, or copies everywhere.
   *
   * <p>{@code spliceMinBytes} zero means splice every body; {@code nativeTransport} uses epoll when
   * available, else NIO.
   */
  public record Transfer(
      boolean sendfile, boolean splice, long spliceMinBytes, boolean nativeTransport,
      boolean websocket, java.util.List<Integer> connectPorts) {

    static final Transfer DEFAULT = new Transfer(true, true, 192 * 1024, true, true, java.util.List.of());

    public Transfer {
      check(spliceMinBytes >= 0, "transfer.splice-min-size", spliceMinBytes, ">= 0");
      requireNonNull(connectPorts, "transfer.connect-ports");
      connectPorts = java.util.List.copyOf(connectPorts);
      for (int p : connectPorts) {
        check(p > 0 && p < 65536, "transfer.connect-ports", p, "ports 1..65535");
      }
    }

    /** The transfer settings without tunnels' knobs, for tests and tools. */
    public Transfer(boolean sendfile, boolean splice, long spliceMinBytes, boolean nativeTransport) {
      this(sendfile, splice, spliceMinBytes, nativeTransport, true, java.util.List.of());
    }
  }

  /** The separate admin listener (health, stats, purge); disabled when {@code enabled} is false. */
  public record Admin(boolean enabled, HostPort address) {

    static final Admin DEFAULT = new Admin(true, new HostPort("127.0.0.1", 8079));

    public Admin {
      requireNonNull(address, "admin.address");
    }
  }

  /**
   * Access log and log level.
   *
   * <p>{@code accessLog} is {@code stdout}, {@code off} or a file path; {@code level} is one of
   * {@link #LEVELS}.
   */
  public record Logging(String accessLog, String level, boolean xCacheHeader) {

    /** The accepted values of {@code logging.level}, quietest first. */
    public static final List<String> LEVELS = List.of("error", "warn", "info", "debug", "trace");

    static final Logging DEFAULT = new Logging("stdout", "info", true);

    public Logging {
      requireNonNull(accessLog, "logging.access-log");
      requireNonNull(level, "logging.level");
      check(
          !accessLog.isBlank(),
          "logging.access-log",
          "\"" + accessLog + "\"",
          "stdout, off or a file path");
      check(
          LEVELS.contains(level),
          "logging.level",
          level,
          "one of " + String.join(", ", LEVELS));
    }

    /** Whether access lines go nowhere. */
    public boolean accessLogOff() {
      return accessLog.equals("off");
    }
  }

  /** A {@code host:port} pair (port 0 means any free port). */
  public record HostPort(String host, int port) {
    public HostPort {
      requireNonNull(host, "host");
      check(!host.isBlank(), "host", "\"" + host + "\"", "a host name or address");
      check(port >= 0 && port <= 65535, "port", port, "0..65535");
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
      check(scheme.equals("http") || scheme.equals("https"), "scheme", scheme, "http or https");
      check(!host.isBlank(), "host", "\"" + host + "\"", "a host name or address");
      check(port >= 1 && port <= 65535, "port", port, "1..65535");
    }

    public boolean tls() {
      return scheme.equals("https");
    }

    @Override
    public String toString() {
      return scheme + "://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
  }

  private static void check(boolean ok, String key, Object value, String expected) {
    if (!ok) {
      throw new IllegalArgumentException(key + ": " + value + " (expected: " + expected + ")");
    }
  }

  private static void positive(String key, long value) {
    check(value > 0, key, value, "> 0");
  }

  private static void positive(String key, Duration value) {
    requireNonNull(value, key);
    check(value.compareTo(Duration.ZERO) > 0, key, Units.formatDuration(value), "> 0");
  }

  private static void notNegative(String key, Duration value, String note) {
    requireNonNull(value, key);
    check(!value.isNegative(), key, Units.formatDuration(value), ">= 0, " + note);
  }
}
