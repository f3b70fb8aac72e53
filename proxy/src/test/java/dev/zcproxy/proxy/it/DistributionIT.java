package dev.zcproxy.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The distribution archive 'mvn package' built, unpacked and run the way an operator runs it: bin/zcproxy. */
class DistributionIT {
  @TempDir
  Path tmp;

  private Path home;
  /** ZCPROXY_CDS for the launches of a test; unset when null. */
  private String cdsMode;

  /** Unpacks target/zcproxy-*.tar.gz with tar (keeps bin/zcproxy executable) into a directory with no repo around it. */
  @BeforeEach
  void unpack() throws Exception {
    List<Path> archives;
    try (Stream<Path> files = Files.list(Path.of("target"))) {
      archives = files.filter(f -> f.getFileName().toString().matches("zcproxy-.+\\.tar\\.gz")).toList();
    }
    assertThat(archives).as("the archive 'mvn package' builds").hasSize(1);
    Path into = tmp.resolve("opt");
    Files.createDirectories(into);
    Process tar = new ProcessBuilder("tar", "-xzf", archives.get(0).toAbsolutePath().toString(), "-C", into.toString())
        .redirectErrorStream(true).start();
    String out = new String(tar.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(tar.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(tar.exitValue()).as(out).isZero();
    try (Stream<Path> dirs = Files.list(into)) {
      List<Path> top = dirs.toList();
      assertThat(top).as("one top directory, zcproxy-<version>").hasSize(1);
      home = top.get(0);
    }
    assertThat(home.getFileName().toString()).startsWith("zcproxy-");
    assertThat(home.resolve("bin/zcproxy")).isExecutable();
    assertThat(home.resolve("bin/zcproxyctl")).isExecutable();
    assertThat(home.resolve("lib/zcproxy.jar")).isRegularFile();
    assertThat(home.resolve("conf/proxy.yaml")).isRegularFile();
    assertThat(home.resolve("conf/logback.xml")).isRegularFile();
    assertThat(home.resolve("conf/examples")).isDirectory();
    assertThat(home.resolve("docs/INSTALL.md")).isRegularFile();
    assertThat(Files.readString(home.resolve("systemd/zcproxy.service")))
        .contains("User=zcproxy", "ExecStart=/opt/zcproxy/bin/zcproxy --config /etc/zcproxy/proxy.yaml",
            "CacheDirectory=zcproxy", "LimitNOFILE=", "ProtectSystem=strict", "NoNewPrivileges=yes", "SuccessExitStatus=143");
  }

  /** Runs bin/zcproxy from the unpacked archive with this JVM's java; stdout and stderr together, line by line. */
  private Process launch(BlockingQueue<String> lines, List<String> all, String... args) throws IOException {
    return launch(System.getProperty("java.home"), lines, all, args);
  }

  /** Runs bin/zcproxy from the unpacked archive with the java of {@code javaHome}. */
  private Process launch(String javaHome, BlockingQueue<String> lines, List<String> all, String... args) throws IOException {
    List<String> cmd = new java.util.ArrayList<>(List.of(home.resolve("bin/zcproxy").toString()));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).directory(tmp.toFile());
    pb.environment().remove("ZCPROXY_JAR"); // the launcher must find lib/zcproxy.jar by itself
    pb.environment().remove("ZCPROXY_JAVA_OPTS");
    pb.environment().remove("ZCPROXY_ADMIN_TOKEN");
    pb.environment().put("JAVA_HOME", javaHome);
    pb.environment().remove("ZCPROXY_CDS");
    if (cdsMode != null) {
      pb.environment().put("ZCPROXY_CDS", cdsMode);
    }
    pb.environment().remove("ZCPROXY_AOT_CACHE");
    pb.environment().put("ZCPROXY_CDS_DIR", tmp.resolve("cds").toString()); // not the user's ~/.cache
    Process p = pb.start();
    Thread reader = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          all.add(line);
          lines.add(line);
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }, "zcproxy-output");
    reader.setDaemon(true);
    reader.start();
    return p;
  }

  @Test
  void startsFromTheArchiveCachesAndStopsCleanlyOnSigterm() throws Exception {
    try (FixtureOrigin origin = FixtureOrigin.start()) {
      origin.serve("/x", "hello from the origin".getBytes(StandardCharsets.UTF_8), "Cache-Control", "max-age=60");
      Path cache = tmp.resolve("cache");
      Path yaml = tmp.resolve("proxy.yaml");
      Files.writeString(yaml, "listen:\n  address: 127.0.0.1:0\n  shutdown-grace: 1s\norigin:\n  url: " + origin.url()
          + "\ncache:\n  dir: " + cache + "\nadmin:\n  enabled: false\nlogging:\n  access-log: stdout\n");
      BlockingQueue<String> lines = new LinkedBlockingQueue<>();
      List<String> all = new CopyOnWriteArrayList<>();
      Process p = launch(lines, all, "--config", yaml.toString());
      try {
        String startLine = null;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (startLine == null && System.nanoTime() < deadline) {
          String line = lines.poll(200, TimeUnit.MILLISECONDS);
          if (line != null && line.startsWith("zcproxy listening on")) {
            startLine = line;
          } else if (line == null && !p.isAlive() && lines.poll(1, TimeUnit.SECONDS) == null) {
            break; // exited without a start line: fail now with its output, not at the deadline
          }
        }
        assertThat(startLine).as("start line; output: %s", all).isNotNull()
            .contains("origin " + origin.url()).contains("cache " + cache);
        Matcher m = Pattern.compile("http://127\\.0\\.0\\.1:(\\d+)").matcher(startLine);
        assertThat(m.find()).isTrue();
        URI x = URI.create("http://127.0.0.1:" + m.group(1) + "/x");
        // HTTP/1.1 as curl and load balancers speak it (the JDK client would otherwise try an h2c upgrade)
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

        HttpResponse<String> miss = client.send(HttpRequest.newBuilder(x).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(miss.statusCode()).isEqualTo(200);
        assertThat(miss.body()).isEqualTo("hello from the origin");
        assertThat(origin.requests("/x")).isEqualTo(1);

        HttpResponse<String> hit = client.send(HttpRequest.newBuilder(x).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(hit.statusCode()).isEqualTo(200);
        assertThat(hit.body()).isEqualTo("hello from the origin");
        assertThat(origin.requests("/x")).as("the second request is a HIT, the origin sees only the first").isEqualTo(1);
        assertThat(storedFiles(cache)).as("the object is in the cache directory of the config").isPositive();
      } finally {
        // SIGTERM to the JVM itself (the launcher exec's java), as systemctl stop sends it; unlike
        // Process.destroy() this keeps the output pipe open, so the shutdown lines can be read
        p.toHandle().destroy();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("exits after SIGTERM; output: %s", all).isTrue();
      }
      assertThat(p.exitValue()).as("128 + SIGTERM, the JVM's clean exit on SIGTERM (SuccessExitStatus=143 in the unit)")
          .isEqualTo(143);
      // the shutdown hook prints before the JVM exits; the reader may still be draining the pipe
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (all.stream().noneMatch(l -> l.startsWith("zcproxy: stopping")) && System.nanoTime() < deadline) {
        lines.poll(100, TimeUnit.MILLISECONDS);
      }
      assertThat(all).anyMatch(l -> l.startsWith("zcproxy: stopping"));
      assertThat(all).noneMatch(l -> l.contains("did not complete cleanly"));
      assertThat(all).noneMatch(l -> l.contains("Exception"));
      try (Stream<Path> files = Files.walk(cache)) {
        assertThat(files.filter(Files::isRegularFile).map(Path::toString).filter(s -> s.endsWith(".tmp"))).isEmpty();
      }
      // bin/zcproxy's class-data archive: written at exit, and marked as the archive of a run that served
      try (Stream<Path> files = Files.list(tmp.resolve("cds"))) {
        assertThat(files.map(f -> f.getFileName().toString()))
            .anyMatch(n -> n.matches("zcproxy-\\d+-\\d+\\.jsa\\.\\d+\\.jsa"))
            .anyMatch(n -> n.matches("zcproxy-\\d+-\\d+\\.jsa\\.\\d+\\.jsa\\.started"));
      }
    }
  }

  /**
   * bin/zcproxy probes the JDK and names its archive once (no tool run per start): a fresh probe is believed
   * (a planted archive name shows up in the name of the archive written at exit), and a jar newer than the
   * probe makes it probe again.
   */
  @Test
  void launcherKeepsWhatItProbedUntilTheJarChanges() throws Exception {
    Path probe = tmp.resolve("cds/probe");
    runVersion();
    assertThat(probe).as("written by the first start").isRegularFile();
    String[] fields = Files.readString(probe).trim().split("\\|", -1);
    assertThat(fields).hasSize(7);
    assertThat(fields[2]).endsWith("lib/zcproxy.jar");
    assertThat(fields[3]).isEqualTo(String.valueOf(Runtime.version().feature()));
    assertThat(fields[5]).as("the archive's name: where").matches("\\d+");

    fields[5] = "123";
    fields[6] = "456";
    Files.writeString(probe, String.join("|", fields) + "\n");
    runVersion();
    try (Stream<Path> files = Files.list(tmp.resolve("cds"))) {
      assertThat(files.map(f -> f.getFileName().toString())).as("the kept probe named this run's archive")
          .anyMatch(n -> n.matches("zcproxy-123-456\\.jsa\\.\\d+\\.jsa"));
    }

    Path jar = home.resolve("lib/zcproxy.jar");
    Files.setLastModifiedTime(jar, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 60_000));
    runVersion();
    assertThat(Files.readString(probe).split("\\|", -1)[5]).as("probed again after the jar changed").matches("\\d+")
        .isNotEqualTo("123");
  }

  /**
   * Archives of other jar locations (a deleted checkout's) nobody mapped for 30 days go, and so do those locations'
   * dumps and marks older than a day; recent ones, and files that are not the launcher's, stay.
   */
  @Test
  void launcherDeletesOtherLocationsArchivesUnusedFor30Days() throws Exception {
    Path cds = tmp.resolve("cds");
    Files.createDirectories(cds);
    long now = System.currentTimeMillis();
    Path unused = aged(cds.resolve("zcproxy-111-222.jsa"), now - TimeUnit.DAYS.toMillis(40), now - TimeUnit.DAYS.toMillis(40));
    Path deadDump = aged(cds.resolve("zcproxy-111-333.jsa.99999.jsa"), now - TimeUnit.DAYS.toMillis(2), now);
    Path deadMark = aged(cds.resolve("zcproxy-111-333.jsa.99999.jsa.started"), now - TimeUnit.DAYS.toMillis(2), now);
    Path used = aged(cds.resolve("zcproxy-333-444.jsa"), now - TimeUnit.DAYS.toMillis(40), now - TimeUnit.DAYS.toMillis(1));
    Path freshDump = aged(cds.resolve("zcproxy-555-666.jsa.99998.jsa"), now, now);
    Path notOurs = aged(cds.resolve("notes.txt"), now - TimeUnit.DAYS.toMillis(40), now - TimeUnit.DAYS.toMillis(40));

    runVersion();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20); // the launcher prunes in a process of its own
    while ((Files.exists(unused) || Files.exists(deadDump) || Files.exists(deadMark)) && System.nanoTime() < deadline) {
      Thread.sleep(20); // polling a directory another process changes: nothing to wait on
    }
    assertThat(unused).as("another location's archive not mapped for 40 days").doesNotExist();
    assertThat(deadDump).as("another location's dump of a run that ended 2 days ago").doesNotExist();
    assertThat(deadMark).as("and its mark").doesNotExist();
    assertThat(used).as("an archive mapped yesterday").exists();
    assertThat(freshDump).as("a dump being written or just written").exists();
    assertThat(notOurs).as("not the launcher's").exists();
  }

  private static Path aged(Path f, long modifiedMillis, long accessedMillis) throws IOException {
    Files.write(f, new byte[] {1});
    Files.getFileAttributeView(f, java.nio.file.attribute.BasicFileAttributeView.class).setTimes(
        java.nio.file.attribute.FileTime.fromMillis(modifiedMillis), java.nio.file.attribute.FileTime.fromMillis(accessedMillis), null);
    return f;
  }

  /**
   * The test's JDK (17 in CI): the first run writes bin/zcproxy's class-data archive at exit, the next start
   * takes it into use (the JVM maps the file) and serves.
   */
  @Test
  void secondStartMapsTheArchiveTheFirstRunWrote() throws Exception {
    secondStartMapsTheArchive(System.getProperty("java.home"), "jsa");
  }

  /**
   * A JDK 25 where one is installed (ZCPROXY_TEST_JDK25, else /usr/lib/jvm/*25*) starts and serves the same way,
   * with its own archive. Skipped without a JDK 25.
   */
  @Test
  void jdk25SecondStartMapsTheArchiveTheFirstRunWrote() throws Exception {
    String jdk25 = jdk25();
    Assumptions.assumeTrue(jdk25 != null, "no JDK 25 installed");
    secondStartMapsTheArchive(jdk25, "jsa");
  }

  /**
   * ZCPROXY_CDS=aot on a JDK 25: an AOT cache instead, recorded by the first run that served and assembled at its
   * exit; the next start checks it, maps it and serves. Skipped without a JDK 25.
   */
  @Test
  void jdk25WithCdsAotSecondStartMapsTheAotCacheTheFirstRunWrote() throws Exception {
    String jdk25 = jdk25();
    Assumptions.assumeTrue(jdk25 != null, "no JDK 25 installed");
    cdsMode = "aot";
    secondStartMapsTheArchive(jdk25, "aot");
  }

  private void secondStartMapsTheArchive(String javaHome, String ext) throws Exception {
    Pattern dump = Pattern.compile("zcproxy-\\d+-\\d+\\." + ext + "\\.\\d+\\." + ext);
    Pattern archive = Pattern.compile("zcproxy-\\d+-\\d+\\." + ext);
    try (FixtureOrigin origin = FixtureOrigin.start()) {
      origin.serve("/x", "hello from the origin".getBytes(StandardCharsets.UTF_8), "Cache-Control", "max-age=60");
      String first = serveOnceAndStop(javaHome, origin, "first");
      assertThat(first).as("the first run maps no archive of bin/zcproxy's").doesNotContain(tmp.resolve("cds").toString());
      try (Stream<Path> files = Files.list(tmp.resolve("cds"))) {
        assertThat(files.map(f -> f.getFileName().toString())).as("written at exit, marked as a run that served")
            .anyMatch(n -> dump.matcher(n).matches()).anyMatch(n -> n.matches(dump.pattern() + "\\.started"));
      }
      String second = serveOnceAndStop(javaHome, origin, "second");
      assertThat(second.lines().filter(l -> l.contains(tmp.resolve("cds").toString())))
          .as("the second run maps the archive the first one wrote").isNotEmpty()
          .allMatch(l -> archive.matcher(l.substring(l.lastIndexOf('/') + 1)).matches());
      try (Stream<Path> files = Files.list(tmp.resolve("cds"))) {
        assertThat(files.map(f -> f.getFileName().toString())).as("the archive and the probe, no dump or mark left")
            .allMatch(n -> n.equals("probe") || archive.matcher(n).matches()).hasSize(2);
      }
      assertThat(origin.requests("/x")).as("each run: a MISS, then a HIT").isEqualTo(2);
    }
  }

  /** Starts bin/zcproxy on an empty cache, serves /x twice, stops it with SIGTERM; returns its /proc/PID/maps. */
  private String serveOnceAndStop(String javaHome, FixtureOrigin origin, String name) throws Exception {
    Path cache = tmp.resolve("cache-" + name);
    Path yaml = tmp.resolve(name + ".yaml");
    Files.writeString(yaml, "listen:\n  address: 127.0.0.1:0\n  shutdown-grace: 1s\norigin:\n  url: " + origin.url()
        + "\ncache:\n  dir: " + cache + "\nadmin:\n  enabled: false\n");
    BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    List<String> all = new CopyOnWriteArrayList<>();
    Process p = launch(javaHome, lines, all, "--config", yaml.toString());
    String maps;
    try {
      String startLine = null;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (startLine == null && System.nanoTime() < deadline && (p.isAlive() || !lines.isEmpty())) {
        String line = lines.poll(200, TimeUnit.MILLISECONDS);
        if (line != null && line.startsWith("zcproxy listening on")) {
          startLine = line;
        }
      }
      assertThat(startLine).as("%s run's start line; output: %s", name, all).isNotNull();
      Matcher m = Pattern.compile("http://127\\.0\\.0\\.1:(\\d+)").matcher(startLine);
      assertThat(m.find()).isTrue();
      URI x = URI.create("http://127.0.0.1:" + m.group(1) + "/x");
      HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
      for (int i = 0; i < 2; i++) {
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(x).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("hello from the origin");
      }
      // the launcher exec's java: its process id is the JVM's
      maps = Files.readString(Path.of("/proc/" + p.pid() + "/maps"));
    } finally {
      p.toHandle().destroy(); // SIGTERM, as systemctl stop sends it
      // JDK 25 assembles its AOT cache at exit in a child JVM: seconds, more on a busy machine
      assertThat(p.waitFor(180, TimeUnit.SECONDS)).as("exits after SIGTERM; output: %s", all).isTrue();
    }
    assertThat(p.exitValue()).as("clean exit on SIGTERM; output: %s", all).isEqualTo(143);
    return maps;
  }

  /** A JDK 25's home: ZCPROXY_TEST_JDK25, else the first /usr/lib/jvm/*25* whose release file says 25; or null. */
  private static String jdk25() throws IOException {
    String given = System.getenv("ZCPROXY_TEST_JDK25");
    if (given != null && !given.isEmpty()) {
      return given;
    }
    Path jvms = Path.of("/usr/lib/jvm");
    if (!Files.isDirectory(jvms)) {
      return null;
    }
    try (Stream<Path> homes = Files.list(jvms)) {
      for (Path h : homes.sorted().toList()) {
        Path release = h.resolve("release");
        if (h.getFileName().toString().contains("25") && Files.isExecutable(h.resolve("bin/java")) && Files.isRegularFile(release)
            && Files.readString(release).contains("JAVA_VERSION=\"25")) {
          return h.toString();
        }
      }
    }
    return null;
  }

  private void runVersion() throws Exception {
    Process p = launch(new LinkedBlockingQueue<>(), new CopyOnWriteArrayList<>(), "--version");
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).isZero();
  }

  @Test
  void versionNamesTheVersionCommitJdkAndTransport() throws Exception {
    BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    List<String> all = new CopyOnWriteArrayList<>();
    Process p = launch(lines, all, "--version");
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).isZero();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (all.stream().noneMatch(l -> l.startsWith("transport ")) && System.nanoTime() < deadline) {
      lines.poll(100, TimeUnit.MILLISECONDS);
    }
    String version = home.getFileName().toString().substring("zcproxy-".length());
    assertThat(all).contains("zcproxy " + version);
    assertThat(all).contains("commit " + expectedCommit());
    assertThat(all).contains("java " + System.getProperty("java.version") + " (" + System.getProperty("java.vendor") + ")");
    assertThat(all).anyMatch(l -> l.matches("transport (epoll|io_uring|kqueue|nio.*)"));
    if (System.getProperty("os.name").equals("Linux") && System.getProperty("os.arch").equals("amd64")) {
      assertThat(all).as("the jar carries netty-transport-native-epoll for linux-x86_64").contains("transport epoll");
    }
  }

  @Test
  void ctlRunsFromTheArchive() throws Exception {
    ProcessBuilder pb = new ProcessBuilder(home.resolve("bin/zcproxyctl").toString(), "--help").redirectErrorStream(true);
    pb.environment().remove("ZCPROXY_JAR"); // it must find lib/zcproxy.jar by itself
    pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
    assertThat(out).contains("Usage: zcproxyctl", "purge URL [--soft]", "reload");
  }

  /** What the build wrote: the checkout's short commit, or "unknown" when built outside git. */
  private static String expectedCommit() throws Exception {
    try {
      Process git = new ProcessBuilder("git", "rev-parse", "--short=12", "HEAD").redirectErrorStream(false).start();
      String out = new String(git.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      assertThat(git.waitFor(30, TimeUnit.SECONDS)).isTrue();
      return git.exitValue() == 0 && out.matches("[0-9a-f]+") ? out : "unknown";
    } catch (IOException noGit) {
      return "unknown";
    }
  }

  /**
   * The regular files under {@code cache} but temporary ones, walked while the proxy runs: a file that goes between
   * the listing and its attributes (the index snapshot's {@code .new}, renamed into place) is not counted, where
   * {@code Files.walk} would throw (it did once in CI).
   */
  private static long storedFiles(Path cache) throws java.io.IOException {
    long[] count = {0};
    Files.walkFileTree(cache, new java.nio.file.SimpleFileVisitor<>() {
      @Override
      public java.nio.file.FileVisitResult visitFile(Path f, java.nio.file.attribute.BasicFileAttributes a) {
        if (a.isRegularFile() && !f.toString().endsWith(".tmp") && !f.toString().endsWith(".new")) {
          count[0]++;
        }
        return java.nio.file.FileVisitResult.CONTINUE;
      }

      @Override
      public java.nio.file.FileVisitResult visitFileFailed(Path f, java.io.IOException e) throws java.io.IOException {
        if (e instanceof java.nio.file.NoSuchFileException) {
          return java.nio.file.FileVisitResult.CONTINUE; // gone meanwhile
        }
        throw e;
      }
    });
    return count[0];
  }
}
