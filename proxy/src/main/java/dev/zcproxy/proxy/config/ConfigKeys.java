package dev.zcproxy.proxy.config;

import dev.zcproxy.cache.policy.InvalidateMethods;
import dev.zcproxy.cache.policy.SetCookie;
import dev.zcproxy.proxy.config.ConfigLoader.Binder;
import dev.zcproxy.proxy.config.ConfigLoader.Value;
import dev.zcproxy.proxy.config.ProxyConfig.HostPort;
import dev.zcproxy.proxy.config.ProxyConfig.IndexHeap;
import dev.zcproxy.proxy.config.ProxyConfig.ListenTls;
import dev.zcproxy.proxy.config.ProxyConfig.OriginTls;
import dev.zcproxy.proxy.config.ProxyConfig.OriginUrl;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.RecordComponent;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * Every key of the config file, declared once: its YAML name, the {@link ProxyConfig} record component
 * it binds to, its type (how it is read and how its default is printed), its one-line comment, and its
 * command-line flag or environment variable if it has one.
 *
 * <p>Everything else is derived from these declarations: the key table that rejects unknown keys (with
 * "did you mean"), the binding into the records (by record component name, so a record's constructor
 * order does not matter), the defaults (read from {@link ProxyConfig#defaults()}), the command-line
 * flags and {@code --help}, and the reference file {@code conf/proxy.yaml} ({@link #reference()}; {@code
 * ConfFilesTest} fails when the file differs from it).
 *
 * <h2>Adding a key</h2>
 *
 * <ol>
 *   <li>Add the component to the section's record in {@link ProxyConfig}, its default to that record's
 *       {@code DEFAULT}, and its check to the compact constructor (messages {@code "cache.key: value
 *       (expected: ...)"}). Keep the previous canonical constructor as an overload for callers.
 *   <li>Add one {@code key(...)} line to the section below, at the place it should have in {@code
 *       conf/proxy.yaml}: {@code key("yaml-name", "recordComponent", TYPE, "one-line comment")}; add
 *       {@code .flag(...)} for a command-line option, {@code .env(...)} for an environment variable, {@code
 *       .comment(...)} for a paragraph above the key. A key of a nested record names the component path,
 *       e.g. {@code "ram.sizeBytes"}. If no {@code Type} below reads the value, add one (a {@code Binder}
 *       method and a printer).
 *   <li>Regenerate the reference file: {@code mvn -B -o verify -pl proxy -am -Dtest=ConfFilesTest
 *       -Dsurefire.failIfNoSpecifiedTests=false -DskipITs -Dzcproxy.writeReference=true}.
 * </ol>
 *
 * <p>A new section is one {@code section(...)} entry whose name is the {@link ProxyConfig} component it
 * binds. {@code ConfigKeysTest} fails when a record component has no key.
 */
final class ConfigKeys {

  /** Reads a key's value from the flat key map, or returns {@code dflt} when the key is not set. */
  @FunctionalInterface
  interface Read<T> {
    T read(Binder b, String path, T dflt);
  }

  /** How a key's value is read ({@code null}: by its parent key's type) and how its default is printed. */
  record Type<T>(Read<T> read, Function<T, String> print) {
    @SuppressWarnings("unchecked")
    Object readAny(Binder b, String path, Object dflt) {
      return read.read(b, path, (T) dflt);
    }

    @SuppressWarnings("unchecked")
    String printAny(Object value) {
      return print.apply((T) value);
    }
  }

  /**
   * A command-line option that sets its key: {@code --name METAVAR}; {@code expected} goes into the
   * "missing value" error; {@code sets} maps the value to the key paths it sets ({@code null}: its key).
   */
  record Flag(String name, String metavar, String expected, String help,
      Function<String, Map<String, String>> sets) {}

  /** An environment variable that wins over the file's value of its key (when not empty). */
  record Env(String name, String help) {}

  /** One key: see the class comment. {@code comment} is a paragraph printed above it in the reference. */
  record Key(String name, String component, Type<?> type, String doc, String comment, List<Key> children, Flag flag,
      Env env) {
    Key flag(String flag, String metavar, String expected, String help) {
      return new Key(name, component, type, doc, comment, children, new Flag(flag, metavar, expected, help, null),
          env);
    }

    Key flag(String flag, String metavar, String expected, String help, Function<String, Map<String, String>> sets) {
      return new Key(name, component, type, doc, comment, children, new Flag(flag, metavar, expected, help, sets),
          env);
    }

    Key env(String variable, String help) {
      return new Key(name, component, type, doc, comment, children, flag, new Env(variable, help));
    }

    Key comment(String paragraph) {
      return new Key(name, component, type, doc, paragraph, children, flag, env);
    }

    Key children(Key... keys) {
      return new Key(name, component, type, doc, comment, List.of(keys), flag, env);
    }
  }

  /** A section of the file: {@code name} is also the {@link ProxyConfig} component it binds. */
  record Section(String name, String comment, List<Key> keys) {}

  private static Key key(String name, String component, Type<?> type, String doc) {
    return new Key(name, component, type, doc, null, List.of(), null, null);
  }

  private static Section section(String name, String comment, Key... keys) {
    return new Section(name, comment, List.of(keys));
  }

  // ---- types -----------------------------------------------------------------------------------

  static final Type<Boolean> BOOL = new Type<>(Binder::bool, String::valueOf);
  static final Type<Long> SIZE = new Type<>(Binder::size, Units::formatSize);
  static final Type<Integer> INT_SIZE = new Type<>(Binder::intSize, n -> Units.formatSize(n));
  static final Type<Duration> DURATION = new Type<>(Binder::duration, Units::formatDuration);
  static final Type<Double> FRACTION = new Type<>(Binder::fraction, String::valueOf);
  static final Type<Path> PATH = new Type<>(Binder::path, Path::toString);
  static final Type<HostPort> HOST_PORT = new Type<>(Binder::hostPort, HostPort::toString);
  /** A {@code HOST:PORT} or {@code ""} for none ({@code null}). */
  static final Type<HostPort> OPTIONAL_HOST_PORT =
      new Type<>((b, p, d) -> b.optionalHostPort(p), h -> h == null ? "\"\"" : h.toString());
  static final Type<OriginUrl> ORIGIN_URL = new Type<>(Binder::originUrl, OriginUrl::toString);
  static final Type<IndexHeap> INDEX_HEAP = new Type<>(Binder::indexHeap, IndexHeap::toString);
  static final Type<SetCookie> SET_COOKIE =
      new Type<>(Binder::setCookie, s -> s.name().toLowerCase(Locale.ROOT));
  static final Type<InvalidateMethods> INVALIDATE_METHODS =
      new Type<>(Binder::invalidateMethods, m -> m.name().toLowerCase(Locale.ROOT).replace('_', '-'));
  static final Type<String> LEVEL = new Type<>(Binder::level, s -> s);
  static final Type<String> ACCESS_LOG_FORMAT = new Type<>(Binder::accessLogFormat, s -> s);
  static final Type<List<Integer>> PORTS = new Type<>(Binder::ports, ConfigKeys::list);
  static final Type<ListenTls> LISTEN_TLS = new Type<>((b, p, d) -> b.tls().listen(b.node(p)), null);
  static final Type<OriginTls> ORIGIN_TLS = new Type<>((b, p, d) -> b.tls().origin(b.node(p)), null);
  /** A nested list read by its parent key's type. */
  static final Type<List<?>> NESTED_LIST = new Type<>(null, ConfigKeys::list);
  static final Type<Duration> NESTED_DURATION = new Type<>(null, Units::formatDuration);
  static final Type<Boolean> NESTED_BOOL = new Type<>(null, String::valueOf);
  static final Type<String> NESTED_STRING = new Type<>(null, ConfigKeys::scalar);
  static final Type<Path> NESTED_OPTIONAL_PATH = new Type<>(null, p -> p == null ? "\"\"" : p.toString());

  static Type<Integer> integer(String range) {
    return new Type<>((b, p, d) -> b.integer(p, d, range), String::valueOf);
  }

  static Type<String> string(String expected) {
    return new Type<>((b, p, d) -> b.string(p, d, expected), ConfigKeys::scalar);
  }

  static Type<List<String>> strings(String expected) {
    return new Type<>((b, p, d) -> b.strings(p, d, expected), ConfigKeys::list);
  }

  /** A top-level key bound by {@link SitesLoader}, printed as {@code text}. */
  static Type<Object> sitesKey(String text) {
    return new Type<>(null, v -> text);
  }

  private static String scalar(String s) {
    return s.isEmpty() ? "\"\"" : s;
  }

  private static String list(List<?> items) {
    List<String> out = new ArrayList<>();
    items.forEach(i -> out.add(String.valueOf(i)));
    return "[" + String.join(", ", out) + "]";
  }

  private static final String HEADERS = "a list of header field names, or [] for none";

  // ---- the declarations, in the order of conf/proxy.yaml -----------------------------------------

  static final String HEADER =
      """
      zcproxy reference configuration.

      Every key is listed with its default value and a one-line comment, so this file doubles as
      documentation (in the spirit of Caffeine's reference.conf). Running
        java -jar zcproxy.jar --config conf/proxy.yaml
      is the same as running with no config at all: it serves 127.0.0.1:8080 from http://127.0.0.1:8081.
      Copy only the keys you change; anything left out takes the default shown here.
      This file is generated from ConfigKeys.java (the one declaration of every key); edit that instead.

      Syntax:
        sizes      a number with a 1024-based unit: 100B, 64KiB, 512MiB, 10GiB, 1TiB, or nginx's 16k, 512m,
                   10g (also 1024-based); a plain number is bytes. 10GB or 16kB are rejected as ambiguous.
        durations  250ms, 30s, 5m, 1h, 1d, or combined like 1h30m; 0 alone means zero (often "off").
        addresses  HOST:PORT, [::1]:PORT for IPv6, :PORT for all interfaces; port 0 picks a free port.
      Unknown keys are an error, so a typo fails at startup instead of being silently ignored.
      Command-line flags (--listen, --origin, --cache-dir, ...: see --help) override this file.

      Zero-copy note: hits are served with sendfile(2) and pass-through bodies with splice(2) on plain
      HTTP/1.1 only. Over TLS (listen.tls) and over HTTP/2 sendfile is disabled for those connections,
      because the kernel can no longer copy file bytes straight to the socket (TLS encrypts in user space,
      HTTP/2 frames the body); such responses are copied and counted as copy-tls / copy-h2. zcproxy offers
      no compression to clients (compression would disable sendfile for the same reason).
      """;

  static final List<Section> SECTIONS = List.of(
      section("listen",
          """
          Client-facing HTTP listener.

          Request framing: zcproxy reads every request body in full (chunked or Content-Length) before it
          contacts the origin, and sends it with its own Content-Length; the client's framing never reaches the
          origin. Requests whose framing RFC 9112 calls unsafe (Transfer-Encoding on HTTP/1.0, both
          Content-Length and Transfer-Encoding, a coding other than chunked, bad chunk sizes, obs-fold, two
          or invalid Host fields) get 400/501 and the connection is closed.

          Unkeyed request headers: the cache key is the method-independent URL (plus the response's Vary). A
          request header the origin uses to build its response but that is neither in the key nor in Vary
          (X-Forwarded-Host, X-Original-URL, X-HTTP-Method-Override, a custom debug header...) lets one client
          store a response every other client then gets: the classic cache-poisoning vector. zcproxy replaces
          X-Forwarded-For/-Host/-Proto/-Port and Forwarded with its own values unless the client is in
          trusted-proxies. For any other such header either make the origin send it in Vary, or list it in
          origin.strip-request-headers so it never reaches the origin.""",
          key("address", "address", HOST_PORT, "where clients connect")
              .flag("--listen", "HOST:PORT", ConfigLoader.HOST_PORT_EXPECTED,
                  "client listener, e.g. 127.0.0.1:8080, [::1]:8080, :8080 (all interfaces)"),
          key("max-header-size", "maxHeaderBytes", INT_SIZE, "total request header size; larger requests get 431"),
          key("max-initial-line", "maxInitialLineBytes", INT_SIZE,
              "request line (method, target, version); longer gets 414"),
          key("idle-timeout", "idleTimeout", DURATION, "close an idle client connection after this; 0 = never"),
          key("event-loops", "eventLoops", integer(">= 0, 0 = one per core"),
              "event-loop threads; 0 = one per available core"),
          key("send-buffer", "sendBufferBytes", INT_SIZE,
              "SO_SNDBUF of client connections; 0 = the kernel autotunes it (up to net.ipv4.tcp_wmem's max)")
              .comment("""
                  A fixed send buffer larger than the kernel's autotuning reaches lets one sendfile or splice move more
                  per wake-up: 4MiB (the kernel doubles it, to at most 2 x net.core.wmem_max) halved the sendfile calls
                  and wake-ups per GB of 16 MiB hits at 16 connections on loopback. Every client connection can then
                  queue that much in the kernel, and at 128 connections of 100 MiB bodies it ran into the kernel's TCP
                  memory pressure (most sendfile calls returned EAGAIN, fewer MB/s): keep 0 unless a few large
                  downloads are the load (loadtest/results/LARGE-2026-12-02c.md)."""),
          key("shutdown-grace", "shutdownGrace", DURATION,
              "on SIGTERM, in-flight requests may finish this long; 0 = none"),
          key("drain-time", "drainTime", DURATION,
              "on SIGTERM, first serve this long with /health 503 \"draining\" (set > LB check interval x fall); "
                  + "0 = stop at once"),
          key("max-connections", "maxConnections", integer("> 0"),
              "most open client connections, at most half of ulimit -n (the rest: cache files, origin connections); more wait to be accepted"),
          key("request-head-timeout", "requestHeadTimeout", DURATION,
              "a client must send a complete request head within this (slowloris); 0 = off"),
          key("trusted-proxies", "trustedProxies",
              strings("a list of addresses or CIDR blocks, e.g. [10.0.0.0/8], or [] for none"),
              "CIDRs whose X-Forwarded-*/Forwarded are kept (XFF appended); others' are replaced"),
          key("max-body-size", "maxBodyBytes", SIZE, "request bodies larger than this get 413"),
          key("body-buffer-size", "bodyBufferBytes", SIZE,
              "request body bytes held in memory per request; beyond, a temp file"),
          key("body-buffer-total", "bodyBufferTotalBytes", SIZE,
              "request body bytes held in memory by all requests together; beyond, temp files"),
          key("body-timeout", "bodyTimeout", DURATION, "408 when a request body sends no byte for this long"),
          key("body-temp-dir", "bodyTempDir", PATH,
              "temp files of request bodies, deleted when the request ends (and at start)"),
          key("http2", "http2", BOOL, "HTTP/2 by ALPN h2 on the TLS listener"),
          key("http2-cleartext", "http2Cleartext", BOOL,
              "also HTTP/2 with prior knowledge (h2c, curl --http2-prior-knowledge) on plain listeners; never by Upgrade: h2c"),
          key("plain-address", "plainAddress", OPTIONAL_HOST_PORT,
              "with tls: a second, plain-HTTP listener (nginx's \"listen 80\" beside \"listen 443 ssl\"); \"\" = none"),
          key("tls", "tls", LISTEN_TLS, "")
              .comment("TLS to clients: with certificates, listen.address speaks TLS (like nginx's \"listen 443 ssl\").")
              .children(
                  key("certificates", "certificates", NESTED_LIST,
                      "[{cert: FILE, key: FILE}, ...] PEM chain + key; [] = plain HTTP; several = chosen by SNI "
                          + "(first = default)"),
                  key("protocols", "protocols", NESTED_LIST, "enabled TLS versions (TLSv1.3, TLSv1.2)"),
                  key("ciphers", "ciphers", NESTED_LIST,
                      "JDK cipher-suite names; [] = Mozilla \"intermediate\": TLS 1.3 AEADs, ECDHE + AES-GCM/ChaCha20"),
                  key("reload-check", "reloadCheck", NESTED_DURATION,
                      "re-read the cert/key files this often and serve new ones without restart; 0 = only on reload"),
                  key("handshake-timeout", "handshakeTimeout", NESTED_DURATION,
                      "close a client whose TLS handshake is not done within this"),
                  key("provider", "provider", NESTED_STRING,
                      "TLS engine: auto = openssl where it loads, else jdk; openssl = BoringSSL from netty-tcnative "
                          + "(Linux x86-64; fails at start if it cannot load; measured faster); jdk = the JDK's"))),
      section("origin",
          "The single origin every request is forwarded to.",
          key("url", "url", ORIGIN_URL, "http:// or https://, host and optional port; no path")
              .flag("--origin", "URL", ConfigLoader.URL_EXPECTED, "origin, http://HOST[:PORT] or https://HOST[:PORT], no path"),
          key("connect-timeout", "connectTimeout", DURATION, "give up connecting to the origin after this"),
          key("first-byte-timeout", "firstByteTimeout", DURATION,
              "wait this long for the origin's response headers (then 504)"),
          key("idle-timeout", "idleTimeout", DURATION, "abort an origin response that stalls this long; 0 = never"),
          key("max-connections", "maxConnections", integer("> 0"),
              "most connections to the origin per event loop (one pool a loop, front passes' included): total = this x listen.event-loops"),
          key("keep-alive-timeout", "keepAliveTimeout", DURATION,
              "close pooled idle origin connections after this; 0 = never"),
          key("preserve-host", "preserveHost", BOOL, "send the client's Host (like Varnish); false = the url's host"),
          key("strip-request-headers", "stripRequestHeaders", strings(HEADERS),
              "request fields never sent to the origin, e.g. [X-Original-URL, X-Rewrite-URL]"),
          key("tls", "tls", ORIGIN_TLS, "")
              .comment("TLS to https:// origins (ignored for http://).")
              .children(
                  key("verify", "verify", NESTED_BOOL,
                      "verify the origin's certificate chain and host name; false only on networks you trust"),
                  key("ca-file", "caFile", NESTED_OPTIONAL_PATH,
                      "PEM bundle of CAs to trust instead of the JVM's; \"\" = the JVM's trust store"),
                  key("sni", "sni", NESTED_STRING, "server name sent and verified; \"\" = the host of origin.url"),
                  key("cert", "cert", NESTED_OPTIONAL_PATH,
                      "client certificate (PEM chain) for origins that ask for one; \"\" = none"),
                  key("key", "key", NESTED_OPTIONAL_PATH, "its private key (PEM); set with cert"))),
      section("cache",
          "The on-disk cache and its RFC 9111 policy.",
          key("enabled", "enabled", BOOL, "false = pure reverse proxy, nothing is stored"),
          key("dir", "dir", PATH, "cache directory, relative to the working directory")
              .flag("--cache-dir", "DIR", "DIR", "cache directory"),
          key("max-size", "maxSizeBytes", SIZE,
              "total size of stored bodies; over it Caffeine's W-TinyLFU evicts the least often used of recent "
                  + "objects (a new, rarely used one may go first)")
              .flag("--cache-size", "SIZE", Units.SIZE_EXPECTED, "cache size limit, e.g. 10GiB or 10g (units B, KiB, MiB, GiB, TiB, k, m, g)"),
          key("index-heap", "indexHeap", INDEX_HEAP,
              "heap the index may take (share of -Xmx, or a size e.g. 64MiB); ~165 B per object: bin/zcproxy's -Xmx768m "
                  + "holds ~1.2 million; the index is also saved to dir/index.snapshot (every 5 min while it changes, "
                  + "and at stop) so a restart need not read every file"),
          key("max-object-size", "maxObjectBytes", SIZE, "responses larger than this are passed through, not stored"),
          key("fsync", "fsync", BOOL, "fsync each stored object before it becomes visible (slower)"),
          key("min-free", "minFreeBytes", SIZE,
              "free space kept on the cache's file system: evict (or pass through) rather than go below"),
          key("heuristic-fraction", "heuristicFraction", FRACTION,
              "no explicit freshness: fresh for this share of Last-Modified age"),
          key("heuristic-max", "heuristicMax", DURATION,
              "cap on heuristic freshness; 0 = no heuristic freshness at all"),
          key("keep", "keep", DURATION,
              "keep stale objects this long to revalidate them or serve them on max-stale; 0 = off"),
          key("cdn-cache-control", "cdnCacheControl", BOOL, "honour CDN-Cache-Control (RFC 9213) over Cache-Control"),
          key("surrogate-control", "surrogateControl", BOOL,
              "honour Surrogate-Control max-age/no-store over Cache-Control"),
          key("max-variants", "maxVariants", integer(">= 1"), "most Vary variants stored per URL"),
          key("coalesce", "coalesce", BOOL, "one origin fetch for concurrent misses on the same key"),
          key("hit-for-pass", "hitForPass", DURATION,
              "remember uncacheable URLs this long, pass them directly; 0 = off"),
          key("set-cookie", "setCookie", SET_COOKIE,
              "pass = not stored; strip = stored without Set-Cookie (the fetching client keeps its cookie); "
                  + "store = stored and shared")
              .comment(
                  """
                  A response that sets a cookie was made for one client. RFC 9111 lets a shared cache store it, but
                  then every client gets that cookie (someone's session); nginx and Varnish do not cache such
                  responses by default, and neither does zcproxy. An origin that marks the field
                  Cache-Control: private="Set-Cookie" (or no-cache="Set-Cookie") is cached without it in every mode."""),
          key("invalidate-methods", "invalidateMethods", INVALIDATE_METHODS,
              "standard = POST, PUT, DELETE, PATCH; any-unsafe = every method but GET, HEAD, OPTIONS, TRACE (RFC 9111 §4.4)")
              .comment("""
                  Which request methods evict the target URI (and its same-origin Location/Content-Location) when the
                  origin answers them 2xx/3xx (RFC 9111 §4.4). RFC 9111 asks for every unsafe method, including
                  unknown ones; but then any client of the data port can evict any URL with PURGE or a made-up
                  method the origin happens to answer 2xx (purging belongs to the admin listener), so by default only
                  the standard unsafe methods do, as in nginx and Varnish."""),
          key("key-headers", "keyHeaders", strings(HEADERS),
              "request fields added to the cache key (appended to Vary), e.g. [X-Forwarded-Host]"),
          key("tag-headers", "tagHeaders", strings(HEADERS),
              "response fields whose space/comma-separated values tag entries for POST /purge?tag= "
                  + "(32 tags per entry); [] = off"),
          key("strip-tag-headers", "stripTagHeaders", BOOL, "remove the tag-headers from responses to clients"),
          key("ram-size", "ram.sizeBytes", SIZE,
              "RAM tier: memory for bodies of small hot objects (direct memory off the heap when it leaves Netty "
                  + "32 MiB under -XX:MaxDirectMemorySize, else heap; each weighed with its encoded head and the index "
                  + "meta it pins, ~1.4 KB beside the body), written with their head in one write instead of "
                  + "head + sendfile; 0 = off"),
          key("ram-max-object-size", "ram.maxObjectBytes", SIZE,
              "largest body the RAM tier keeps; larger hits use sendfile")),
      section("transfer",
          "How bodies are moved between sockets and files.",
          key("sendfile", "sendfile", BOOL,
              "serve cache hits with sendfile(2) (zero-copy; a body of at most 16 KiB is read and sent with its head in one write)"),
          key("splice", "splice", BOOL, "relay uncached bodies with splice(2) when on epoll"),
          key("splice-min-size", "spliceMinBytes", SIZE,
              "smaller bodies are copied (a spliced pass keeps its origin connection; copy vs splice: "
                  + "loadtest/results/BULK-2026-12-03e.md); 0 = splice all"),
          key("native-transport", "nativeTransport", BOOL,
              "use epoll when available, else NIO (the reason is logged)"),
          key("websocket", "websocket", BOOL,
              "tunnel WebSocket/Upgrade requests to a server of the site's pool (spliced both ways)"),
          key("connect-ports", "connectPorts", PORTS,
              "CONNECT to the origin host (with sites: a site's host) on these ports, e.g. [443]; [] = CONNECT off"),
          key("front-hits", "frontHits", BOOL,
              "answer plain HTTP/1.1 GET hits from the RAM tier (or an already open cache file, with sendfile) before Vert.x builds a request for them (less CPU per hit)"),
          key("large-send-buffer", "largeSendBufferBytes", INT_SIZE,
              "SO_SNDBUF of a client connection while a large hit's body is sent to it by sendfile; 0 = off")
              .comment("""
                  Hits only: a spliced pass's calls are bounded by what the origin socket holds, not by the client's
                  buffer, and passes gained nothing from it (loadtest/results/LARGE-2026-12-03.md). Set back when the
                  body was written: to the size the connection had before (Linux then keeps it at
                  that size instead of autotuning it). Only large-send-buffer-connections connections hold a raised
                  buffer at once, so the kernel memory it adds is at most that many x 2 x large-send-buffer (the kernel
                  doubles it, capped at 2 x net.core.wmem_max), and none is raised while the kernel's TCP memory in use
                  plus the raise would pass net.ipv4.tcp_mem's first threshold; a body that finds no room goes with the
                  buffer the connection has. listen.send-buffer, when set, is every connection's size from the start."""),
          key("large-send-buffer-from", "largeSendBufferFromBytes", SIZE,
              "hit bodies of this size and more raise the send buffer (a smaller one fits the autotuned buffer: one sendfile call)"),
          key("large-send-buffer-connections", "largeSendBufferConnections", integer(">= 0, 0 = off"),
              "most client connections with a raised send buffer at once"),
          key("cork-hits-below", "corkHitsBelowBytes", SIZE,
              "file hits with a shorter body are sent corked (TCP_CORK, epoll only), the head in the body's first segment; 0 = never")
              .comment("""
                  As nginx's tcp_nopush: with the head in a segment of its own, a 256 KiB hit makes the client send
                  10-13 ACKs instead of 2 (loadtest/results/LARGE-2026-12-03.md). Off by default: on a quiet machine
                  corked 256 KiB hits moved 1.02-1.19x the MB/s but cost the proxy 1.3-1.8x the CPU per GB, and the
                  whole machine (client included) 0.98-1.12x (loadtest/results/QUIET-2026-12-03.md). Costs two
                  setsockopt per corked hit; 1MiB corks the bodies that gain most."""),
          key("cork-hits-from", "corkHitsFromBytes", SIZE,
              "file hits with a body of this size or more are sent corked (TCP_CORK, epoll only) until the body was written: full segments only; 0 = never")
              .comment("""
                  As nginx's tcp_nopush, which stays set for a whole sendfile body: on loopback a 16 MiB hit is
                  limited by the client's receive window; uncorked, our bytes leave from inside the client's ACK
                  processing as soon as its window opens, its kernel measures a 10-40 us RTT and keeps its buffer
                  small; corked, wrk's receive buffers autotuned 6-20x larger, it sent 0.6-0.75x the ACKs and read
                  1.14-1.3x the bytes. A large body is corked only while at most 32 open connections of the listener
                  read large bodies: at 128 connections the cork moved no more bytes and cost 1.2-1.7x nginx's CPU
                  per GB. 1MiB: 1 MiB hits at 16 connections moved 1.33x the bytes (1.11x nginx's) but the proxy's
                  CPU per GB rose 4.2x, to 1.08x nginx's, as the client's TCP input then runs in our sendfile. Costs
                  two setsockopt per corked hit (loadtest/results/LARGE-2026-12-03g.md, LARGE-2026-12-04a.md).
                  Hits from 1 MiB up to this size are corked for a connection's first 16 MiB of them only (not when
                  0): the client's kernel never shrinks the buffer the cork grew, so it stays large uncorked; 1 MiB
                  hits at 16 connections moved 1.17x main's bytes at 0.27 s of proxy CPU per GB where corking all
                  of them cost 0.43 s (LARGE-2026-12-04b.md).""")),
      section("admin",
          """
          Separate listener for health, stats and purge. Keep it off public interfaces.
          GET /health, /stats, /metrics and /bans are open; every other request (POST /purge, /ban, PURGE ...) needs
          "Authorization: Bearer <token>", and requests a browser marks as cross-origin are refused (403).
          At most 256 admin connections are open at once (more wait to be accepted); each must send its request head within
          listen.request-head-timeout (else 408 and close), and one idle for 60 s is closed.""",
          key("enabled", "enabled", BOOL, "false = no admin listener"),
          key("address", "address", HOST_PORT, "where the admin endpoints listen")
              .flag("--admin", "HOST:PORT", ConfigLoader.HOST_PORT_EXPECTED,
                  "admin listener address, or \"off\" to disable it",
                  v -> v.equals("off")
                      ? Map.of("admin.enabled", "false")
                      : ordered("admin.enabled", "true", "admin.address", v)),
          key("token", "token",
              string("a token of at least " + ProxyConfig.Admin.MIN_TOKEN_LENGTH + " characters, or \"\" for none"),
              "bearer token for purge (>= 16 chars); \"\" = purge refused; env ZCPROXY_ADMIN_TOKEN wins")
              .env(ConfigLoader.ADMIN_TOKEN_ENV, "the admin bearer token")),
      section("logging",
          "Logging; the log format itself is in conf/logback.xml.",
          key("access-log", "accessLog", string("stdout, off or a file path"),
              "stdout, off, or a file path (reopened on SIGUSR1, for logrotate)")
              .flag("--access-log", "WHERE", "stdout, off or a file path", "stdout, off, or a file path"),
          key("access-log-format", "accessLogFormat", ACCESS_LOG_FORMAT,
              "text (one space-separated line) or json (one JSON object per line)"),
          key("level", "level", LEVEL, "error, warn, info, debug or trace"),
          key("x-cache-header", "xCacheHeader", BOOL,
              "add an X-Cache header (hit, miss or pass, and why) to responses"),
          key("cluster-level", "clusterLevel", LEVEL,
              "Hazelcast's log level (with cluster.enabled); info logs every connection and partition move")),
      section("cluster",
          """
          Several nodes sharing one cache (README "Running a cluster"). Each cache key has one owner node
          (rendezvous hashing over the live members); a miss for a key another node owns is fetched from that
          node over HTTP, so N nodes fetch a cold object from the origin once. Purges, soft purges, tag purges
          and bans sent to any node reach every node on the clustered event bus. Off: no Hazelcast class is loaded.
          Hazelcast has no authentication in its open-source edition: keep port and bus-port on a private network.""",
          key("enabled", "enabled", BOOL, "true = join the cluster (Hazelcast, TCP/IP join, multicast off)"),
          key("name", "name", string("a name"), "cluster name; nodes with another name never join"),
          key("secret", "secret",
              string("a secret of at least " + ProxyConfig.Cluster.MIN_SECRET_LENGTH + " characters"),
              "shared secret (>= 16 chars when enabled), part of the Hazelcast cluster name and signs events; "
                  + "env ZCPROXY_CLUSTER_SECRET wins")
              .env(ConfigLoader.CLUSTER_SECRET_ENV, "the cluster secret"),
          key("port", "port", integer("1..65535"), "this node's Hazelcast member port (--cluster-port)")
              .flag("--cluster-port", "PORT", "a port 1..65535", "this node's Hazelcast port (cluster.port)"),
          key("bus-port", "busPort", integer("0..65535"),
              "the Vert.x clustered event bus port; 0 = any free port"),
          key("advertise", "advertise", string("a host name or address"),
              "address peers reach this node at (Hazelcast, event bus, data port); \"\" = the listen host"),
          key("members", "members", strings("a list of HOST:PORT, e.g. [10.0.0.1:5701, 10.0.0.2:5701]"),
              "Hazelcast HOST:PORT of the nodes to join, e.g. [10.0.0.1:5701, 10.0.0.2:5701] (--cluster-members)")
              .flag("--cluster-members", "HOST:PORT,...", "HOST:PORT[,HOST:PORT...]",
                  "join these cluster members (turns cluster.enabled on)",
                  v -> ordered("cluster.enabled", "true", "cluster.members", v)),
          key("owner-timeout", "ownerTimeout", DURATION,
              "wait this long for the owner node's response head, then fetch from the origin directly"),
          key("failure-timeout", "failureTimeout", DURATION,
              "a member silent this long is dropped and its keys remap to the others"),
          key("local-copy", "localCopy", BOOL,
              "also keep objects owned by other nodes in this node's cache (hot objects served locally)"),
          key("local-copy-entries", "localCopyEntries", integer(">= 1"), "most objects owned elsewhere kept with local-copy"),
          key("ban-retention", "banRetention", DURATION,
              "bans are kept in the cluster this long, re-applied by nodes that were away"),
          key("invalidation-log", "invalidationLog", integer(">= 1"),
              "purges, soft purges and tag purges kept in the cluster (newest), replayed by nodes that were away"),
          key("invalidation-retention", "invalidationRetention", DURATION, "how long each of those is kept"),
          key("handoff-window", "handoffWindow", DURATION,
              "after joining, a miss for a key this node owns first asks the node that held it meanwhile (its cache only); 0 = off")));

  /** The top-level keys after the sections, bound by {@link SitesLoader} into {@link ProxyConfig#sites()}. */
  static final List<Key> TOP_LEVEL = List.of(
      key("sites", "sites", sitesKey("[]"), "")
          .comment(
              """
              Sites: several host names, each with its own origin pool, routes and cache settings.
              [] = the one-site shorthand above: every request goes to origin.url (as --origin does), keyed as before.
              With sites, the cache key of every object carries its site (two sites never share an object), a Host
              no site lists gets 421 Misdirected Request (Cache-Status: ...; detail=unknown-host) unless
              default-site names a site for it, and the origin: section gives every server its timeouts, keep-alive,
              per-event-loop connection bound, preserve-host default and strip-request-headers. Every key of a site,
              with its default (only name and origins are required):

              sites:
                - name: shop                     # a name for metrics, /origins, purge/ban site=NAME and the cache key
                  hosts: [shop.example.com, "*.shop.example.com"]  # exact names, or *.suffix for any subdomain (not the suffix itself); no port
                  origins:                       # the pool: one or more servers, http:// or https:// (verified with the JVM's CAs)
                    - url: http://10.0.0.1:8080
                      weight: 2                  # share of requests 1..1000; default 1
                    - url: http://10.0.0.2:8080  # "- http://10.0.0.2:8080" alone also works
                  balance: round-robin           # round-robin (smooth, weighted) | least-requests (fewest in flight per weight) | consistent-hash (ring on the cache key)
                  health:                        # active checks and passive ejection of this pool's servers
                    path: ""                     # GET this path on every server each interval, e.g. /healthz; "" = no active checks
                    interval: 5s                 # time between two checks of a server
                    timeout: 2s                  # a check with no answer within this fails
                    expect: 200-399              # statuses that pass: 200, 2xx or 200-399
                    rise: 2                      # passed checks in a row that bring a down or ejected server back
                    fall: 3                      # failed checks in a row that take a server down
                    eject-after: 3               # failed requests in a row (connect error, reset, timeout, 5xx) that eject a server; 0 = never (a lone server never is)
                    eject-for: 10s               # how long an ejected server gets no requests; then it must pass rise checks (without checks: it is tried again)
                  retries: 1                     # times an idempotent request (GET HEAD OPTIONS TRACE PUT DELETE) goes to another server after a connect error or a reset before any response byte; never POST/PATCH, never after a byte went to the client
                  max-connections: 0             # requests in flight to this pool at once (one origin connection each); 0 = no limit
                  queue: 100                     # requests that wait for a free slot when max-connections is reached; more get 503 (detail=queue-full)
                  queue-timeout: 5s              # a request that waited this long gets 503 (detail=queue-timeout)
                  cache:                         # this site's cache settings; a key left out takes the cache: section's value
                    enabled: true                # false = every request of the site is passed (Cache-Status: fwd=bypass; detail=cache-disabled)
                    key-headers: []              # request fields added to the cache key, on top of cache.key-headers
                    max-object-size: 1GiB        # responses with a larger body are not stored (default: cache.max-object-size)
                    set-cookie: pass             # pass | strip | store, as cache.set-cookie
                  max-body-size: 0               # largest request body for this site (413 above); 0 = listen.max-body-size
                  preserve-host: true            # send the client's Host to the origin; false = the server's own host:port (default: origin.preserve-host)
                  routes:                        # path prefixes of this site (the longest match wins) with their own pool and cache settings
                    - prefix: /api/              # matched against the request path, e.g. /api/ or /static/
                      origins: [{ url: http://10.0.0.3:9000 }]  # a pool of its own; left out = the site's pool
                      cache: { enabled: false }  # merged over the site's cache settings
                      # balance, health, retries, max-connections, queue, queue-timeout as for a site (default: the site's)

              No default health path is checked: without health.path only passive ejection watches the servers.
              When every server of a pool is down, a stale object is served where stale-if-error (RFC 5861) allows,
              else 503 (Cache-Status: zcproxy; fwd=miss; detail=no-healthy-origin)."""),
      key("default-site", "sites", sitesKey("\"\""),
          "the site that answers a Host no site lists; \"\" = 421 Misdirected Request"));

  private ConfigKeys() {}

  private static Map<String, String> ordered(String k1, String v1, String k2, String v2) {
    Map<String, String> m = new LinkedHashMap<>();
    m.put(k1, v1);
    m.put(k2, v2);
    return m;
  }

  // ---- derived: key table, flags, usage --------------------------------------------------------

  /** Every section and its key names, in file order: what the loader accepts. */
  static Map<String, List<String>> table() {
    Map<String, List<String>> keys = new LinkedHashMap<>();
    for (Section s : SECTIONS) {
      keys.put(s.name(), s.keys().stream().map(Key::name).toList());
    }
    return Collections.unmodifiableMap(keys);
  }

  /** The names of the top-level keys after the sections. */
  static List<String> topLevelNames() {
    return TOP_LEVEL.stream().map(Key::name).toList();
  }

  /** The names of the nested keys of {@code section.key} (e.g. {@code listen.tls}). */
  static List<String> childNames(String section, String key) {
    return find(section, key).children().stream().map(Key::name).toList();
  }

  private static Key find(String section, String key) {
    for (Section s : SECTIONS) {
      for (Key k : s.keys()) {
        if (s.name().equals(section) && k.name().equals(key)) {
          return k;
        }
      }
    }
    throw new IllegalArgumentException(section + "." + key);
  }

  /** A flag with the key path it belongs to. */
  record KeyFlag(String path, Flag flag) {
    /** The key paths and values that {@code value} of this flag sets. */
    Map<String, String> sets(String value) {
      return flag.sets() == null ? Map.of(path, value) : flag.sets().apply(value);
    }
  }

  /** Every command-line flag that sets keys, in file order. */
  static List<KeyFlag> flags() {
    List<KeyFlag> out = new ArrayList<>();
    for (Section s : SECTIONS) {
      for (Key k : s.keys()) {
        if (k.flag() != null) {
          out.add(new KeyFlag(s.name() + "." + k.name(), k.flag()));
        }
      }
    }
    return out;
  }

  /** Every environment variable with the key path it sets, in file order. */
  static Map<String, String> envs() {
    Map<String, String> out = new LinkedHashMap<>();
    for (Section s : SECTIONS) {
      for (Key k : s.keys()) {
        if (k.env() != null) {
          out.put(k.env().name(), s.name() + "." + k.name());
        }
      }
    }
    return out;
  }

  /** The {@code --help} text. */
  static String usage() {
    StringBuilder b = new StringBuilder();
    b.append("Usage: java -jar zcproxy.jar [--config FILE] [OPTION]...\n\n");
    b.append("zcproxy, a caching reverse proxy. Options override the values of the config file; without\n");
    b.append("--config the built-in defaults (the values listed in conf/proxy.yaml) are used.\n\n");
    option(b, "--config FILE", "YAML config file (every key is documented in conf/proxy.yaml)");
    for (KeyFlag f : flags()) {
      option(b, f.flag().name() + " " + f.flag().metavar(), f.flag().help());
    }
    option(b, "--help", "print this help and exit");
    option(b, "--version", "print the version and exit");
    b.append("\nOptions may also be written --option=VALUE. Exit status: 0 for --help and --version,\n");
    b.append("2 for a bad config file or command line.\n\n");
    String prefix = "Environment: ";
    for (Section s : SECTIONS) {
      for (Key k : s.keys()) {
        if (k.env() != null) {
          b.append(prefix).append(k.env().name()).append("  ").append(k.env().help())
              .append(" (wins over ").append(s.name()).append('.').append(k.name()).append(" in the file)\n");
          prefix = " ".repeat(prefix.length());
        }
      }
    }
    return b.toString();
  }

  private static void option(StringBuilder b, String left, String help) {
    b.append("  ").append(left);
    b.append(left.length() < 20 ? " ".repeat(20 - left.length()) : "\n" + " ".repeat(22)).append(help).append('\n');
  }

  // ---- derived: binding -------------------------------------------------------------------------

  /**
   * The {@link ProxyConfig} the flat key map describes: every section's record built from its keys by
   * record component name (unset keys take the default), {@code sites} by {@link SitesLoader}.
   *
   * @throws ConfigException for a value that cannot be read
   * @throws IllegalArgumentException from a record's compact constructor, message starting with the key path
   */
  static ProxyConfig bind(Map<String, Value> values, Binder b, String source) {
    ProxyConfig defaults = ProxyConfig.defaults();
    RecordComponent[] components = ProxyConfig.class.getRecordComponents();
    Object[] args = new Object[components.length];
    for (int i = 0; i < components.length; i++) {
      String name = components[i].getName();
      Section section = SECTIONS.stream().filter(s -> s.name().equals(name)).findFirst().orElse(null);
      if (section != null) {
        args[i] = build(components[i].getType(), component(defaults, name), section.name() + ".", "", section.keys(), b);
      } else if (name.equals("sites")) {
        args[i] = SitesLoader.bind(values, b, source);
      } else {
        throw new IllegalStateException("ProxyConfig." + name + " has no section in ConfigKeys");
      }
    }
    return (ProxyConfig) construct(ProxyConfig.class, components, args);
  }

  /**
   * The record {@code type} from the keys whose component path starts with {@code prefix} (a nested
   * record such as {@code ram.}); a component without a key keeps its value in {@code dflt}.
   */
  private static Object build(Class<?> type, Object dflt, String pathPrefix, String prefix, List<Key> keys,
      Binder b) {
    RecordComponent[] components = type.getRecordComponents();
    Object[] args = new Object[components.length];
    for (int i = 0; i < components.length; i++) {
      String c = prefix + components[i].getName();
      Object d = component(dflt, components[i].getName());
      Key key = keys.stream().filter(k -> k.component().equals(c)).findFirst().orElse(null);
      if (key != null) {
        args[i] = key.type().readAny(b, pathPrefix + key.name(), d);
      } else if (keys.stream().anyMatch(k -> k.component().startsWith(c + "."))) {
        args[i] = build(components[i].getType(), d, pathPrefix, c + ".", keys, b);
      } else {
        args[i] = d;
      }
    }
    return construct(type, components, args);
  }

  private static Object construct(Class<?> type, RecordComponent[] components, Object[] args) {
    Class<?>[] types = Arrays.stream(components).map(RecordComponent::getType).toArray(Class<?>[]::new);
    try {
      Constructor<?> canonical = type.getDeclaredConstructor(types);
      return canonical.newInstance(args);
    } catch (InvocationTargetException e) {
      if (e.getCause() instanceof RuntimeException r) {
        throw r; // a compact constructor's IllegalArgumentException, message starting with the key path
      }
      throw new IllegalStateException(e.getCause());
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("cannot construct " + type.getName(), e);
    }
  }

  /** The value of record component {@code name} (a dotted path for nested records) of {@code record}. */
  static Object component(Object record, String name) {
    int dot = name.indexOf('.');
    if (dot > 0) {
      return component(component(record, name.substring(0, dot)), name.substring(dot + 1));
    }
    for (RecordComponent c : record.getClass().getRecordComponents()) {
      if (c.getName().equals(name)) {
        try {
          return c.getAccessor().invoke(record);
        } catch (ReflectiveOperationException e) {
          throw new IllegalStateException(e);
        }
      }
    }
    throw new IllegalArgumentException(record.getClass().getSimpleName() + " has no component " + name);
  }

  // ---- derived: the reference file ---------------------------------------------------------------

  private static final int COMMENT_COLUMN = 35;

  /** The text of {@code conf/proxy.yaml}: every key with its default and comment. */
  static String reference() {
    StringBuilder out = new StringBuilder();
    comment(out, "", HEADER);
    ProxyConfig defaults = ProxyConfig.defaults();
    for (Section s : SECTIONS) {
      out.append('\n');
      comment(out, "", s.comment());
      out.append(s.name()).append(":\n");
      Object record = component(defaults, s.name());
      for (Key k : s.keys()) {
        line(out, "  ", k, component(record, k.component()));
      }
    }
    out.append('\n');
    for (Key k : TOP_LEVEL) {
      line(out, "", k, null);
    }
    return out.toString();
  }

  private static void line(StringBuilder out, String indent, Key k, Object value) {
    if (k.comment() != null) {
      comment(out, indent, k.comment());
    }
    if (!k.children().isEmpty()) {
      out.append(indent).append(k.name()).append(":\n");
      for (Key child : k.children()) {
        line(out, indent + "  ", child, component(value, child.component()));
      }
      return;
    }
    String text = indent + k.name() + ": " + k.type().printAny(value);
    if (!k.doc().isEmpty()) {
      text += " ".repeat(Math.max(1, COMMENT_COLUMN - text.length())) + "# " + k.doc();
    }
    out.append(text).append('\n');
  }

  private static void comment(StringBuilder out, String indent, String paragraph) {
    for (String l : paragraph.stripTrailing().split("\n", -1)) {
      out.append(indent).append(l.isEmpty() ? "#" : "# " + l).append('\n');
    }
  }
}
