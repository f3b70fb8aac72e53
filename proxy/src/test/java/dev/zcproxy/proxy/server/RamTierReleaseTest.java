package dev.zcproxy.proxy.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.EncodedHead;
import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.Headers;
import dev.zcproxy.cache.store.DiskStore;
import dev.zcproxy.cache.store.EntryWriter;
import dev.zcproxy.cache.store.StoreConfig;
import dev.zcproxy.proxy.config.ProxyConfig;
import dev.zcproxy.proxy.internal.RamBody;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A kept body's memory is freed once, when the tier lets go of it (drop, eviction, replacement) and no hit is copying
 * it out: a hit holds its own reference ({@link RamBody#tryRetain}), so a drop during the copy frees it after.
 */
class RamTierReleaseTest {
  private static final long T = 1_700_000_000_000L;
  private static final int SIZE = 4096;

  @TempDir
  Path dir;
  private DiskStore store;
  private final List<DiskStore.Indexed> indexed = new ArrayList<>();

  @BeforeEach
  void fill() throws Exception {
    store = DiskStore.open(new StoreConfig(dir, 1L << 30, false), Runnable::run, () -> T, m -> Long.MAX_VALUE);
    for (int k = 0; k < 3; k++) {
      EntryMeta meta = new EntryMeta("http://o/k" + k, "", 200, Headers.of("Cache-Control", "max-age=60"), T - 5, T, 0, 0);
      EntryWriter w = store.newWriter(meta, SIZE);
      byte[] bytes = new byte[SIZE];
      java.util.Arrays.fill(bytes, (byte) ('a' + k));
      w.write(ByteBuffer.wrap(bytes));
      indexed.add(store.indexed(w.commit().join()));
    }
  }

  @AfterEach
  void close() {
    store.close();
  }

  private static RamTier tier(long bytes) {
    return new RamTier(new ProxyConfig.Ram(bytes, 16 << 10), Runnable::run, () -> { }, () -> { }, () -> { });
  }

  private static byte[] bytes(char c) {
    byte[] b = new byte[SIZE];
    java.util.Arrays.fill(b, (byte) c);
    return b;
  }

  @Test
  void aBodyDroppedWhileAHitCopiesItIsFreedAfterTheCopy() {
    RamTier tier = tier(1 << 20);
    long gen = indexed.get(0).generation();
    assertThat(tier.keepFilled(gen, bytes('a'))).isTrue();
    RamBody body = tier.get(gen);
    assertThat(body.isDirect()).as("a 1 MiB tier fits beside the I/O buffers").isEqualTo(tier.direct()).isTrue();
    assertThat(body.tryRetain()).isTrue(); // the hit's reference
    tier.drop(gen); // purge, ban, eviction from the index, replacement: the store tells drop
    assertThat(tier.get(gen)).isNull();
    assertThat(body.freed()).isFalse();
    assertThat(body.toBuffer(0, 3).toString(StandardCharsets.US_ASCII)).isEqualTo("aaa"); // the copy still reads it
    body.release();
    assertThat(body.freed()).isTrue();
    assertThat(body.tryRetain()).as("a later hit cannot take it").isFalse();
  }

  @Test
  void aBodyEvictedWhileAHitCopiesItIsFreedOnceTheHitLetsGo() {
    RamTier tier = tier(2L * (SIZE + RamTier.OVERHEAD + RamTier.DIRECT_OVERHEAD + RamTier.HEAD_ESTIMATE) + 100);
    RamBody[] held = new RamBody[2];
    for (int k = 0; k < 2; k++) {
      assertThat(tier.keepFilled(indexed.get(k).generation(), bytes((char) ('a' + k)))).isTrue();
      held[k] = tier.get(indexed.get(k).generation());
      assertThat(held[k].tryRetain()).isTrue(); // a hit copying each out
    }
    for (int k = 0; k < 2; k++) { // heads of 3 KB each: the two no longer fit, one is evicted
      DiskStore.Indexed i = indexed.get(k);
      RamTier.Kept kept = tier.peek(i.generation());
      if (kept != null) { // the first one's head may have evicted the second already
        tier.withHead(i, kept, head(i, "x".repeat(3000)));
      }
    }
    assertThat(tier.size()).isEqualTo(1);
    int evicted = tier.get(indexed.get(0).generation()) == null ? 0 : 1;
    RamBody gone = held[evicted];
    RamBody kept = held[1 - evicted];
    assertThat(gone.freed()).as("evicted while held: still whole").isFalse();
    assertThat(gone.toBuffer(0, 1).toString(StandardCharsets.US_ASCII)).isEqualTo(String.valueOf((char) ('a' + evicted)));
    gone.release();
    kept.release();
    assertThat(gone.freed()).as("freed when the hit let go").isTrue();
    assertThat(kept.freed()).as("the tier's reference remains").isFalse();
    tier.drop(indexed.get(1 - evicted).generation());
    assertThat(kept.freed()).isTrue();
  }

  @Test
  void aHeadPairedWithItsBodyKeepsOneReferenceAndAReplacedBodyIsFreed() {
    RamTier tier = tier(1 << 20);
    DiskStore.Indexed i = indexed.get(0);
    long gen = i.generation();
    assertThat(tier.keepFilled(gen, bytes('a'))).isTrue();
    RamBody body = tier.get(gen);
    RamTier.Kept withHead = tier.withHead(i, tier.peek(gen), head(i)); // the Kept is replaced, the body is not
    assertThat(withHead.head()).isNotNull();
    assertThat(withHead.body()).isSameAs(body);
    assertThat(body.freed()).isFalse();
    assertThat(tier.keepFilled(gen, bytes('b'))).isTrue(); // a new body for the same generation replaces it
    assertThat(body.freed()).as("the replaced body, held by nothing").isTrue();
    RamBody next = tier.get(gen);
    assertThat(next.toBuffer(0, 1).toString(StandardCharsets.US_ASCII)).isEqualTo("b");
    tier.drop(gen);
    assertThat(next.freed()).isTrue();
  }

  @Test
  void aHeadForABodyDroppedMeanwhileIsNotKept() {
    RamTier tier = tier(1 << 20);
    DiskStore.Indexed i = indexed.get(0);
    assertThat(tier.keepFilled(i.generation(), bytes('a'))).isTrue();
    RamTier.Kept k = tier.peek(i.generation());
    tier.drop(i.generation());
    assertThat(k.body().freed()).isTrue();
    assertThat(tier.withHead(i, k, head(i))).isSameAs(k);
    assertThat(tier.peek(i.generation())).isNull();
  }

  @Test
  void aTierTooLargeForTheDirectLimitKeepsItsBodiesOnTheHeap() {
    RamTier tier = tier(RamBody.maxDirectMemory()); // never fits beside the I/O buffers' room
    assertThat(tier.direct()).isFalse();
    long gen = indexed.get(0).generation();
    assertThat(tier.keepFilled(gen, bytes('a'))).isTrue();
    assertThat(tier.get(gen).isDirect()).isFalse();
    RamBody body = tier.get(gen);
    tier.drop(gen);
    assertThat(body.freed()).isTrue();
  }

  private static HitHead head(DiskStore.Indexed i) {
    return head(i, "1");
  }

  private static HitHead head(DiskStore.Indexed i, String field) {
    EncodedHead h = EncodedHead.builder(200, "OK").field("x-field", field).field("content-length", Integer.toString(SIZE))
        .build();
    return new HitHead(h, i.meta(), RamTierReleaseTest.class);
  }
}
