package dev.zcproxy.cache.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The snapshot file: every field round-trips; a damaged block ends the read with the whole blocks before it. */
class IndexSnapshotTest {
  static final List<String> TAGS = List.of("Surrogate-Key");

  @TempDir Path dir;

  private static List<StoreEntry> entries(int n) {
    List<StoreEntry> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      Key128 primary = i % 3 == 0 ? new Key128(i * 7L, -i) : null;
      List<String> tags = i % 5 == 0 ? List.of("t" + i, "caf\u00e9") : List.of();
      out.add(new StoreEntry(new IndexSnapshot.Record(i * 31L + 1, -i - 1L, (0xABCL << 40) | i, 1_700_000_000_000L + i,
          1 + i % 1000, i * 17, primary, tags)));
    }
    return out;
  }

  private static List<IndexSnapshot.Record> read(Path dir, List<String> tags, List<IndexSnapshot.Result> result) throws Exception {
    List<IndexSnapshot.Record> got = new ArrayList<>();
    result.add(IndexSnapshot.read(dir, tags, got::add));
    return got;
  }

  @Test
  void everyFieldRoundTripsAcrossBlocks() throws Exception {
    List<StoreEntry> es = entries(10_000);
    assertThat(IndexSnapshot.write(dir, es, TAGS, 0, false)).isEqualTo(10_000);
    List<IndexSnapshot.Result> r = new ArrayList<>();
    List<IndexSnapshot.Record> got = read(dir, TAGS, r);
    assertThat(r.get(0).complete()).isTrue();
    assertThat(got).hasSize(10_000);
    for (int i = 0; i < es.size(); i++) {
      StoreEntry want = es.get(i);
      StoreEntry back = new StoreEntry(got.get(i));
      assertThat(back).isEqualTo(want); // the key hash
      assertThat(back.generation).isEqualTo(want.generation);
      assertThat(back.retainUntil).isEqualTo(want.retainUntil);
      assertThat(back.diskKiB).isEqualTo(want.diskKiB);
      assertThat(back.fingerprint).isEqualTo(want.fingerprint);
      assertThat(back.primary()).isEqualTo(want.primary());
      assertThat(back.tags()).isEqualTo(want.tags());
    }
    assertThat(dir.resolve(IndexSnapshot.FILE + ".new")).doesNotExist();
  }

  @Test
  void aDamagedBlockEndsTheReadAfterTheWholeBlocksBeforeIt() throws Exception {
    IndexSnapshot.write(dir, entries(10_000), TAGS, 0, false);
    Path f = dir.resolve(IndexSnapshot.FILE);
    byte[] b = Files.readAllBytes(f);
    b[b.length * 9 / 10] ^= 1; // in the third block (4096, 4096, 1808 entries)
    Files.write(f, b);
    List<IndexSnapshot.Result> r = new ArrayList<>();
    List<IndexSnapshot.Record> got = read(dir, TAGS, r);
    assertThat(r.get(0).complete()).isFalse();
    assertThat(got).hasSize(2 * 4096);
    assertThat(r.get(0).records()).isEqualTo(2 * 4096);

    Files.write(f, java.util.Arrays.copyOf(b, b.length / 3)); // cut inside the first or second block
    got = read(dir, TAGS, r);
    assertThat(r.get(1).complete()).isFalse();
    assertThat(got.size()).isLessThanOrEqualTo(4096);
  }

  @Test
  void aSnapshotWithOtherTagHeadersOrNoneAtAllGivesNothing() throws Exception {
    List<IndexSnapshot.Result> r = new ArrayList<>();
    assertThat(read(dir, TAGS, r)).isEmpty();
    assertThat(r.get(0).complete()).isFalse();
    IndexSnapshot.write(dir, entries(10), TAGS, 0, false);
    assertThat(read(dir, List.of("Cache-Tag"), r)).isEmpty();
    assertThat(r.get(1).complete()).isFalse();
    assertThat(read(dir, TAGS, r)).hasSize(10);
  }

  @Test
  void generationSetAddsRemovesAndGrows() {
    GenerationSet s = new GenerationSet();
    for (long g = 1; g <= 100_000; g++) {
      s.add(g * 0x10000000001L);
    }
    assertThat(s.size()).isEqualTo(100_000);
    for (long g = 1; g <= 100_000; g += 2) {
      assertThat(s.remove(g * 0x10000000001L)).isTrue();
    }
    assertThat(s.size()).isEqualTo(50_000);
    for (long g = 1; g <= 100_000; g++) {
      assertThat(s.contains(g * 0x10000000001L)).isEqualTo(g % 2 == 0);
    }
    assertThat(s.remove(3)).isFalse();
  }
}
