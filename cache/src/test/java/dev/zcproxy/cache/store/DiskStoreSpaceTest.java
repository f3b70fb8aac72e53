package dev.zcproxy.cache.store;

import static dev.zcproxy.cache.store.StoreFixture.body;
import static dev.zcproxy.cache.store.StoreFixture.meta;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The store on a small file system (its free space modelled as a capacity less the bytes of every
 * file in the cache directory): it keeps {@code minFreeBytes} free, evicts to make room, refuses a
 * body that could never fit, and keeps space reserved for a spliced fill away from other writers.
 */
class DiskStoreSpaceTest {
  static final int MIB = 1 << 20;
  static final long CAPACITY = 10L * MIB;

  @TempDir
  Path dir;
  StoreFixture fx;
  DiskStore store;

  @BeforeEach
  void setUp() {
    fx = new StoreFixture(dir);
    store = DiskStore.open(new StoreConfig(dir, 1L << 30, false).withMinFreeBytes(MIB), Runnable::run, fx.clock::get,
        m -> m.responseTime() + StoreFixture.HOUR);
    store.freeSpaceProbe = () -> CAPACITY - bytesInDir();
    store.measureFree();
  }

  @AfterEach
  void tearDown() {
    store.close();
  }

  long bytesInDir() {
    try (Stream<Path> s = Files.walk(dir)) {
      return s.filter(Files::isRegularFile).mapToLong(p -> {
        try {
          return Files.size(p);
        } catch (IOException e) {
          return 0; // deleted meanwhile
        }
      }).sum();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Test
  void aFullFileSystemEvictsTheColdestEntriesToStoreANewOne() {
    StoreFixture.store(store, meta("http://h/a"), body(3 * MIB, 1));
    StoreFixture.store(store, meta("http://h/b"), body(3 * MIB, 2));
    assertThat(store.evictedForSpace()).isZero();
    // 9 MiB may be used (10 MiB less 1 MiB min-free); 6 MiB and two headers are: a third 3 MiB body
    // needs an eviction.
    StoreFixture.store(store, meta("http://h/c"), body(3 * MIB, 3));
    assertThat(store.variants("http://h/c")).hasSize(1);
    assertThat(store.evictedForSpace()).isEqualTo(1);
    assertThat(store.entryCount()).isEqualTo(2);
    assertThat(CAPACITY - bytesInDir()).isGreaterThanOrEqualTo(MIB);
  }

  @Test
  void aBodyThatCouldNeverFitIsNotStoredAndEvictsNothing() {
    StoreFixture.store(store, meta("http://h/a"), body(3 * MIB, 1));
    EntryWriter w = store.newWriter(meta("http://h/huge"), 12L * MIB);
    w.write(ByteBuffer.wrap(body(MIB, 4)));
    assertThat(w.failed()).isTrue();
    assertThatThrownBy(() -> w.commit().join()).hasMessageContaining("no room");
    assertThat(store.variants("http://h/a")).hasSize(1);
    assertThat(store.evictedForSpace()).isZero();
    assertThat(fx.allFiles()).hasSize(1); // the temp file is gone
  }

  @Test
  void spaceReservedForASplicedFillIsKeptFromOtherWriters() {
    EntryWriter spliced = store.newWriter(meta("http://h/s"), 6L * MIB);
    assertThat(spliced.reserveSpace()).isTrue();
    // 9 MiB usable, 6 reserved: a second reservation of 6 MiB is refused, and a copy writer of 4 MiB
    // cannot take the reserved room (there is nothing to evict).
    assertThat(store.newWriter(meta("http://h/s2"), 6L * MIB).reserveSpace()).isFalse();
    EntryWriter copy = store.newWriter(meta("http://h/c"), 4L * MIB);
    copy.write(ByteBuffer.wrap(body(4 * MIB, 5)));
    assertThat(copy.failed()).isTrue();
    // The reservation is used up by what is written through it, and the rest given back at the end.
    spliced.abort();
    assertThat(store.newWriter(meta("http://h/s3"), 6L * MIB).reserveSpace()).isTrue();
  }

  /**
   * The free-space estimate only learns of freed space at its next measurement: after a writer's temp
   * file was deleted (an origin cut short, a fill dropped for want of room) it stayed as low as while
   * the file was there, and a body that fits the empty file system was refused as one that "could
   * never fit", without measuring (DiskFullIT's {@code /after} after the parallel phase, now and then).
   */
  @Test
  void aBodyThatFitsOnceAnotherWritersTempFileIsDeletedIsStored() {
    EntryWriter cut = store.newWriter(meta("http://h/cut"), 8L * MIB);
    cut.write(ByteBuffer.wrap(body(7 * MIB, 1)));
    cut.abort();
    assertThat(fx.allFiles()).isEmpty();
    // 10 MiB free again, nothing indexed; the estimate still says about 3 MiB (2 MiB above min-free).
    StoreFixture.store(store, meta("http://h/next"), body(4 * MIB, 2));
    assertThat(store.variants("http://h/next")).hasSize(1);
    assertThat(store.evictedForSpace()).isZero();
  }

  @Test
  void keepFreeEvictsWhileTheFileSystemIsBelowMinFree() throws Exception {
    StoreFixture.store(store, meta("http://h/a"), body(3 * MIB, 1));
    StoreFixture.store(store, meta("http://h/b"), body(3 * MIB, 2));
    // Another process takes 3.5 MiB of the file system: 0.5 MiB free, less than min-free.
    Files.write(dir.resolve("foreign"), new byte[7 * MIB / 2]);
    store.keepFree();
    assertThat(store.entryCount()).isEqualTo(1);
    assertThat(CAPACITY - bytesInDir()).isGreaterThanOrEqualTo(MIB);
  }

  /**
   * A cache directory that does not exist yet when the store opens (a first start): the free space
   * could not be measured, and "unknown" (Long.MAX_VALUE) plus the indexed bytes overflowed, so every
   * write after the first few failed with "no room" until the next measurement.
   */
  @Test
  void aCacheDirThatDoesNotExistYetStillTakesWrites() {
    StoreFixture fresh = new StoreFixture(dir.resolve("not-yet").resolve("cache"));
    try (DiskStore s = DiskStore.open(new StoreConfig(fresh.dir, 1L << 30, false), Runnable::run, fresh.clock::get,
        m -> m.responseTime() + StoreFixture.HOUR)) {
      for (int i = 0; i < 5; i++) {
        StoreFixture.store(s, StoreFixture.meta("http://a/fresh/" + i), StoreFixture.body(100, i));
      }
      assertThat(s.entryCount()).isEqualTo(5);
    }
  }
}
