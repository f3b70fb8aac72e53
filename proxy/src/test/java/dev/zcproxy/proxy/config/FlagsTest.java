package dev.zcproxy.proxy.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.zcproxy.proxy.config.ProxyConfig.HostPort;
import dev.zcproxy.proxy.config.ProxyConfig.OriginUrl;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FlagsTest {
  @TempDir Path dir;

  private static ConfigException error(String... args) {
    ConfigException e =
        catchThrowableOfType(() -> ConfigLoader.fromArgs(args), ConfigException.class);
    assertThat(e).isNotNull();
    return e;
  }

  @Test
  void noArgsMeansDefaults() {
    assertThat(ConfigLoader.fromArgs(new String[0])).isEqualTo(ProxyConfig.defaults());
  }

  @Test
  void flagsWithoutFile() {
    ProxyConfig c =
        ConfigLoader.fromArgs(
            new String[] {
              "--listen", "127.0.0.1:9080", "--origin", "http://127.0.0.1:9081",
              "--cache-dir", "/tmp/c", "--cache-size", "100MiB", "--admin", "[::1]:9079"
            });
    ProxyConfig d = ProxyConfig.defaults();
    assertThat(c.listen().address()).isEqualTo(new HostPort("127.0.0.1", 9080));
    assertThat(c.origin().url()).isEqualTo(new OriginUrl("http", "127.0.0.1", 9081));
    assertThat(c.cache().dir()).isEqualTo(Path.of("/tmp/c"));
    assertThat(c.cache().maxSizeBytes()).isEqualTo(100L << 20);
    assertThat(c.admin()).isEqualTo(new ProxyConfig.Admin(true, new HostPort("::1", 9079)));
    assertThat(c.transfer()).isEqualTo(d.transfer());
    assertThat(c.logging()).isEqualTo(d.logging());
  }

  @Test
  void theQuickStartFromTheBrief() {
    ProxyConfig c =
        ConfigLoader.fromArgs(
            new String[] {
              "--listen", "127.0.0.1:8080", "--origin", "http://127.0.0.1:8081",
              "--cache-dir", "/tmp/c"
            });
    assertThat(c).isEqualTo(new ProxyConfig(
        ProxyConfig.defaults().listen(), ProxyConfig.defaults().origin(),
        withDir(ProxyConfig.defaults().cache(), Path.of("/tmp/c")),
        ProxyConfig.defaults().transfer(), ProxyConfig.defaults().admin(),
        ProxyConfig.defaults().logging()));
  }

  private static ProxyConfig.Cache withDir(ProxyConfig.Cache c, Path dir) {
    return new ProxyConfig.Cache(c.enabled(), dir, c.maxSizeBytes(), c.maxObjectBytes(), c.fsync(),
        c.minFreeBytes(), c.heuristicFraction(), c.heuristicMax(), c.keep(), c.cdnCacheControl(),
        c.surrogateControl(), c.maxVariants(), c.coalesce(), c.hitForPass(), c.indexHeap(), c.setCookie(), c.keyHeaders());
  }

  @Test
  void flagsOverrideFileAndKeepItsOtherValues() throws Exception {
    Path file = dir.resolve("p.yaml");
    Files.writeString(
        file,
        "listen:\n  address: 0.0.0.0:80\n  event-loops: 2\n"
            + "cache:\n  max-size: 5GiB\n  fsync: true\nadmin:\n  address: 127.0.0.1:1\n");
    ProxyConfig c =
        ConfigLoader.fromArgs(
            new String[] {"--config", file.toString(), "--listen=:8080", "--cache-size", "1GiB",
                "--admin", "off", "--access-log", "off"});
    assertThat(c.logging().accessLog()).isEqualTo("off");
    assertThat(c.listen().address()).isEqualTo(new HostPort("0.0.0.0", 8080));
    assertThat(c.listen().eventLoops()).isEqualTo(2);
    assertThat(c.cache().maxSizeBytes()).isEqualTo(1L << 30);
    assertThat(c.cache().fsync()).isTrue();
    assertThat(c.admin()).isEqualTo(new ProxyConfig.Admin(false, new HostPort("127.0.0.1", 1)));
  }

  @Test
  void fileErrorsStillNameTheFileAndLine() throws Exception {
    Path file = dir.resolve("p.yaml");
    Files.writeString(file, "origin:\n  url: http://x/y\n");
    assertThat(error("--config", file.toString(), "--cache-dir", "/tmp/c").getMessage())
        .startsWith(file + ":2: origin.url: \"http://x/y\" has a path /y");
  }

  @Test
  void flagOverridesABadFileValueOnlyIfTheFileParses() throws Exception {
    Path file = dir.resolve("p.yaml");
    Files.writeString(file, "listen:\n  adress: :80\n");
    assertThat(error("--config", file.toString(), "--listen", ":8080").getMessage())
        .startsWith(file + ":2: listen.adress: unknown key (did you mean listen.address?");
  }

  @Test
  void unknownFlag() {
    ConfigException e = error("--lisen", ":8080");
    assertThat(e.getMessage()).startsWith("unknown option --lisen (did you mean --listen?");
    assertThat(e.exitCode()).isEqualTo(2);
    assertThat(error("-x").getMessage()).startsWith("unknown option -x (expected one of: --config");
  }

  @Test
  void positionalArgument() {
    assertThat(error("proxy.yaml").getMessage())
        .isEqualTo("unexpected argument \"proxy.yaml\" (expected: options only; see --help)");
  }

  @Test
  void missingFlagValue() {
    assertThat(error("--origin").getMessage())
        .startsWith("--origin: missing value (expected: http://HOST[:PORT]");
    assertThat(error("--listen", "--origin", "http://x").getMessage())
        .startsWith("--listen: missing value (expected: HOST:PORT");
    assertThat(error("--config").getMessage()).isEqualTo("--config: missing value (expected: FILE)");
  }

  @Test
  void badFlagValuesNameTheFlagAndKey() {
    assertThat(error("--cache-size", "10GB").getMessage())
        .startsWith("--cache-size: cache.max-size: \"10GB\" is not a size (expected: ")
        .contains("did you mean 10GiB?");
    assertThat(error("--cache-size", "0").getMessage())
        .isEqualTo("--cache-size: cache.max-size: 0 (expected: > 0)");
    assertThat(error("--origin", "ftp://x").getMessage())
        .isEqualTo("--origin: origin.url: \"ftp://x\" has scheme ftp (expected: http or https)");
    assertThat(error("--listen", "1.2.3.4:99999").getMessage())
        .startsWith("--listen: listen.address: \"1.2.3.4:99999\" has port 99999 out of range");
  }

  @Test
  void missingConfigFile() {
    assertThat(error("--config", "nope.yaml").getMessage())
        .isEqualTo("nope.yaml: no such file (expected: a YAML config file)");
  }

  @Test
  void helpIsNotAnErrorAndWinsOverOtherProblems() {
    ConfigException e = error("--bogus", "--help");
    assertThat(e).isInstanceOf(ConfigException.InfoRequested.class);
    assertThat(e.exitCode()).isZero();
    assertThat(e.getMessage())
        .isEqualTo(ConfigLoader.usage())
        .startsWith("Usage: ")
        .contains("--config FILE", "--listen HOST:PORT", "--origin URL", "--cache-dir DIR",
            "--cache-size SIZE", "--admin HOST:PORT", "--help", "--version");
    assertThat(error("-h")).isInstanceOf(ConfigException.InfoRequested.class);
  }

  @Test
  void version() {
    ConfigException e = error("--version");
    assertThat(e).isInstanceOf(ConfigException.InfoRequested.class);
    assertThat(e.exitCode()).isZero();
    assertThat(e.getMessage()).startsWith("zcproxy ");
  }
  @Test
  void adminTokenFromTheEnvironmentWinsOverTheFile(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
    java.nio.file.Path file = dir.resolve("p.yaml");
    java.nio.file.Files.writeString(file, "admin:\n  token: from-the-file-0123456789\n");
    assertThat(ConfigLoader.fromArgs(new String[] {"--config", file.toString()}, java.util.Map.of()).admin().token())
        .isEqualTo("from-the-file-0123456789");
    assertThat(ConfigLoader.fromArgs(new String[] {"--config", file.toString()},
        java.util.Map.of("ZCPROXY_ADMIN_TOKEN", "from-the-env-0123456789")).admin().token())
        .isEqualTo("from-the-env-0123456789");
    assertThat(ConfigLoader.fromArgs(new String[] {"--config", file.toString()},
        java.util.Map.of("ZCPROXY_ADMIN_TOKEN", "")).admin().token())
        .as("an empty variable is unset").isEqualTo("from-the-file-0123456789");
  }

  @Test
  void aBadTokenFromTheEnvironmentIsNamedButNotShown() {
    ConfigException e = catchThrowableOfType(
        () -> ConfigLoader.fromArgs(new String[0], java.util.Map.of("ZCPROXY_ADMIN_TOKEN", "short-secret")),
        ConfigException.class);
    assertThat(e.getMessage()).startsWith("ZCPROXY_ADMIN_TOKEN: admin.token: ")
        .contains("at least 16 characters").doesNotContain("short-secret");
    assertThat(ConfigLoader.usage()).contains("ZCPROXY_ADMIN_TOKEN");
  }
}
