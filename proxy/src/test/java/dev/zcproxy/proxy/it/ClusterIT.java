package dev.zcproxy.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.proxy.ProxyServer;
import dev.zcproxy.proxy.cluster.Cluster;
import dev.zcproxy.proxy.cluster.Rendezvous;
import dev.zcproxy.proxy.config.ConfigLoader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Three zcproxy nodes on loopback in front of one counting origin: nodes 1 and 3 in this JVM (sharing a
 * fake clock), node 2 a child JVM from the shipped jar, so that "node killed" is a SIGKILL to its PID.
 * The nodes are shared by the tests, which run in order (the kill and the return build on each other).
 *
 * <p>Every request names the same {@code Host} on every node, as clients behind a load balancer do: the
 * cache key (and so its owner) is the same whichever node is asked.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterIT {
  private static final String HOST = "site.test";
  private static final String SECRET = "cluster-it-secret-0123456789";
  private static final String TOKEN = "cluster-it-admin-token-0123";
  private static final long OWNER_TIMEOUT_MS = 2000;
  private static final int KEYS = 12;
  /** Long enough for the tests after node 2's return on a busy machine. */
  private static final String HANDOFF_WINDOW = System.getProperty("clusterit.handoff-window", "5m");

  private final AtomicLong clock = new AtomicLong(System.currentTimeMillis());
  private Path dir;
  private FixtureOrigin origin;
  private int[] hzPorts;
  private int node2Port;
  private int node2Admin;
  private ProxyServer node1;
  private ProxyServer node3;
  private Process node2;
  private Path node2Log;
  /** A key of node 2, purged on node 1 while node 2 is down. */
  private String purgedWhileAway;
  /** Keys of node 2 first requested while it is down: stored by the nodes that took them over. */
  private final List<String> takenOver = new ArrayList<>();

  // ---------------------------------------------------------------- setup

  @BeforeAll
  void startThreeNodes() throws Exception {
    // Not a junit/zcproxy-named temp dir: the shared nodes keep cache files open from test to test,
    // which ResourceGuard (per test) would report.
    dir = Files.createTempDirectory("clusterit");
    origin = FixtureOrigin.start();
    for (int i = 0; i < KEYS; i++) {
      origin.serve("/k/" + i, ("body " + i).getBytes(StandardCharsets.UTF_8), "Cache-Control", "max-age=3600",
          "ETag", "\"e" + i + "\"");
    }
    hzPorts = new int[] {freePort(), freePort(), freePort()};
    node2Port = freePort();
    node2Admin = freePort();
    writeNode2Config();
    node2 = launchNode2();
    ExecutorService starting = Executors.newFixedThreadPool(2);
    try {
      Future<ProxyServer> n1 = starting.submit(() -> startInJvm(1, SECRET));
      Future<ProxyServer> n3 = starting.submit(() -> startInJvm(3, SECRET));
      node1 = n1.get(120, TimeUnit.SECONDS);
      node3 = n3.get(120, TimeUnit.SECONDS);
    } finally {
      starting.shutdown();
    }
    awaitNode2Started();
    await("three members on every node", 60_000, () -> node1.cluster().members().size() == 3
        && node3.cluster().members().size() == 3 && health(node2Admin).contains("3 members"));
  }

  @AfterAll
  void stop() throws Exception {
    if (node2 != null) {
      node2.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    }
    for (ProxyServer s : new ProxyServer[] {node1, node3}) {
      if (s != null) {
        s.close().toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
      }
    }
    if (origin != null) {
      origin.close();
    }
    if (dir != null) {
      try (Stream<Path> files = Files.walk(dir)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  private String clusterYaml(int hzPort, String secret) {
    // the hand-off window is what node 2 needs when it comes back; nodes 1 and 3 never come back, and
    // with it their cold misses of the first tests would each ask a previous owner first (node 2, a
    // slow child JVM on a busy machine) within the forwarding node's owner timeout
    String window = hzPort == hzPorts[1] ? HANDOFF_WINDOW : "0s";
    return "cluster:\n  enabled: true\n  secret: " + secret + "\n  port: " + hzPort
        + "\n  members: [127.0.0.1:" + hzPorts[0] + ", 127.0.0.1:" + hzPorts[1] + ", 127.0.0.1:" + hzPorts[2] + "]"
        + "\n  owner-timeout: " + OWNER_TIMEOUT_MS + "ms\n  failure-timeout: 2s\n  handoff-window: " + window + "\n";
  }

  private ProxyServer startInJvm(int node, String secret) throws Exception {
    return startInJvm(node, secret, hzPorts[node - 1]);
  }

  private ProxyServer startInJvm(int node, String secret, int hzPort) throws Exception {
    String yaml = "listen:\n  address: 127.0.0.1:0\n  event-loops: 1\n  shutdown-grace: 2s\n"
        + "origin:\n  url: " + origin.url() + "\n  connect-timeout: 2s\n  first-byte-timeout: 5s\n  idle-timeout: 5s\n"
        + "cache:\n  dir: " + dir.resolve("cache" + node + "-" + hzPort) + "\n  max-size: 64MiB\n"
        + "admin:\n  address: 127.0.0.1:0\n  token: " + TOKEN + "\n"
        + "logging:\n  access-log: off\n"
        + clusterYaml(hzPort, secret);
    ProxyServer s = new ProxyServer(ConfigLoader.parse(yaml, "node" + node + ".yaml"), clock::get);
    s.start().toCompletionStage().toCompletableFuture().get(120, TimeUnit.SECONDS);
    return s;
  }

  private void writeNode2Config() throws IOException {
    String yaml = "listen:\n  address: 127.0.0.1:" + node2Port + "\n  event-loops: 1\n  shutdown-grace: 1s\n"
        + "origin:\n  url: " + origin.url() + "\n  connect-timeout: 2s\n  first-byte-timeout: 5s\n  idle-timeout: 5s\n"
        + "cache:\n  dir: " + dir.resolve("cache2") + "\n  max-size: 64MiB\n"
        + "admin:\n  address: 127.0.0.1:" + node2Admin + "\n  token: " + TOKEN + "\n"
        + "logging:\n  access-log: off\n"
        + clusterYaml(hzPorts[1], SECRET);
    Files.writeString(dir.resolve("node2.yaml"), yaml);
  }

  private Process launchNode2() throws IOException {
    Path jar = Path.of("target", "zcproxy.jar").toAbsolutePath();
    assertThat(jar).exists();
    node2Log = dir.resolve("node2-" + System.nanoTime() + ".log");
    return new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
        "-XX:TieredStopAtLevel=1", "-jar", jar.toString(), "--config", dir.resolve("node2.yaml").toString())
        .redirectErrorStream(true).redirectOutput(node2Log.toFile()).start();
  }

  private void awaitNode2Started() throws Exception {
    await("node 2 printed its start line", 120_000, () -> {
      try {
        return Files.readString(node2Log).contains("zcproxy listening on");
      } catch (IOException e) {
        return false;
      }
    });
  }

  // ---------------------------------------------------------------- tests

  @Test
  @Order(1)
  void aColdKeyRequestedOnEveryNodeReachesTheOriginOnceAndIsStoredOnlyByItsOwner() throws Exception {
    Map<String, Integer> owners = new LinkedHashMap<>();
    for (int i = 0; i < KEYS; i++) {
      String path = "/k/" + i;
      for (int port : dataPorts()) {
        Response r = get(port, path);
        assertThat(r.status).as(path + " on " + port).isEqualTo(200);
        assertThat(r.body).isEqualTo("body " + i);
      }
      assertThat(origin.requests(path)).as("origin requests for " + path).isEqualTo(1);
      int owner = ownerNode(path);
      owners.put(path, owner);
      // A small body reaches its client before the owner's one-task commit on its cache-io pool is done.
      if (owner == 1 || owner == 3) {
        ProxyServer o = owner == 1 ? node1 : node3;
        await(path + " stored on node " + owner, 20_000, () -> o.store().variants(key(path)).size() == 1);
      }
      // only the owner stores: the in-JVM nodes' indexes say so
      assertThat(node1.store().variants(key(path))).as(path + " on node 1 (owner " + owner + ")").hasSize(owner == 1 ? 1 : 0);
      assertThat(node3.store().variants(key(path))).as(path + " on node 3 (owner " + owner + ")").hasSize(owner == 3 ? 1 : 0);
    }
    assertThat(owners.values()).as("every node owns some of %d keys: %s", KEYS, owners).contains(1, 2, 3);
    assertThat(metric(node1, "zcproxy_cluster_forwarded_total")).isPositive();
  }

  @Test
  @Order(2)
  void concurrentMissesOnAllThreeNodesAreOneOriginRequest() throws Exception {
    CountDownLatch arrived = new CountDownLatch(1);
    AtomicInteger seen = new AtomicInteger();
    origin.route("/slow", req -> {
      seen.incrementAndGet();
      arrived.countDown();
      // answered once all three nodes had time to ask: the owner holds them in one fill
      origin.vertx().setTimer(500, t -> req.response().putHeader("Cache-Control", "max-age=3600").end("slow"));
    });
    ExecutorService clients = Executors.newFixedThreadPool(3);
    try {
      List<Future<Response>> all = new ArrayList<>();
      for (int port : dataPorts()) {
        all.add(clients.submit(() -> get(port, "/slow")));
      }
      for (Future<Response> f : all) {
        Response r = f.get(30, TimeUnit.SECONDS);
        assertThat(r.status).isEqualTo(200);
        assertThat(r.body).isEqualTo("slow");
      }
    } finally {
      clients.shutdown();
    }
    assertThat(seen.get()).isEqualTo(1);
  }

  @Test
  @Order(3)
  void ageAndConditionalsStayRightThroughTheHop() throws Exception {
    String path = pathOwnedBy(3, "/age/");
    origin.serve(path, "aged".getBytes(StandardCharsets.UTF_8), "Cache-Control", "max-age=3600", "ETag", "\"a1\"");
    assertThat(get(node3.port(), path).status).isEqualTo(200); // stored by its owner at t0
    clock.addAndGet(100_000);
    Response viaNode1 = get(node1.port(), path);
    assertThat(viaNode1.status).isEqualTo(200);
    assertThat(viaNode1.header("age")).isEqualTo("100"); // the owner's age of its stored copy, relayed as it is
    assertThat(viaNode1.header("cache-status")).contains("hit").contains("detail=owner");
    Response conditional = get(node1.port(), path, "If-None-Match", "\"a1\"");
    assertThat(conditional.status).isEqualTo(304); // answered by the owner from its cache
    assertThat(conditional.body).isEmpty();
    assertThat(get(node1.port(), path, "Range", "bytes=1-2").body).isEqualTo("ge");
    assertThat(origin.requests(path)).isEqualTo(1);
    assertThat(node1.store().variants(key(path))).isEmpty();
  }

  @Test
  @Order(4)
  void aPurgeAndABanOnNode1ReachNodes2And3WithinASecond() throws Exception {
    String on2 = pathOwnedBy(2, "/purge/");
    String on3 = pathOwnedBy(3, "/purge/");
    for (String p : List.of(on2, on3)) {
      origin.serve(p, "p".getBytes(StandardCharsets.UTF_8), "Cache-Control", "max-age=3600");
      assertThat(get(node1.port(), p).status).isEqualTo(200);
    }
    // the owner commits its fill just after the response went out
    await("stored at the owners", 10_000, () -> tryAdminGet(node2Admin, "/entries?url=" + url(on2)).status == 200
        && node3.store().variants(key(on3)).size() == 1);
    assertThat(admin(node1.adminPort(), "POST", "/purge?url=" + url(on2)).status).isEqualTo(200);
    assertThat(admin(node1.adminPort(), "POST", "/purge?url=" + url(on3)).status).isEqualTo(200);
    // within a second of node 1 answering the purges
    await("the purges reached nodes 2 and 3", 1000, () -> node3.store().variants(key(on3)).isEmpty()
        && tryAdminGet(node2Admin, "/entries?url=" + url(on2)).status == 404);
    // a purged key is fetched again, once
    get(node3.port(), on2);
    assertThat(origin.requests(on2)).isEqualTo(2);

    assertThat(admin(node1.adminPort(), "POST", "/ban?prefix=http://" + HOST + "/banned/").status).isEqualTo(200);
    await("the ban reached nodes 2 and 3", 1000, () -> tryAdminGet(node2Admin, "/bans").body.contains(HOST + "/banned/")
        && node3.store().bans().list().stream().anyMatch(b -> b.expression().equals(HOST + "/banned/")));
    assertThat(metric(node3, "zcproxy_cluster_invalidations_received_total")).isGreaterThanOrEqualTo(3);

    // RFC 9111 §4.4: a POST answered through node 1 invalidates the URI in its owner's cache too
    String posted = pathOwnedBy(3, "/post/");
    origin.serve(posted, "v1".getBytes(StandardCharsets.UTF_8), "Cache-Control", "max-age=3600");
    assertThat(get(node1.port(), posted).status).isEqualTo(200);
    await("stored at its owner", 10_000, () -> node3.store().variants(key(posted)).size() == 1);
    Response post = exchange(node1.port(), "POST " + posted + " HTTP/1.1\r\nHost: " + HOST
        + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    assertThat(post.status).isEqualTo(200);
    await("the POST's invalidation reached the owner", 1000, () -> node3.store().variants(key(posted)).isEmpty());
  }

  @Test
  @Order(5)
  void node2KilledDuringALoadOfIdempotentRequestsFailsNone() throws Exception {
    List<String> paths = new ArrayList<>();
    for (int i = 0; i < KEYS; i++) {
      paths.add("/k/" + i);
    }
    paths.add(pathOwnedBy(2, "/cold/")); // misses for a key of node 2 while it dies
    paths.add(pathOwnedBy(2, "/cold/"));
    for (String p : paths) {
      if (p.startsWith("/cold/")) {
        origin.serve(p, "cold".getBytes(StandardCharsets.UTF_8), "Cache-Control", "max-age=3600");
      }
    }
    purgedWhileAway = pathOwnedBy(2, "/away/");
    origin.serve(purgedWhileAway, "v1".getBytes(StandardCharsets.UTF_8), "Cache-Control", "max-age=3600");
    assertThat(get(node1.port(), purgedWhileAway).body).isEqualTo("v1");
    await("stored at node 2", 10_000, () -> tryAdminGet(node2Admin, "/entries?url=" + url(purgedWhileAway)).status == 200);
    int perClient = 150;
    AtomicInteger failed = new AtomicInteger();
    AtomicLong slowest = new AtomicLong();
    CountDownLatch halfway = new CountDownLatch(2);
    ExecutorService clients = Executors.newFixedThreadPool(2);
    List<Future<?>> load = new ArrayList<>();
    for (ProxyServer node : List.of(node1, node3)) {
      load.add(clients.submit((Callable<Void>) () -> {
        for (int n = 0; n < perClient; n++) {
          if (n == perClient / 3) {
            halfway.countDown();
          }
          String p = paths.get(n % paths.size());
          long start = System.nanoTime();
          try {
            Response r = get(node.port(), p);
            if (r.status != 200 || r.body.isEmpty()) {
              failed.incrementAndGet();
            }
          } catch (IOException e) {
            failed.incrementAndGet();
          }
          slowest.accumulateAndGet((System.nanoTime() - start) / 1_000_000, Math::max);
        }
        return null;
      }));
    }
    assertThat(halfway.await(60, TimeUnit.SECONDS)).isTrue();
    node2.destroyForcibly(); // SIGKILL: no goodbye to the cluster
    assertThat(node2.waitFor(30, TimeUnit.SECONDS)).isTrue();
    try {
      for (Future<?> f : load) {
        f.get(120, TimeUnit.SECONDS);
      }
    } finally {
      clients.shutdown();
    }
    assertThat(failed.get()).as("failed requests").isZero();
    // a dead owner costs at most the owner timeout (plus scheduling on 2 shared cores)
    assertThat(slowest.get()).as("slowest request, ms").isLessThan(OWNER_TIMEOUT_MS + 2000);
    await("node 2 left the members of nodes 1 and 3", 30_000,
        () -> node1.cluster().members().size() == 2 && node3.cluster().members().size() == 2);
    // while node 2 is away: a ban it must learn when it is back
    assertThat(admin(node3.adminPort(), "POST", "/ban?prefix=http://" + HOST + "/while-away/").status).isEqualTo(200);
    // and a purge of an object it holds on disk; node 2 runs on the real clock, and a replayed purge
    // removes what was stored before it: node 1's time must not be behind node 2's
    clock.accumulateAndGet(System.currentTimeMillis(), Math::max);
    origin.serve(purgedWhileAway, "v2".getBytes(StandardCharsets.UTF_8), "Cache-Control", "max-age=3600");
    assertThat(admin(node1.adminPort(), "POST", "/purge?url=" + url(purgedWhileAway)).status).isEqualTo(200);
    // keys of node 2 asked for while it is away: the nodes that took them over fetch and store them
    for (int i = 0; i < 4; i++) {
      String p = pathOwnedBy(2, "/taken/");
      takenOver.add(p);
      origin.serve(p, ("taken " + i).getBytes(StandardCharsets.UTF_8), "Cache-Control", "max-age=3600");
      assertThat(get(node1.port(), p).status).isEqualTo(200);
    }
    await("stored by the nodes that took them over", 10_000, () -> takenOver.stream()
        .allMatch(p -> node1.store().variants(key(p)).size() + node3.store().variants(key(p)).size() == 1));
    for (String p : takenOver) {
      assertThat(origin.requests(p)).isEqualTo(1);
    }
  }

  @Test
  @Order(6)
  void node2BackTakesItsKeysBackWarmAndLearnsTheBanItMissed() throws Exception {
    String fresh = pathOwnedBy(2, "/back/");
    origin.serve(fresh, "back".getBytes(StandardCharsets.UTF_8), "Cache-Control", "max-age=3600");
    node2 = launchNode2();
    awaitNode2Started();
    await("three members again", 60_000, () -> node1.cluster().members().size() == 3
        && node3.cluster().members().size() == 3);
    // its old keys: node 2 kept them on disk, so taking them back costs the origin nothing
    for (int i = 0; i < KEYS; i++) {
      String p = "/k/" + i;
      if (ownerNode(p) == 2) {
        int before = origin.requests(p);
        // first on node 2 itself (its first requests after the start are its slowest on a busy machine)
        assertThat(get(node2Port, p).status).isEqualTo(200);
        Response r1 = get(node1.port(), p);
        Response r3 = get(node3.port(), p);
        assertThat(r1.status).isEqualTo(200);
        assertThat(r3.status).isEqualTo(200);
        assertThat(origin.requests(p)).as(p + " again, via nodes 1 and 3: " + r1.header("cache-status") + " / "
            + r3.header("cache-status")).isEqualTo(before);
      }
    }
    // a new key of node 2, asked on every node: fetched once, stored on node 2
    for (int port : dataPorts()) {
      assertThat(get(port, fresh).body).isEqualTo("back");
    }
    assertThat(origin.requests(fresh)).isEqualTo(1);
    assertThat(adminGet(node2Admin, "/entries?url=" + url(fresh)).status).isEqualTo(200);
    assertThat(node1.store().variants(key(fresh))).isEmpty();
    assertThat(node3.store().variants(key(fresh))).isEmpty();
    // the ban made while it was away, from the cluster's ban map
    await("node 2 re-applied the ban it missed", 10_000,
        () -> tryAdminGet(node2Admin, "/bans").body.contains(HOST + "/while-away/"));
  }

  @Test
  @Order(7)
  void node2BackReplaysThePurgeItMissed() throws Exception {
    // node 2 still had the purged object on disk when it came back; the cluster's log told it
    await("node 2 dropped the object purged while it was away", 10_000,
        () -> tryAdminGet(node2Admin, "/entries?url=" + url(purgedWhileAway)).status == 404);
    Response r = get(node2Port, purgedWhileAway);
    assertThat(r.body).isEqualTo("v2");
    assertThat(origin.requests(purgedWhileAway)).as("fetched again after the purge").isEqualTo(2);
    assertThat(health(node2Admin)).containsPattern("replayed [1-9]");
  }

  @Test
  @Order(8)
  void node2BackTakesTheKeysStoredElsewhereMeanwhileWithoutAskingTheOrigin() throws Exception {
    // a load on its keys on every node at once: node 2 gets them from the nodes that held them meanwhile
    ExecutorService clients = Executors.newFixedThreadPool(6);
    try {
      List<Future<Response>> all = new ArrayList<>();
      for (String p : takenOver) {
        for (int port : dataPorts()) {
          all.add(clients.submit(() -> get(port, p)));
          all.add(clients.submit(() -> get(port, p)));
        }
      }
      for (Future<Response> f : all) {
        Response r = f.get(30, TimeUnit.SECONDS);
        assertThat(r.status).isEqualTo(200);
        assertThat(r.body).startsWith("taken ");
      }
    } finally {
      clients.shutdown();
    }
    for (String p : takenOver) {
      assertThat(origin.requests(p)).as("origin requests for " + p + " (1 while node 2 was away)").isEqualTo(1);
      await("stored at node 2, its owner", 10_000, () -> tryAdminGet(node2Admin, "/entries?url=" + url(p)).status == 200);
    }
    assertThat(health(node2Admin)).containsPattern("handed over [1-9]");
  }

  @Test
  @Order(9)
  void aNodeDropsItsStaleCopyOfAKeyItNoLongerOwnsInsteadOfRevalidatingIt() throws Exception {
    String p = takenOver.get(0);
    ProxyServer holder = node1.store().variants(key(p)).isEmpty() ? node3 : node1;
    assertThat(holder.store().variants(key(p))).hasSize(1); // stored while node 2 was away
    clock.addAndGet(2 * 3600_000L); // its copy is stale now (node 2 keeps the real clock: its copy is fresh)
    Response r = get(holder.port(), p);
    assertThat(r.status).isEqualTo(200);
    assertThat(r.body).startsWith("taken ");
    // answered by the owner, and the old copy is gone rather than revalidated and kept
    assertThat(holder.store().variants(key(p))).isEmpty();
    assertThat(get(holder.port(), p).header("cache-status")).contains("detail=owner");
    assertThat(holder.store().variants(key(p))).isEmpty();
    assertThat(origin.requests(p)).isEqualTo(1);
  }

  @Test
  @Order(10)
  void aNodeWithAnotherSecretDoesNotJoin() throws Exception {
    ProxyServer stranger = startInJvm(4, "another-secret-0123456789", freePort());
    try {
      assertThat(stranger.cluster().members()).hasSize(1);
      assertThat(node1.cluster().members()).hasSize(3);
      assertThat(node3.cluster().members()).hasSize(3);
      // and it forwards nothing to the cluster: every key is its own
      assertThat(stranger.cluster().ownerOf(key("/k/0"))).isNull();
    } finally {
      stranger.close().toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    }
  }

  // ---------------------------------------------------------------- helpers

  private int[] dataPorts() {
    return new int[] {node1.port(), node2Port, node3.port()};
  }

  private static String key(String path) {
    return "http://" + HOST + path;
  }

  private static String url(String path) {
    return "http://" + HOST + path;
  }

  /** Which node (1, 2, 3) owns {@code path}, computed as every node computes it. */
  private int ownerNode(String path) {
    Cluster.Node owner = Rendezvous.owner(node1.cluster().members(), key(path));
    int port = owner.port();
    return port == node1.port() ? 1 : port == node2Port ? 2 : port == node3.port() ? 3 : -1;
  }

  /** The first {@code prefix + n} not used yet that {@code node} owns (with all three members). */
  private final AtomicInteger pathSeq = new AtomicInteger();

  private String pathOwnedBy(int node, String prefix) {
    List<Cluster.Node> three = List.of(new Cluster.Node("1", "127.0.0.1", node1.port()),
        new Cluster.Node("2", "127.0.0.1", node2Port), new Cluster.Node("3", "127.0.0.1", node3.port()));
    int want = node == 1 ? node1.port() : node == 2 ? node2Port : node3.port();
    for (int i = 0; i < 10_000; i++) {
      String p = prefix + pathSeq.incrementAndGet();
      if (Rendezvous.owner(three, key(p)).port() == want) {
        return p;
      }
    }
    throw new AssertionError("no key for node " + node);
  }

  private static long metric(ProxyServer s, String name) {
    for (String line : s.metrics().toPrometheus().split("\n")) {
      if (line.startsWith(name + " ") || line.startsWith(name + "{")) {
        return (long) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    throw new AssertionError("no metric " + name);
  }

  private String health(int adminPort) {
    try {
      return adminGet(adminPort, "/health").body;
    } catch (IOException e) {
      return "";
    }
  }

  private static void await(String what, long millis, BooleanSupplier done) throws InterruptedException {
    long deadline = System.nanoTime() + millis * 1_000_000;
    while (!done.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within " + millis + " ms: " + what);
      }
      Thread.sleep(20); // polling another node's state: no event to wait on across the cluster
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  /** A response read off a raw HTTP/1.1 connection. */
  record Response(int status, Map<String, String> headers, String body) {
    String header(String name) {
      return headers.get(name.toLowerCase(Locale.ROOT));
    }
  }

  /** A GET with {@code Host: site.test} on every node (java.net.http does not let a test set Host). */
  private static Response get(int port, String path, String... headers) throws IOException {
    StringBuilder req = new StringBuilder("GET " + path + " HTTP/1.1\r\nHost: " + HOST + "\r\nConnection: close\r\n");
    for (int i = 0; i < headers.length; i += 2) {
      req.append(headers[i]).append(": ").append(headers[i + 1]).append("\r\n");
    }
    return exchange(port, req.append("\r\n").toString());
  }

  /** An admin GET for polling: a node not answering yet is an empty response with status -1. */
  private static Response tryAdminGet(int port, String path) {
    try {
      return admin(port, "GET", path);
    } catch (IOException e) {
      return new Response(-1, Map.of(), "");
    }
  }

  private static Response adminGet(int port, String path) throws IOException {
    return admin(port, "GET", path);
  }

  private static Response admin(int port, String method, String path) throws IOException {
    return exchange(port, method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nAuthorization: Bearer " + TOKEN
        + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  }

  private static Response exchange(int port, String request) throws IOException {
    try (Socket s = new Socket(java.net.InetAddress.getLoopbackAddress(), port)) {
      s.setSoTimeout(30_000);
      OutputStream out = s.getOutputStream();
      out.write(request.getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      InputStream in = s.getInputStream();
      ByteArrayOutputStream all = new ByteArrayOutputStream();
      in.transferTo(all);
      String text = all.toString(StandardCharsets.ISO_8859_1);
      int end = text.indexOf("\r\n\r\n");
      if (end < 0) {
        throw new IOException("no response head from port " + port + ": \"" + text + "\"");
      }
      String[] lines = text.substring(0, end).split("\r\n");
      Map<String, String> h = new LinkedHashMap<>();
      for (int i = 1; i < lines.length; i++) {
        int c = lines[i].indexOf(':');
        h.merge(lines[i].substring(0, c).trim().toLowerCase(Locale.ROOT), lines[i].substring(c + 1).trim(), (a, b) -> a + ", " + b);
      }
      String body = text.substring(end + 4);
      if ("chunked".equalsIgnoreCase(h.get("transfer-encoding"))) {
        body = dechunk(body);
      }
      return new Response(Integer.parseInt(lines[0].split(" ")[1]), h, body);
    }
  }

  private static String dechunk(String s) {
    StringBuilder out = new StringBuilder();
    int i = 0;
    while (i < s.length()) {
      int eol = s.indexOf("\r\n", i);
      int n = Integer.parseInt(s.substring(i, eol).split(";")[0].trim(), 16);
      if (n == 0) {
        break;
      }
      out.append(s, eol + 2, eol + 2 + n);
      i = eol + 2 + n + 2;
    }
    return out.toString();
  }
}
