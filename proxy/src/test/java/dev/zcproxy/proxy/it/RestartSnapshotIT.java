package dev.zcproxy.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.store.DiskStore;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Restarts through the proxy with real cache files: a clean stop leaves the index snapshot and the
 * next start indexes from it (hits, no origin request); a purge made after the snapshot survives a
 * crash (the directory copied as a kill would leave it: no snapshot at stop).
 */
class RestartSnapshotIT extends OriginAndProxy {
  @TempDir Path crashDir;

  private void fill(String... paths) throws Exception {
    for (String p : paths) {
      origin.serve(p, ("body of " + p).getBytes(), "Cache-Control", "max-age=3600");
      assertThat(proxy.get(p).statusCode()).isEqualTo(200);
    }
    proxy.server.metrics().whenStored(paths.length).get(20, TimeUnit.SECONDS);
  }

  private void assertHit(String path) throws Exception {
    HttpResponse<byte[]> r = proxy.get(path);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(new String(r.body())).isEqualTo("body of " + path);
    assertThat(r.headers().firstValue("x-cache")).as(path).hasValue("HIT");
  }

  @Test
  void aCleanStopLeavesTheSnapshotAndTheRestartIndexesFromIt() throws Exception {
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    fill("/a", "/b", "/c");
    int port = proxy.server.port(); // the primary key holds the Host the client used: keep it
    proxy.close();
    proxy = null;
    assertThat(cacheDir.resolve("index.snapshot")).exists();

    proxy = ProxyFixture.start(origin.url(), cacheDir, "listen.address: 127.0.0.1:" + port);
    DiskStore store = proxy.server.store();
    store.indexLoaded().get(20, TimeUnit.SECONDS);
    assertThat(store.loadedFromSnapshot()).isEqualTo(3);
    for (String p : new String[] {"/a", "/b", "/c"}) {
      assertHit(p);
      assertThat(origin.requests(p)).isEqualTo(1);
    }
    assertThat(store.foundOnDisk()).isZero();
  }

  @Test
  void theIndexWaitsForTheFirstResponseWhichFindsItsEntryOnDisk() throws Exception {
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    fill("/a", "/b");
    int port = proxy.server.port();
    proxy.close();
    proxy = null;

    // no second-long fallback here: only the first response lets the snapshot load start
    proxy = ProxyFixture.start(ProxyFixture.config(origin.url(), cacheDir, "listen.address: 127.0.0.1:" + port),
        s -> s.storeStartAfter(java.time.Duration.ofHours(1)));
    DiskStore store = proxy.server.store();
    assertThat(store.indexLoaded()).as("started, nothing answered yet").isNotDone();
    assertHit("/a");
    assertThat(store.foundOnDisk()).as("/a by its key hash while the index waited").isEqualTo(1);
    store.indexLoaded().get(20, TimeUnit.SECONDS);
    store.scanned().get(20, TimeUnit.SECONDS);
    assertHit("/b");
    assertThat(store.foundOnDisk()).as("/b from the snapshot's index").isEqualTo(1);
    assertThat(origin.requests("/a")).isEqualTo(1);
    assertThat(origin.requests("/b")).isEqualTo(1);
    proxy.server.metrics().whenResponses(dev.zcproxy.cache.CacheOutcome.HIT, 2).get(20, TimeUnit.SECONDS); // both counted
  }

  @Test
  void aPurgeAfterTheSnapshotIsNotUndoneByACrash() throws Exception {
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    fill("/a", "/b");
    int port = proxy.server.port();
    proxy.close(); // the snapshot knows /a and /b
    proxy = ProxyFixture.start(origin.url(), cacheDir, "listen.address: 127.0.0.1:" + port);
    DiskStore store = proxy.server.store();
    store.scanned().get(20, TimeUnit.SECONDS);
    EntryMeta a = store.list("", 10).stream().filter(m -> m.primaryKey().endsWith("/a")).findFirst().orElseThrow();
    assertThat(store.invalidate(a.primaryKey())).isEqualTo(1);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (entryFiles(cacheDir) != 1 && System.nanoTime() < deadline) { // its file is deleted on the cache I/O pool
      Thread.sleep(10);
    }
    assertThat(entryFiles(cacheDir)).isEqualTo(1);
    copy(cacheDir, crashDir); // what kill -9 would leave now
    proxy.close();
    proxy = null;

    proxy = ProxyFixture.start(origin.url(), crashDir, "listen.address: 127.0.0.1:" + port);
    proxy.server.store().indexLoaded().get(20, TimeUnit.SECONDS);
    assertThat(proxy.server.store().loadedFromSnapshot()).isEqualTo(2); // the snapshot still names /a
    assertHit("/b");
    HttpResponse<byte[]> r = proxy.get("/a");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("x-cache")).hasValue("MISS");
    assertThat(origin.requests("/a")).isEqualTo(2);
    assertThat(origin.requests("/b")).isEqualTo(1);
  }

  private static long entryFiles(Path dir) throws Exception {
    try (Stream<Path> s = Files.walk(dir)) {
      return s.filter(Files::isRegularFile).filter(p -> p.getFileName().toString().matches("[0-9a-f]{32}-[0-9a-f]{16}")).count();
    }
  }

  private static void copy(Path from, Path to) throws Exception {
    try (Stream<Path> s = Files.walk(from)) {
      for (Path p : s.toList()) {
        Path t = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(t);
        } else {
          Files.copy(p, t);
        }
      }
    }
  }
}
