package dev.zcproxy.cache.store;

import static dev.zcproxy.cache.store.StoreFixture.T0;
import static dev.zcproxy.cache.store.StoreFixture.body;
import static dev.zcproxy.cache.store.StoreFixture.meta;
import static dev.zcproxy.cache.store.StoreFixture.store;
import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.EntryMeta;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Soft purge, bans and tags in the store (the matching itself is tested on its own). */
class DiskStoreInvalidationTest {
  private static final long BIG = 1L << 30;

  @TempDir Path dir;
  StoreFixture fx;

  @BeforeEach
  void setUp() {
    fx = new StoreFixture(dir);
  }

  @Test
  void softInvalidateMarksEveryVariantInTheIndexAndOnDisk() {
    try (DiskStore s = fx.open(BIG)) {
      store(s, meta("http://a/x", "", T0), body(100, 1));
      store(s, meta("http://a/x", "gzip", T0), body(100, 2));
      store(s, meta("http://a/y", "", T0), body(100, 3));

      assertThat(s.softInvalidate("http://a/x", T0 + 7).join()).isEqualTo(2);

      assertThat(s.variants("http://a/x")).extracting(EntryMeta::invalidatedAt).containsOnly(T0 + 7);
      assertThat(s.variants("http://a/y")).extracting(EntryMeta::invalidatedAt).containsOnly(0L);
    }
    try (DiskStore s = fx.open(BIG)) {
      assertThat(s.variants("http://a/x")).hasSize(2).extracting(EntryMeta::invalidatedAt).containsOnly(T0 + 7);
    }
  }
}
