package dev.zcproxy.proxy.config;

import static java.util.Objects.requireNonNull;

import dev.zcproxy.cache.policy.InvalidateMethods;
import dev.zcproxy.cache.policy.SetCookie;
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
    Listen listen, Origin origin, Cache cache, Transfer transfer, Admin admin, Logging logging, Sites sites,
    Cluster cluster) {

  /** The configuration without {@code sites:}: {@code origin.url} is the one site. */
  public ProxyConfig(Listen listen, Origin origin, Cache cache, Transfer transfer, Admin admin, Logging logging,
      Cluster cluster) {
    this(listen, origin, cache, transfer, admin, logging, Sites.NONE, cluster);
  }

  /** A single node (no cluster). */
  public ProxyConfig(Listen listen, Origin origin, Cache cache, Transfer transfer, Admin admin, Logging logging,
      Sites sites) {
    this(listen, origin, cache, transfer, admin, logging, sites, Cluster.DEFAULT);
  }

  public ProxyConfig {
    requireNonNull(sites, "sites");
    requireNonNull(cluster, "cluster");
    requireNonNull(listen, "listen");
    requireNonNull(origin, "origin");
    requireNonNull(cache, "cache");
    requireNonNull(transfer, "transfer");
    requireNonNull(admin, "admin");
    requireNonNull(logging, "logging");
  }

  /** A single node with one site: {@code origin.url}. */
  public ProxyConfig(Listen listen, Origin origin, Cache cache, Transfer transfer, Admin admin, Logging logging) {
    this(listen, origin, cache, transfer, admin, logging, Sites.NONE, Cluster.DEFAULT);
  }

  /** The configuration with no file and no flags. */
  public static ProxyConfig defaults() {
    return new ProxyConfig(
        Listen.DEFAULT, Origin.DEFAULT, Cache.DEFAULT, Transfer.DEFAULT, Admin.DEFAULT, Logging.DEFAULT, Sites.NONE,
        Cluster.DEFAULT);
  }

  /**
   * Several zcproxy nodes sharing one cache key space over Hazelcast; off by default (then no Hazelcast
   * class is loaded).
   *
   * <p>{@code port} is Hazelcast's member port, {@code busPort} the Vert.x clustered event bus port (0 =
   * any free one); {@code advertise} the address peers reach this node at, for both and for the data
   * port ({@code ""} = the listen address); {@code members} the {@code HOST:PORT} Hazelcast ports to
   * join by TCP (multicast is off). {@code name} and {@code secret} together make the Hazelcast cluster
   * name, so a node configured with another name or secret never joins. A miss for a key another node
   * owns is fetched from it; when it does not answer within {@code ownerTimeout} the origin is asked
   * directly. {@code failureTimeout} is how long a silent member stays in the cluster.
   * {@code localCopy} keeps up to {@code localCopyEntries} objects owned by other nodes in this node's
   * cache too. Bans are kept in the cluster for {@code banRetention}, for nodes that were away.
   */
  public record Cluster(
      boolean enabled,
      String name,
      String secret,
      int port,
      int busPort,
      String advertise,
      List<String> members,
      Duration ownerTimeout,
      Duration failureTimeout,
      boolean localCopy,
      int localCopyEntries,
      Duration banRetention,
      int invalidationLog,
      Duration invalidationRetention,
      Duration handoffWindow) {

    /** The shortest secret accepted, as for the admin token. */
    public static final int MIN_SECRET_LENGTH = 16;

    static final Cluster DEFAULT = new Cluster(false, "zcproxy", "", 5701, 0, "", List.of(), Duration.ofSeconds(2),
        Duration.ofSeconds(10), false, 1000, Duration.ofDays(1), 10_000, Duration.ofDays(1), Duration.ofMinutes(1));

    /** Without the invalidation log and hand-off keys: their defaults. */
    public Cluster(boolean enabled, String name, String secret, int port, int busPort, String advertise,
        List<String> members, Duration ownerTimeout, Duration failureTimeout, boolean localCopy, int localCopyEntries,
        Duration banRetention) {
      this(enabled, name, secret, port, busPort, advertise, members, ownerTimeout, failureTimeout, localCopy,
          localCopyEntries, banRetention, 10_000, Duration.ofDays(1), Duration.ofMinutes(1));
    }

    public Cluster {
      requireNonNull(name, "cluster.name");
      requireNonNull(secret, "cluster.secret");
      requireNonNull(advertise, "cluster.advertise");
      requireNonNull(members, "cluster.members");
      members = List.copyOf(members);
      check(!name.isBlank() && name.chars().allMatch(c -> c > 0x20 && c < 0x7f), "cluster.name", "\"" + name + "\"",
          "printable ASCII without spaces");
      check(secret.isEmpty() || secret.chars().allMatch(c -> c > 0x20 && c < 0x7f), "cluster.secret", "(value not shown)",
          "printable ASCII without spaces, e.g. the output of `openssl rand -hex 32`");
      check(!enabled || secret.length() >= MIN_SECRET_LENGTH, "cluster.secret",
          "(value not shown, " + secret.length() + " characters)",
          "at least " + MIN_SECRET_LENGTH + " characters when cluster.enabled is true; env ZCPROXY_CLUSTER_SECRET");
      check(port >= 1 && port <= 65535, "cluster.port", port, "1..65535");
      check(busPort >= 0 && busPort <= 65535, "cluster.bus-port", busPort, "0..65535, 0 = any free port");
      check(advertise.isEmpty() || (!advertise.isBlank() && advertise.indexOf(' ') < 0 && !advertise.contains("/")),
          "cluster.advertise", "\"" + advertise + "\"", "a host name or address, or \"\" for the listen address");
      for (String m : members) {
        int colon = m.lastIndexOf(':');
        int p = -1;
        try {
          p = colon > 0 ? Integer.parseInt(m.substring(colon + 1)) : -1;
        } catch (NumberFormatException e) {
          // reported below
        }
        check(colon > 0 && p >= 1 && p <= 65535, "cluster.members", "\"" + m + "\"", "HOST:PORT items, e.g. [10.0.0.1:5701]");
      }
      positive("cluster.owner-timeout", ownerTimeout);
      check(failureTimeout != null && failureTimeout.toSeconds() >= 1, "cluster.failure-timeout",
          failureTimeout == null ? "null" : Units.formatDuration(failureTimeout), ">= 1s");
      check(localCopyEntries >= 1, "cluster.local-copy-entries", localCopyEntries, ">= 1");
      positive("cluster.ban-retention", banRetention);
      check(invalidationLog >= 1, "cluster.invalidation-log", invalidationLog, ">= 1");
      requireNonNull(invalidationRetention, "cluster.invalidation-retention");
      check(invalidationRetention.toSeconds() >= 1 && invalidationRetention.toSeconds() <= Integer.MAX_VALUE,
          "cluster.invalidation-retention", Units.formatDuration(invalidationRetention), "1s..68 years");
      check(handoffWindow != null && !handoffWindow.isNegative(), "cluster.handoff-window",
          handoffWindow == null ? "null" : Units.formatDuration(handoffWindow), ">= 0s, 0 = off");
    }

    /** The address peers reach this node at: {@code advertise}, else the listen host. */
    public String advertiseOr(String listenHost) {
      return advertise.isEmpty() ? listenHost : advertise;
    }

    @Override
    public String toString() {
      return "Cluster[enabled=" + enabled + ", name=" + name + ", secret=" + (secret.isEmpty() ? "none" : "(set)")
          + ", port=" + port + ", busPort=" + busPort + ", advertise=" + advertise + ", members=" + members
          + ", ownerTimeout=" + ownerTimeout + ", failureTimeout=" + failureTimeout + ", localCopy=" + localCopy
          + ", localCopyEntries=" + localCopyEntries + ", banRetention=" + banRetention
          + ", invalidationLog=" + invalidationLog + ", invalidationRetention=" + invalidationRetention
          + ", handoffWindow=" + handoffWindow + "]";
    }
  }

  /**
   * The client-facing HTTP listener, and how it reads request bodies.
   *
   * <p>{@code maxHeaderBytes} beyond which a request gets 431; {@code idleTimeout} zero means off;
   * {@code eventLoops} zero means one per available core; {@code shutdownGrace} zero means close at
   * once; {@code maxConnections} bounds open client connections (more wait in the accept queue);
   * {@code requestHeadTimeout} bounds the time to send a complete request head, zero means off.
   * Request bodies are read in full before the origin is contacted (nginx's
   * {@code proxy_request_buffering}): up to {@code bodyBufferBytes} per request in memory while all
   * requests together hold less than {@code bodyBufferTotalBytes}, the rest in a temp file under
   * {@code bodyTempDir}; larger than {@code maxBodyBytes} gets 413, no byte for {@code bodyTimeout} gets
   * 408. {@code trustedProxies} are the address blocks whose {@code X-Forwarded-*} and {@code Forwarded}
   * fields are kept (and appended to); from any other client they are replaced. {@code drainTime} is
   * how long the proxy keeps serving with {@code /health} answering 503 "draining" on SIGTERM, before
   * the graceful stop (HAProxy's {@code grace}); zero means stop at once. {@code http2Cleartext} lets
   * plain listeners also take HTTP/2 with prior knowledge (h2c). {@code sendBufferBytes} is the {@code SO_SNDBUF} of
   * client connections; zero leaves it to the kernel's autotuning.
   */
  public record Listen(
      HostPort address,
      int maxHeaderBytes,
      int maxInitialLineBytes,
      Duration idleTimeout,
      int eventLoops,
      Duration shutdownGrace,
      int maxConnections,
      Duration requestHeadTimeout,
      List<String> trustedProxies,
      long maxBodyBytes,
      long bodyBufferBytes,
      long bodyBufferTotalBytes,
      Duration bodyTimeout,
      Path bodyTempDir,
      Duration drainTime,
      ListenTls tls,
      boolean http2,
      HostPort plainAddress,
      boolean http2Cleartext,
      int sendBufferBytes) {

    static final Listen DEFAULT =
        new Listen(
            new HostPort("127.0.0.1", 8080),
            8 * 1024,
            8 * 1024,
            Duration.ofSeconds(60),
            0,
            Duration.ofSeconds(30),
            10_000,
            Duration.ofSeconds(10),
            List.of(),
            100L << 20,
            64 * 1024,
            64L << 20,
            Duration.ofSeconds(60),
            Path.of("./var/body-temp"),
            Duration.ZERO,
            ListenTls.OFF,
            false,
            null,
            false,
            0);

    public Listen {
      requireNonNull(address, "listen.address");
      positive("listen.max-header-size", maxHeaderBytes);
      positive("listen.max-initial-line", maxInitialLineBytes);
      notNegative("listen.idle-timeout", idleTimeout, "0 = off");
      check(eventLoops >= 0, "listen.event-loops", eventLoops, ">= 0, 0 = one per core");
      notNegative("listen.shutdown-grace", shutdownGrace, "0 = close at once");
      check(maxConnections > 0, "listen.max-connections", maxConnections, "> 0");
      notNegative("listen.request-head-timeout", requestHeadTimeout, "0 = off");
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
      notNegative("listen.drain-time", drainTime, "0 = stop at once");
      requireNonNull(tls, "listen.tls");
      check(plainAddress == null || tls.enabled(), "listen.plain-address", plainAddress,
          "\"\" unless listen.tls has certificates (without TLS, listen.address is the plain listener)");
      check(sendBufferBytes >= 0, "listen.send-buffer", sendBufferBytes, ">= 0, 0 = the kernel autotunes it");
    }

    /** The listener with the kernel's send-buffer autotuning. */
    public Listen(HostPort address, int maxHeaderBytes, int maxInitialLineBytes, Duration idleTimeout, int eventLoops,
        Duration shutdownGrace, int maxConnections, Duration requestHeadTimeout, List<String> trustedProxies,
        long maxBodyBytes, long bodyBufferBytes, long bodyBufferTotalBytes, Duration bodyTimeout, Path bodyTempDir,
        Duration drainTime, ListenTls tls, boolean http2, HostPort plainAddress, boolean http2Cleartext) {
      this(address, maxHeaderBytes, maxInitialLineBytes, idleTimeout, eventLoops, shutdownGrace, maxConnections,
          requestHeadTimeout, trustedProxies, maxBodyBytes, bodyBufferBytes, bodyBufferTotalBytes, bodyTimeout, bodyTempDir,
          drainTime, tls, http2, plainAddress, http2Cleartext, 0);
    }

    /** The listener without HTTP/2 cleartext (h2c) on its plain listeners. */
    public Listen(HostPort address, int maxHeaderBytes, int maxInitialLineBytes, Duration idleTimeout, int eventLoops,
        Duration shutdownGrace, int maxConnections, Duration requestHeadTimeout, List<String> trustedProxies,
        long maxBodyBytes, long bodyBufferBytes, long bodyBufferTotalBytes, Duration bodyTimeout, Path bodyTempDir,
        Duration drainTime, ListenTls tls, boolean http2, HostPort plainAddress) {
      this(address, maxHeaderBytes, maxInitialLineBytes, idleTimeout, eventLoops, shutdownGrace, maxConnections,
          requestHeadTimeout, trustedProxies, maxBodyBytes, bodyBufferBytes, bodyBufferTotalBytes, bodyTimeout, bodyTempDir,
          drainTime, tls, http2, plainAddress, false);
    }

    /** The listener with a drain time, without TLS, HTTP/2 or a second plain address. */
    public Listen(HostPort address, int maxHeaderBytes, int maxInitialLineBytes, Duration idleTimeout, int eventLoops,
        Duration shutdownGrace, int maxConnections, Duration requestHeadTimeout, List<String> trustedProxies,
        long maxBodyBytes, long bodyBufferBytes, long bodyBufferTotalBytes, Duration bodyTimeout, Path bodyTempDir,
        Duration drainTime) {
      this(address, maxHeaderBytes, maxInitialLineBytes, idleTimeout, eventLoops, shutdownGrace, maxConnections,
          requestHeadTimeout, trustedProxies, maxBodyBytes, bodyBufferBytes, bodyBufferTotalBytes, bodyTimeout, bodyTempDir,
          drainTime, ListenTls.OFF, false, null, false);
    }

    /** The listener with TLS, HTTP/2 or a second plain address, and no drain time. */
    public Listen(HostPort address, int maxHeaderBytes, int maxInitialLineBytes, Duration idleTimeout, int eventLoops,
        Duration shutdownGrace, int maxConnections, Duration requestHeadTimeout, List<String> trustedProxies,
        long maxBodyBytes, long bodyBufferBytes, long bodyBufferTotalBytes, Duration bodyTimeout, Path bodyTempDir,
        ListenTls tls, boolean http2, HostPort plainAddress) {
      this(address, maxHeaderBytes, maxInitialLineBytes, idleTimeout, eventLoops, shutdownGrace, maxConnections,
          requestHeadTimeout, trustedProxies, maxBodyBytes, bodyBufferBytes, bodyBufferTotalBytes, bodyTimeout, bodyTempDir,
          Duration.ZERO, tls, http2, plainAddress, false);
    }

    /** The listener without drain time, TLS, HTTP/2 or a second plain address. */
    public Listen(HostPort address, int maxHeaderBytes, int maxInitialLineBytes, Duration idleTimeout, int eventLoops,
        Duration shutdownGrace, int maxConnections, Duration requestHeadTimeout, List<String> trustedProxies,
        long maxBodyBytes, long bodyBufferBytes, long bodyBufferTotalBytes, Duration bodyTimeout, Path bodyTempDir) {
      this(address, maxHeaderBytes, maxInitialLineBytes, idleTimeout, eventLoops, shutdownGrace, maxConnections,
          requestHeadTimeout, trustedProxies, maxBodyBytes, bodyBufferBytes, bodyBufferTotalBytes, bodyTimeout, bodyTempDir,
          Duration.ZERO, ListenTls.OFF, false, null, false);
    }

    /** The listener with default request-body handling and no trusted proxies. */
    public Listen(HostPort address, int maxHeaderBytes, int maxInitialLineBytes, Duration idleTimeout, int eventLoops,
        Duration shutdownGrace, int maxConnections, Duration requestHeadTimeout) {
      this(address, maxHeaderBytes, maxInitialLineBytes, idleTimeout, eventLoops, shutdownGrace, maxConnections,
          requestHeadTimeout, DEFAULT.trustedProxies, DEFAULT.maxBodyBytes, DEFAULT.bodyBufferBytes,
          DEFAULT.bodyBufferTotalBytes, DEFAULT.bodyTimeout, DEFAULT.bodyTempDir);
    }

    /** The listener with default connection bounds, request-body handling and no trusted proxies. */
    public Listen(HostPort address, int maxHeaderBytes, int maxInitialLineBytes, Duration idleTimeout, int eventLoops,
        Duration shutdownGrace) {
      this(address, maxHeaderBytes, maxInitialLineBytes, idleTimeout, eventLoops, shutdownGrace, DEFAULT.maxConnections, DEFAULT.requestHeadTimeout,
          DEFAULT.trustedProxies,
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
      List<String> stripRequestHeaders,
      OriginTls tls) {

    static final Origin DEFAULT =
        new Origin(
            new OriginUrl("http", "127.0.0.1", 8081),
            Duration.ofSeconds(5),
            Duration.ofSeconds(30),
            Duration.ofSeconds(30),
            64,
            Duration.ofSeconds(60),
            true,
            List.of(),
            OriginTls.DEFAULT);

    /** The origin settings with the default TLS settings (verification on, the JVM's trust store). */
    public Origin(OriginUrl url, Duration connectTimeout, Duration firstByteTimeout, Duration idleTimeout,
        int maxConnections, Duration keepAliveTimeout, boolean preserveHost, List<String> stripRequestHeaders) {
      this(url, connectTimeout, firstByteTimeout, idleTimeout, maxConnections, keepAliveTimeout, preserveHost,
          stripRequestHeaders, OriginTls.DEFAULT);
    }

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
      requireNonNull(tls, "origin.tls");
    }
  }

  /** A certificate chain (leaf first) and its private key, both PEM files. */
  public record CertKey(Path cert, Path key) {
    public CertKey {
      requireNonNull(cert, "cert");
      requireNonNull(key, "key");
    }
  }

  /**
   * TLS on the client listener ({@code listen.tls}); off when {@code certificates} is empty.
   *
   * <p>Several certificates are chosen by the client's SNI server name (the first when none matches or
   * the client sends none). {@code protocols} are the enabled TLS versions; {@code ciphers} empty means
   * {@link #MODERN_CIPHERS}. The certificate and key files are checked every {@code reloadCheck} and
   * served anew when they changed (zero = only on an explicit reload). {@code handshakeTimeout} bounds
   * a TLS handshake.
   */
  public record ListenTls(
      List<CertKey> certificates, List<String> protocols, List<String> ciphers, Duration reloadCheck,
      Duration handshakeTimeout, String provider) {

    /**
     * The accepted values of {@code listen.tls.provider}: the JDK's TLS engine, OpenSSL (BoringSSL,
     * netty-tcnative), or auto (OpenSSL where its native library loads, else the JDK's).
     */
    public static final List<String> PROVIDERS = List.of("auto", "jdk", "openssl");

    /** The TLS versions zcproxy accepts at all. */
    public static final List<String> KNOWN_PROTOCOLS = List.of("TLSv1.3", "TLSv1.2");

    /**
     * The default cipher suites: Mozilla's "intermediate" list (TLS 1.3 AEAD suites, then ECDHE with
     * AES-GCM or ChaCha20-Poly1305 for TLS 1.2), in the JDK's names.
     */
    public static final List<String> MODERN_CIPHERS = List.of(
        "TLS_AES_128_GCM_SHA256",
        "TLS_AES_256_GCM_SHA384",
        "TLS_CHACHA20_POLY1305_SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");

    /** No TLS. */
    public static final ListenTls OFF =
        new ListenTls(List.of(), KNOWN_PROTOCOLS, List.of(), Duration.ofSeconds(10), Duration.ofSeconds(10), "auto");

    /** With the JDK's TLS engine. */
    public ListenTls(List<CertKey> certificates, List<String> protocols, List<String> ciphers, Duration reloadCheck,
        Duration handshakeTimeout) {
      this(certificates, protocols, ciphers, reloadCheck, handshakeTimeout, "jdk");
    }

    public ListenTls {
      requireNonNull(certificates, "listen.tls.certificates");
      certificates = List.copyOf(certificates);
      requireNonNull(protocols, "listen.tls.protocols");
      protocols = List.copyOf(protocols);
      check(!protocols.isEmpty(), "listen.tls.protocols", "[]", "one or more of " + String.join(", ", KNOWN_PROTOCOLS));
      for (String p : protocols) {
        check(KNOWN_PROTOCOLS.contains(p), "listen.tls.protocols", p, "one or more of " + String.join(", ", KNOWN_PROTOCOLS));
      }
      requireNonNull(ciphers, "listen.tls.ciphers");
      ciphers = List.copyOf(ciphers);
      notNegative("listen.tls.reload-check", reloadCheck, "0 = only on reload");
      positive("listen.tls.handshake-timeout", handshakeTimeout);
      requireNonNull(provider, "listen.tls.provider");
      check(PROVIDERS.contains(provider), "listen.tls.provider", provider, "one of " + String.join(", ", PROVIDERS));
    }

    /** Whether the TLS engine must be OpenSSL (the proxy does not start without it). */
    public boolean openssl() {
      return provider.equals("openssl");
    }

    /** Whether the TLS engine is OpenSSL where it loads, else the JDK's. */
    public boolean auto() {
      return provider.equals("auto");
    }

    /** Whether the listener speaks TLS. */
    public boolean enabled() {
      return !certificates.isEmpty();
    }

    /** The cipher suites to enable: the configured ones, or {@link #MODERN_CIPHERS}. */
    public List<String> effectiveCiphers() {
      return ciphers.isEmpty() ? MODERN_CIPHERS : ciphers;
    }
  }

  /**
   * TLS towards {@code https://} origins ({@code origin.tls}).
   *
   * <p>{@code verify} checks the origin's certificate chain and host name (off only for tests and
   * private networks you trust); {@code caFile} (PEM, may hold several certificates) replaces the JVM's
   * trust store when set; {@code sni} is the server name sent and verified instead of the URL's host
   * ({@code ""} = the host); {@code cert} and {@code key} are a client certificate for origins that
   * ask for one (both or neither).
   */
  public record OriginTls(boolean verify, Path caFile, String sni, Path cert, Path key) {
    /** Verification on against the JVM's trust store, no client certificate. */
    public static final OriginTls DEFAULT = new OriginTls(true, null, "", null, null);

    public OriginTls {
      requireNonNull(sni, "origin.tls.sni");
      check(sni.chars().allMatch(c -> c > ' ' && c < 0x7f && c != '/' && c != ':'), "origin.tls.sni", "\"" + sni + "\"",
          "a DNS host name, or \"\" for the origin URL's host");
      check((cert == null) == (key == null), cert == null ? "origin.tls.cert" : "origin.tls.key", "\"\"",
          "origin.tls.cert and origin.tls.key both set, or neither");
    }
  }

  /**
   * The on-disk cache and its RFC 9111 policy knobs.
   *
   * <p>{@code minFreeBytes} is the free space of the cache's file system that is never written into
   * (nginx's {@code min_free}): the coldest entries are evicted, or a body is passed through without
   * being stored, rather than go below it.
   *
   * <p>{@code heuristicMax}, {@code keep} and {@code hitForPass} zero mean off. A relative {@code dir}
   * is resolved against the working directory. {@code setCookie}: see {@link SetCookie};
   * {@code invalidateMethods}: see {@link InvalidateMethods}. {@code keyHeaders} are request
   * fields that become part of the cache key (added to every stored response's {@code Vary}).
   * {@code tagHeaders} are origin response fields whose space- or comma-separated values tag the
   * stored entry for purge by tag ({@code Surrogate-Key}, {@code Cache-Tag}); {@code stripTagHeaders}
   * removes them from responses to clients.
   */
  public record Cache(
      boolean enabled,
      Path dir,
      long maxSizeBytes,
      long maxObjectBytes,
      boolean fsync,
      long minFreeBytes,
      double heuristicFraction,
      Duration heuristicMax,
      Duration keep,
      boolean cdnCacheControl,
      boolean surrogateControl,
      int maxVariants,
      boolean coalesce,
      Duration hitForPass,
      IndexHeap indexHeap,
      SetCookie setCookie,
      List<String> keyHeaders,
      List<String> tagHeaders,
      boolean stripTagHeaders,
      Ram ram,
      InvalidateMethods invalidateMethods) {

    /** A cache section where only the standard unsafe methods invalidate ({@code cache.invalidate-methods: standard}). */
    public Cache(boolean enabled, Path dir, long maxSizeBytes, long maxObjectBytes, boolean fsync, long minFreeBytes,
        double heuristicFraction, Duration heuristicMax, Duration keep, boolean cdnCacheControl, boolean surrogateControl,
        int maxVariants, boolean coalesce, Duration hitForPass, IndexHeap indexHeap, SetCookie setCookie,
        List<String> keyHeaders, List<String> tagHeaders, boolean stripTagHeaders, Ram ram) {
      this(enabled, dir, maxSizeBytes, maxObjectBytes, fsync, minFreeBytes, heuristicFraction, heuristicMax, keep,
          cdnCacheControl, surrogateControl, maxVariants, coalesce, hitForPass, indexHeap, setCookie, keyHeaders,
          tagHeaders, stripTagHeaders, ram, InvalidateMethods.STANDARD);
    }

    /** A cache section with the default RAM tier. */
    public Cache(boolean enabled, Path dir, long maxSizeBytes, long maxObjectBytes, boolean fsync, long minFreeBytes,
        double heuristicFraction, Duration heuristicMax, Duration keep, boolean cdnCacheControl, boolean surrogateControl,
        int maxVariants, boolean coalesce, Duration hitForPass, IndexHeap indexHeap, SetCookie setCookie,
        List<String> keyHeaders, List<String> tagHeaders, boolean stripTagHeaders) {
      this(enabled, dir, maxSizeBytes, maxObjectBytes, fsync, minFreeBytes, heuristicFraction, heuristicMax, keep,
          cdnCacheControl, surrogateControl, maxVariants, coalesce, hitForPass, indexHeap, setCookie, keyHeaders,
          tagHeaders, stripTagHeaders, Ram.DEFAULT);
    }

    /** The default tag headers: Fastly's and Cloudflare's. */
    public static final List<String> DEFAULT_TAG_HEADERS = List.of("Surrogate-Key", "Cache-Tag");

    /** A cache section with the default tag headers, stripped. */
    public Cache(boolean enabled, Path dir, long maxSizeBytes, long maxObjectBytes, boolean fsync, long minFreeBytes,
        double heuristicFraction, Duration heuristicMax, Duration keep, boolean cdnCacheControl, boolean surrogateControl,
        int maxVariants, boolean coalesce, Duration hitForPass, IndexHeap indexHeap, SetCookie setCookie,
        List<String> keyHeaders) {
      this(enabled, dir, maxSizeBytes, maxObjectBytes, fsync, minFreeBytes, heuristicFraction, heuristicMax, keep,
          cdnCacheControl, surrogateControl, maxVariants, coalesce, hitForPass, indexHeap, setCookie, keyHeaders,
          DEFAULT_TAG_HEADERS, true);
    }

    static final Cache DEFAULT =
        new Cache(
            true,
            Path.of("./var/cache"),
            1L << 30,
            1L << 30,
            false,
            64L << 20,
            0.1,
            Duration.ofDays(1),
            Duration.ofHours(1),
            true,
            true,
            16,
            true,
            Duration.ofMinutes(2),
            IndexHeap.percent(IndexHeap.DEFAULT_PERCENT),
            SetCookie.PASS,
            List.of(),
            DEFAULT_TAG_HEADERS,
            true);

    public Cache {
      requireNonNull(setCookie, "cache.set-cookie");
      requireNonNull(invalidateMethods, "cache.invalidate-methods");
      requireNonNull(dir, "cache.dir");
      check(!dir.toString().isBlank(), "cache.dir", "\"" + dir + "\"", "a directory path");
      positive("cache.max-size", maxSizeBytes);
      positive("cache.max-object-size", maxObjectBytes);
      check(minFreeBytes >= 0, "cache.min-free", minFreeBytes, ">= 0");
      check(
          heuristicFraction >= 0 && heuristicFraction <= 1,
          "cache.heuristic-fraction",
          heuristicFraction,
          "0..1");
      notNegative("cache.heuristic-max", heuristicMax, "0 = no heuristic freshness");
      notNegative("cache.keep", keep, "0 = off");
      check(maxVariants >= 1, "cache.max-variants", maxVariants, ">= 1");
      notNegative("cache.hit-for-pass", hitForPass, "0 = off");
      requireNonNull(indexHeap, "cache.index-heap");
      requireNonNull(keyHeaders, "cache.key-headers");
      keyHeaders = List.copyOf(keyHeaders);
      for (String h : keyHeaders) {
        check(!h.isBlank() && h.chars().allMatch(c -> c > ' ' && c < 0x7f && c != ':' && c != ','), "cache.key-headers",
            "\"" + h + "\"", "a list of header field names");
      }
      requireNonNull(ram, "cache.ram-size");
      requireNonNull(tagHeaders, "cache.tag-headers");
      tagHeaders = List.copyOf(tagHeaders);
      for (String h : tagHeaders) {
        check(!h.isBlank() && h.chars().allMatch(c -> c > ' ' && c < 0x7f && c != ':' && c != ','), "cache.tag-headers",
            "\"" + h + "\"", "a list of header field names");
      }
    }
  }

  /**
   * The RAM tier ({@code cache.ram-size}, {@code cache.ram-max-object-size}): bodies of hit entries up to
   * {@code maxObjectBytes} are kept in the heap, bounded by {@code sizeBytes} in total, and written behind
   * their head in one write instead of a head write plus a sendfile. {@code sizeBytes} zero turns it off.
   */
  public record Ram(long sizeBytes, long maxObjectBytes) {
    /** 16 MiB of bodies of at most 16 KiB each (1,000 to 16,000 objects). */
    public static final Ram DEFAULT = new Ram(16L << 20, 16L << 10);

    public Ram {
      check(sizeBytes >= 0, "cache.ram-size", sizeBytes, ">= 0 (0 = off)");
      check(maxObjectBytes >= 0 && maxObjectBytes <= Integer.MAX_VALUE, "cache.ram-max-object-size", maxObjectBytes,
          "0..2GiB");
    }

    /** Whether a body of {@code length} bytes may be kept. */
    public boolean admits(long length) {
      return sizeBytes > 0 && length > 0 && length <= maxObjectBytes && length <= sizeBytes;
    }
  }

  /**
   * The heap the cache index may take ({@code cache.index-heap}): a share of the JVM's maximum heap
   * ({@code percent}, e.g. {@code 25%}) or a size ({@code bytes}); exactly one is non-zero. Entries are
   * evicted to stay inside it, so the number of cached objects can never exhaust the heap.
   */
  public record IndexHeap(int percent, long bytes) {
    /** The default share of the maximum heap. */
    public static final int DEFAULT_PERCENT = 25;
    /** The largest share: the rest of the proxy needs heap too. */
    public static final int MAX_PERCENT = 90;
    static final String EXPECTED = "a share of the maximum heap 1%.." + MAX_PERCENT + "%, e.g. 25%, or a size, e.g. 64MiB";

    public IndexHeap {
      check((percent > 0) != (bytes > 0) && percent >= 0 && bytes >= 0, "cache.index-heap",
          percent > 0 ? percent + "%" : bytes, EXPECTED);
      check(percent <= MAX_PERCENT, "cache.index-heap", percent + "%", EXPECTED);
    }

    public static IndexHeap percent(int percent) {
      return new IndexHeap(percent, 0);
    }

    public static IndexHeap bytes(long bytes) {
      return new IndexHeap(0, bytes);
    }

    /**
     * The budget in bytes for a JVM whose maximum heap is {@code maxMemory}: the share, or the size
     * but never more than {@value #MAX_PERCENT}% of the heap (more could not be used without an
     * OutOfMemoryError elsewhere), and at least 1 MiB.
     */
    public long resolve(long maxMemory) {
      long max = maxMemory / 100 * MAX_PERCENT;
      long b = percent > 0 ? maxMemory / 100 * percent : Math.min(bytes, max);
      return Math.max(1L << 20, b);
    }

    @Override
    public String toString() {
      return percent > 0 ? percent + "%" : Units.formatSize(bytes);
    }
  }

  /**
   * How bodies are moved: sendfile for hits, splice for pass-through, or copies everywhere.
   *
   * <p>{@code spliceMinBytes} zero means splice every body; {@code nativeTransport} uses epoll when
   * available, else NIO. {@code frontHits} answers plain HTTP/1.1 GET hits from the RAM tier (or an open cache file) before Vert.x
   * makes a request of them. A hit's body of {@code largeSendBufferFromBytes} or more sent by sendfile raises its
   * client connection's {@code SO_SNDBUF} to {@code largeSendBufferBytes} while it is written, on at most
   * {@code largeSendBufferConnections} connections at once; zero bytes or connections means never. A file hit whose
   * body is shorter than {@code corkHitsBelowBytes} is written with {@code TCP_CORK} set around its head and body (on
   * epoll), so that the head leaves in the body's first segment; zero means never. So is one whose body is
   * {@code corkHitsFromBytes} or more, for the whole body (full segments only); zero means never.
   */
  public record Transfer(
      boolean sendfile, boolean splice, long spliceMinBytes, boolean nativeTransport,
      boolean websocket, java.util.List<Integer> connectPorts, boolean frontHits,
      int largeSendBufferBytes, long largeSendBufferFromBytes, int largeSendBufferConnections, long corkHitsBelowBytes,
      long corkHitsFromBytes) {

    static final Transfer DEFAULT = new Transfer(true, true, 512 * 1024, true, true, java.util.List.of(), true,
        4 << 20, 4L << 20, 32, 0, 4L << 20);

    public Transfer {
      check(spliceMinBytes >= 0, "transfer.splice-min-size", spliceMinBytes, ">= 0");
      check(largeSendBufferBytes >= 0, "transfer.large-send-buffer", largeSendBufferBytes, ">= 0, 0 = off");
      check(largeSendBufferFromBytes > 0, "transfer.large-send-buffer-from", largeSendBufferFromBytes, "> 0");
      check(largeSendBufferConnections >= 0, "transfer.large-send-buffer-connections", largeSendBufferConnections,
          ">= 0, 0 = off");
      check(corkHitsBelowBytes >= 0, "transfer.cork-hits-below", corkHitsBelowBytes, ">= 0, 0 = never");
      check(corkHitsFromBytes >= 0, "transfer.cork-hits-from", corkHitsFromBytes, ">= 0, 0 = never");
      requireNonNull(connectPorts, "transfer.connect-ports");
      connectPorts = java.util.List.copyOf(connectPorts);
      for (int p : connectPorts) {
        check(p > 0 && p < 65536, "transfer.connect-ports", p, "ports 1..65535");
      }
    }

    /** The transfer settings with the default large-body send buffer. */
    public Transfer(boolean sendfile, boolean splice, long spliceMinBytes, boolean nativeTransport, boolean websocket,
        java.util.List<Integer> connectPorts, boolean frontHits) {
      this(sendfile, splice, spliceMinBytes, nativeTransport, websocket, connectPorts, frontHits,
          DEFAULT.largeSendBufferBytes, DEFAULT.largeSendBufferFromBytes, DEFAULT.largeSendBufferConnections,
          DEFAULT.corkHitsBelowBytes, DEFAULT.corkHitsFromBytes);
    }

    /** The transfer settings with plain GET hits from RAM answered in front of Vert.x. */
    public Transfer(boolean sendfile, boolean splice, long spliceMinBytes, boolean nativeTransport, boolean websocket,
        java.util.List<Integer> connectPorts) {
      this(sendfile, splice, spliceMinBytes, nativeTransport, websocket, connectPorts, true);
    }

    /** The transfer settings without tunnels' knobs, for tests and tools. */
    public Transfer(boolean sendfile, boolean splice, long spliceMinBytes, boolean nativeTransport) {
      this(sendfile, splice, spliceMinBytes, nativeTransport, true, java.util.List.of());
    }
  }

  /**
   * The separate admin listener (health, stats, purge); disabled when {@code enabled} is false.
   *
   * <p>{@code token} is the bearer token every mutating admin request must carry; {@code ""} means none
   * (then mutating requests are refused). It is never printed: {@link #toString()} redacts it.
   */
  public record Admin(boolean enabled, HostPort address, String token) {

    /** The shortest token accepted: guessing 16 random characters over the network is hopeless. */
    public static final int MIN_TOKEN_LENGTH = 16;

    static final Admin DEFAULT = new Admin(true, new HostPort("127.0.0.1", 8079), "");

    public Admin {
      requireNonNull(address, "admin.address");
      requireNonNull(token, "admin.token");
      // The value is not echoed: it may be (almost) the secret itself.
      check(token.isEmpty() || token.chars().allMatch(c -> c > 0x20 && c < 0x7f), "admin.token", "(value not shown)",
          "printable ASCII without spaces, e.g. the output of `openssl rand -hex 32`");
      check(token.isEmpty() || token.length() >= MIN_TOKEN_LENGTH, "admin.token",
          "(value not shown, " + token.length() + " characters)", "at least " + MIN_TOKEN_LENGTH + " characters, or \"\" for none");
    }

    /** The listener without a token. */
    public Admin(boolean enabled, HostPort address) {
      this(enabled, address, "");
    }

    /** Whether mutating requests can be authorised at all. */
    public boolean hasToken() {
      return !token.isEmpty();
    }

    @Override
    public String toString() {
      return "Admin[enabled=" + enabled + ", address=" + address + ", token=" + (token.isEmpty() ? "none" : "(set)") + "]";
    }
  }

  /**
   * Access log and log level.
   *
   * <p>{@code accessLog} is {@code stdout}, {@code off} or a file path; {@code level} is one of
   * {@link #LEVELS}; {@code accessLogFormat} is one of {@link #ACCESS_LOG_FORMATS}; {@code clusterLevel}
   * (one of {@link #LEVELS}) is Hazelcast's level, which logs every connection and partition move at info.
   */
  public record Logging(String accessLog, String level, boolean xCacheHeader, String accessLogFormat, String clusterLevel) {

    /** The accepted values of {@code logging.level}, quietest first. */
    public static final List<String> LEVELS = List.of("error", "warn", "info", "debug", "trace");

    /** The accepted values of {@code logging.access-log-format}: a text line or a JSON object per request. */
    public static final List<String> ACCESS_LOG_FORMATS = List.of("text", "json");

    static final Logging DEFAULT = new Logging("stdout", "info", true, "text", "warn");

    /** Hazelcast at {@code warn}. */
    public Logging(String accessLog, String level, boolean xCacheHeader, String accessLogFormat) {
      this(accessLog, level, xCacheHeader, accessLogFormat, "warn");
    }

    /** Text access lines. */
    public Logging(String accessLog, String level, boolean xCacheHeader) {
      this(accessLog, level, xCacheHeader, "text");
    }

    public Logging {
      requireNonNull(accessLog, "logging.access-log");
      requireNonNull(level, "logging.level");
      requireNonNull(accessLogFormat, "logging.access-log-format");
      requireNonNull(clusterLevel, "logging.cluster-level");
      check(LEVELS.contains(clusterLevel), "logging.cluster-level", clusterLevel, "one of " + String.join(", ", LEVELS));
      check(
          ACCESS_LOG_FORMATS.contains(accessLogFormat),
          "logging.access-log-format",
          accessLogFormat,
          "one of " + String.join(", ", ACCESS_LOG_FORMATS));
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

    /** Whether access lines are JSON objects rather than text. */
    public boolean accessLogJson() {
      return accessLogFormat.equals("json");
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
