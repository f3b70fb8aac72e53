package dev.zcproxy.proxy.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.zcproxy.cache.policy.InvalidateMethods;
import dev.zcproxy.proxy.config.ProxyConfig.HostPort;
import dev.zcproxy.proxy.config.ProxyConfig.OriginUrl;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class ConfigLoaderTest {

  /** Name, YAML, then the message prefix "bad.yaml:LINE: KEY: " and the parts it must contain. */
  static Stream<Arguments> badConfigs() {
    return Stream.of(
        bad("unknown key with suggestion", "cache:\n  max-sise: 1GiB\n",
            "bad.yaml:2: cache.max-sise: unknown key",
            "did you mean cache.max-size?", "expected one of: enabled, dir, max-size"),
        bad("snake_case key", "origin:\n  connect_timeout: 5s\n",
            "bad.yaml:2: origin.connect_timeout: unknown key",
            "did you mean origin.connect-timeout?"),
        bad("unknown key without suggestion", "admin:\n  password: hunter2\n",
            "bad.yaml:2: admin.password: unknown key (expected one of: enabled, address, token)"),
        bad("admin token too short, value not echoed", "admin:\n  token: hunter2\n",
            "bad.yaml:2: admin.token: (value not shown, 7 characters) (expected: at least 16 characters"),
        bad("admin token with a space, value not echoed", "admin:\n  token: \"correct horse battery staple\"\n",
            "bad.yaml:2: admin.token: (value not shown) (expected: printable ASCII without spaces"),
        bad("key in the wrong section", "listen:\n  url: http://x\n",
            "bad.yaml:2: listen.url: unknown key", "did you mean origin.url?"),
        bad("unknown section with suggestion", "listen:\n  address: :8080\ncahce:\n  dir: x\n",
            "bad.yaml:3: cahce: unknown section",
            "did you mean cache?", "expected one of: listen, origin, cache, transfer, admin, logging"),
        bad("unknown section without suggestion", "backends:\n  - a\n",
            "bad.yaml:1: backends: unknown section (expected one of: listen, origin"),
        bad("leaf key at the top level", "max-size: 1GiB\n",
            "bad.yaml:1: max-size: unknown section", "did you mean cache.max-size?"),
        bad("wrong type: boolean", "cache:\n  enabled: yes\n",
            "bad.yaml:2: cache.enabled: \"yes\" is not a boolean (expected: true or false)"),
        bad("wrong type: integer", "listen:\n  event-loops: four\n",
            "bad.yaml:2: listen.event-loops: \"four\" is not an integer",
            "(expected: an integer >= 0, 0 = one per core)"),
        bad("wrong type: list for a scalar", "listen:\n  address:\n    - a\n    - b\n",
            "bad.yaml:3: listen.address: a list (expected: HOST:PORT"),
        bad("wrong type: scalar for a section", "listen: 8080\n",
            "bad.yaml:1: listen: \"8080\" is not a section",
            "(expected: a mapping with keys address, max-header-size"),
        bad("wrong type: top level", "- listen\n",
            "bad.yaml:1: the top level is a list (expected: a mapping with sections listen"),
        bad("no value", "cache:\n  dir:\n",
            "bad.yaml:2: cache.dir: no value (expected: a directory path)"),
        bad("bad size with space and SI unit", "cache:\n  max-size: 10 GB\n",
            "bad.yaml:2: cache.max-size: \"10 GB\" is not a size (expected: a number with unit B,"
                + " KiB, MiB, GiB, TiB (or k, m, g as in nginx), e.g. 10GiB",
            "did you mean 10GiB?"),
        bad("SI size unit", "cache:\n  ram-max-object-size: 16kB\n",
            "bad.yaml:2: cache.ram-max-object-size: \"16kB\" is not a size (expected: a number with unit B,",
            "did you mean 16KiB?"),
        bad("bad size unit", "cache:\n  max-size: 16q\n",
            "bad.yaml:2: cache.max-size: \"16q\" is not a size (expected: a number with unit B,"),
        bad("bad size word", "cache:\n  max-object-size: huge\n",
            "bad.yaml:2: cache.max-object-size: \"huge\" is not a size (expected: a number with"
                + " unit B, KiB, MiB, GiB, TiB (or k, m, g as in nginx), e.g. 10GiB)"),
        bad("size too large for an int", "listen:\n  max-header-size: 4GiB\n",
            "bad.yaml:2: listen.max-header-size: \"4GiB\" is too large (expected: less than 2GiB)"),
        bad("bad duration", "origin:\n  connect-timeout: 5 seconds\n",
            "bad.yaml:2: origin.connect-timeout: \"5 seconds\" is not a duration"
                + " (expected: a number with unit ms, s, m, h, d, e.g. 30s, or 0)"),
        bad("duration without unit", "listen:\n  idle-timeout: 30\n",
            "bad.yaml:2: listen.idle-timeout: \"30\" has no unit", "did you mean 30s?"),
        bad("zero timeout", "origin:\n  connect-timeout: 0\n",
            "bad.yaml:2: origin.connect-timeout: 0 (expected: > 0)"),
        bad("negative count", "origin:\n  max-connections: -1\n",
            "bad.yaml:2: origin.max-connections: -1 (expected: > 0)"),
        bad("negative size", "cache:\n  max-size: -1\n",
            "bad.yaml:2: cache.max-size: -1 (expected: > 0)"),
        bad("negative event loops", "listen:\n  event-loops: -2\n",
            "bad.yaml:2: listen.event-loops: -2 (expected: >= 0, 0 = one per core)"),
        bad("negative send buffer", "listen:\n  send-buffer: -1\n",
            "bad.yaml:2: listen.send-buffer: -1 (expected: >= 0, 0 = the kernel autotunes it)"),
        bad("fraction out of range", "cache:\n  heuristic-fraction: 1.5\n",
            "bad.yaml:2: cache.heuristic-fraction: 1.5 (expected: 0..1)"),
        bad("index heap share too large", "cache:\n  index-heap: 95%\n",
            "bad.yaml:2: cache.index-heap: 95% (expected: a share of the maximum heap 1%..90%, e.g. 25%,"
                + " or a size, e.g. 64MiB)"),
        bad("index heap zero", "cache:\n  index-heap: 0%\n",
            "bad.yaml:2: cache.index-heap: 0 (expected: a share of the maximum heap"),
        bad("index heap word", "cache:\n  index-heap: lots\n",
            "bad.yaml:2: cache.index-heap: \"lots\" is not a share or a size (expected: a share of the maximum heap"),
        bad("index heap bad percent", "cache:\n  index-heap: 2.5%\n",
            "bad.yaml:2: cache.index-heap: \"2.5%\" is not a percentage"),
        bad("max variants zero", "cache:\n  max-variants: 0\n",
            "bad.yaml:2: cache.max-variants: 0 (expected: >= 1)"),
        bad("port out of range", "listen:\n  address: 127.0.0.1:70000\n",
            "bad.yaml:2: listen.address: \"127.0.0.1:70000\" has port 70000 out of range"
                + " (expected: a port 0..65535)"),
        bad("address without port", "admin:\n  address: localhost\n",
            "bad.yaml:2: admin.address: \"localhost\" has no port (expected: HOST:PORT"),
        bad("bare IPv6", "listen:\n  address: ::1:8080\n",
            "bad.yaml:2: listen.address: \"::1:8080\" needs brackets"),
        bad("origin scheme", "origin:\n  url: ftp://example.com\n",
            "bad.yaml:2: origin.url: \"ftp://example.com\" has scheme ftp"
                + " (expected: http or https)"),
        bad("origin without scheme", "origin:\n  url: example.com:8081\n",
            "bad.yaml:2: origin.url: \"example.com:8081\" is not a URL with a scheme"),
        bad("origin with path", "origin:\n  url: http://example.com/app\n",
            "bad.yaml:2: origin.url: \"http://example.com/app\" has a path /app (expected: no path"),
        bad("origin port zero", "origin:\n  url: http://example.com:0\n",
            "bad.yaml:2: origin.url: \"http://example.com:0\" has port 0 out of range"),
        bad("tag headers not a list", "cache:\n  tag-headers: Surrogate-Key\n",
            "bad.yaml:2: cache.tag-headers: \"Surrogate-Key\"", "a list of header field names"),
        bad("tag header with a comma", "cache:\n  tag-headers: [\"Surrogate-Key, Cache-Tag\"]\n",
            "bad.yaml:2: cache.tag-headers: \"Surrogate-Key, Cache-Tag\" (expected: a list of header field names)"),
        bad("strip tag headers", "cache:\n  strip-tag-headers: maybe\n",
            "bad.yaml:2: cache.strip-tag-headers: \"maybe\""),
        bad("negative ram size", "cache:\n  ram-size: -1\n",
            "bad.yaml:2: cache.ram-size: -1 (expected: >= 0 (0 = off))"),
        bad("ram object size word", "cache:\n  ram-max-object-size: small\n",
            "bad.yaml:2: cache.ram-max-object-size: \"small\" is not a size"),
        bad("set-cookie mode", "cache:\n  set-cookie: keep\n",
            "bad.yaml:2: cache.set-cookie: \"keep\" is not a set-cookie mode (expected: pass, strip or store)"),
        bad("invalidate-methods mode", "cache:\n  heuristic-fraction: 0.1\n  invalidate-methods: all\n",
            "bad.yaml:3: cache.invalidate-methods: \"all\" is not an invalidate-methods mode (expected: standard or any-unsafe)"),
        bad("log level", "logging:\n  level: verbose\n",
            "bad.yaml:2: logging.level: \"verbose\" is not a log level"
                + " (expected: one of error, warn, info, debug, trace)"),
        bad("access log format", "logging:\n  access-log-format: xml\n",
            "bad.yaml:2: logging.access-log-format: \"xml\" is not an access log format (expected: one of text, json)"),
        bad("empty access log", "logging:\n  access-log: \"\"\n",
            "bad.yaml:2: logging.access-log: \"\" (expected: stdout, off or a file path)"),
        bad("duplicate key", "cache:\n  dir: a\n  dir: b\n",
            "bad.yaml:3: cache.dir: duplicate key (expected: each key once; first at line 2)"),
        bad("duplicate section", "cache:\n  dir: a\nlisten: {}\ncache:\n  fsync: true\n",
            "bad.yaml:4: cache: duplicate key (expected: each key once; first at line 1)"),
        bad("YAML syntax error", "listen:\n  address: a: b\n",
            "bad.yaml:2: YAML syntax error at column 13: mapping values are not allowed here"),
        bad("YAML unterminated quote", "cache:\n  dir: \"var\n",
            "bad.yaml:3: YAML syntax error", "found unexpected end of stream"),
        bad("two documents", "cache: {}\n---\nlisten: {}\n",
            "bad.yaml:2: YAML syntax error", "expected a single document"));
  }

  private static Arguments bad(String name, String yaml, String prefix, String... parts) {
    return Arguments.of(name, yaml, prefix, parts);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badConfigs")
  void badConfigIsRejectedWithFileLineKeyValueAndExpectation(
      String name, String yaml, String prefix, String[] parts) {
    ConfigException e =
        catchThrowableOfType(() -> ConfigLoader.parse(yaml, "bad.yaml"), ConfigException.class);
    assertThat(e).as(name).isNotNull();
    assertThat(e.getMessage()).startsWith(prefix).doesNotContain("\n");
    for (String part : parts) {
      assertThat(e.getMessage()).contains(part);
    }
    assertThat(e.exitCode()).isEqualTo(2);
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "\n", "# only a comment\n", "---\n", "listen:\n", "listen: {}\n"})
  void emptyFileOrSectionMeansDefaults(String yaml) {
    assertThat(ConfigLoader.parse(yaml, "empty.yaml")).isEqualTo(ProxyConfig.defaults());
  }

  @Test
  void everyKeyIsBound() {
    String yaml =
        """
        listen:
          address: "[::1]:9080"
          max-header-size: 16KiB
          max-initial-line: 4KiB
          idle-timeout: 0
          event-loops: 3
          shutdown-grace: 1m30s
          max-connections: 500
          request-head-timeout: 2s
        origin:
          url: https://Example.com/
          connect-timeout: 250ms
          first-byte-timeout: 10s
          idle-timeout: 0
          max-connections: 8
          keep-alive-timeout: 2m
          preserve-host: false
        cache:
          enabled: false
          dir: /srv/cache
          max-size: 10GiB
          index-heap: 64MiB
          max-object-size: 512MiB
          fsync: true
          min-free: 2GiB
          heuristic-fraction: 0.25
          heuristic-max: 2d
          keep: 0
          cdn-cache-control: false
          surrogate-control: false
          max-variants: 4
          coalesce: false
          hit-for-pass: 30s
          set-cookie: strip
        transfer:
          sendfile: false
          splice: false
          splice-min-size: 0
          native-transport: false
        admin:
          enabled: false
          address: :9079
          token: 0123456789abcdef-token
        logging:
          access-log: /var/log/zcproxy/access.log
          access-log-format: JSON
          level: DEBUG
          x-cache-header: false
        """;
    ProxyConfig c = ConfigLoader.parse(yaml, "all.yaml");
    assertThat(c.listen())
        .isEqualTo(new ProxyConfig.Listen(new HostPort("::1", 9080), 16384, 4096, Duration.ZERO, 3,
            Duration.ofSeconds(90), 500, Duration.ofSeconds(2)));
    assertThat(c.origin())
        .isEqualTo(new ProxyConfig.Origin(new OriginUrl("https", "Example.com", 443),
            Duration.ofMillis(250), Duration.ofSeconds(10), Duration.ZERO, 8,
            Duration.ofMinutes(2), false));
    assertThat(c.cache())
        .isEqualTo(new ProxyConfig.Cache(false, Path.of("/srv/cache"), 10L << 30, 512L << 20,
            true, 2L << 30, 0.25, Duration.ofDays(2), Duration.ZERO, false, false, 4, false,
            Duration.ofSeconds(30), ProxyConfig.IndexHeap.bytes(64L << 20), dev.zcproxy.cache.policy.SetCookie.STRIP,
            java.util.List.of()));
    assertThat(c.transfer()).isEqualTo(new ProxyConfig.Transfer(false, false, 0, false));
    assertThat(c.admin()).isEqualTo(new ProxyConfig.Admin(false, new HostPort("0.0.0.0", 9079), "0123456789abcdef-token"));
    assertThat(c.admin().toString()).doesNotContain("0123456789abcdef-token");
    assertThat(c.logging())
        .isEqualTo(new ProxyConfig.Logging("/var/log/zcproxy/access.log", "debug", false, "json"));
  }

  @Test
  void invalidateMethodsDefaultsToStandardAndCanOptIntoAnyUnsafe() {
    assertThat(ProxyConfig.defaults().cache().invalidateMethods()).isEqualTo(InvalidateMethods.STANDARD);
    assertThat(ConfigLoader.parse("cache:\n  invalidate-methods: any-unsafe\n", "i.yaml").cache().invalidateMethods())
        .isEqualTo(InvalidateMethods.ANY_UNSAFE);
    assertThat(ConfigLoader.parse("cache:\n  invalidate-methods: Standard\n", "i.yaml").cache().invalidateMethods())
        .isEqualTo(InvalidateMethods.STANDARD);
  }

  /** Operators coming from nginx write sizes as 16k, 1m, 10g: binary multiples, as in nginx. */
  @Test
  void nginxStyleSizesLoad() {
    ProxyConfig c = ConfigLoader.parse("cache:\n  max-size: 10g\n  max-object-size: 1m\n  ram-max-object-size: 16k\n", "n.yaml");
    assertThat(c.cache().maxSizeBytes()).isEqualTo(10L << 30);
    assertThat(c.cache().maxObjectBytes()).isEqualTo(1L << 20);
    assertThat(c.cache().ram().maxObjectBytes()).isEqualTo(16 * 1024);
  }

  @Test
  void ramTierDefaultsTo16MiBOfBodiesUpTo16KiBAndCanBeTurnedOff() {
    assertThat(ProxyConfig.defaults().cache().ram()).isEqualTo(new ProxyConfig.Ram(16L << 20, 16L << 10));
    ProxyConfig c = ConfigLoader.parse("cache:\n  ram-size: 64MiB\n  ram-max-object-size: 4KiB\n", "r.yaml");
    assertThat(c.cache().ram()).isEqualTo(new ProxyConfig.Ram(64L << 20, 4L << 10));
    assertThat(c.cache().ram().admits(4096)).isTrue();
    assertThat(c.cache().ram().admits(4097)).isFalse();
    assertThat(c.cache().ram().admits(0)).isFalse();
    assertThat(ConfigLoader.parse("cache:\n  ram-size: 0\n", "r.yaml").cache().ram().admits(1)).isFalse();
  }

  @Test
  void tagHeadersDefaultToFastlyAndCloudflareAndCanBeChanged() {
    assertThat(ProxyConfig.defaults().cache().tagHeaders()).containsExactly("Surrogate-Key", "Cache-Tag");
    assertThat(ProxyConfig.defaults().cache().stripTagHeaders()).isTrue();
    ProxyConfig c = ConfigLoader.parse("cache:\n  tag-headers: [X-Tags]\n  strip-tag-headers: false\n", "t.yaml");
    assertThat(c.cache().tagHeaders()).containsExactly("X-Tags");
    assertThat(c.cache().stripTagHeaders()).isFalse();
    assertThat(ConfigLoader.parse("cache:\n  tag-headers: []\n", "t.yaml").cache().tagHeaders()).isEmpty();
  }

  @Test
  void originUrlDefaultsPortFromScheme() {
    assertThat(ConfigLoader.parse("origin:\n  url: http://10.0.0.1\n", "x").origin().url())
        .isEqualTo(new OriginUrl("http", "10.0.0.1", 80));
    assertThat(ConfigLoader.parse("origin:\n  url: https://[::1]:8443\n", "x").origin().url())
        .isEqualTo(new OriginUrl("https", "::1", 8443));
  }

  @Test
  void accessLogOffIsAString() {
    ProxyConfig c = ConfigLoader.parse("logging:\n  access-log: off\n", "x");
    assertThat(c.logging().accessLog()).isEqualTo("off");
    assertThat(c.logging().accessLogOff()).isTrue();
  }

  @Test
  void missingFileIsAConfigError() {
    ConfigException e =
        catchThrowableOfType(
            () -> ConfigLoader.load(Path.of("does-not-exist.yaml")), ConfigException.class);
    assertThat(e.getMessage())
        .isEqualTo("does-not-exist.yaml: no such file (expected: a YAML config file)");
  }

  @Test
  void loadNamesTheFileAsGiven(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
    Path file = dir.resolve("p.yaml");
    java.nio.file.Files.writeString(file, "cache:\n  max-size: 10 GB\n");
    ConfigException e = catchThrowableOfType(() -> ConfigLoader.load(file), ConfigException.class);
    assertThat(e.getMessage()).startsWith(file + ":2: cache.max-size: \"10 GB\" is not a size");
  }
}
