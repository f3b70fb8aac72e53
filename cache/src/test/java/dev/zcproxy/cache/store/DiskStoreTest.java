package dev.zcproxy.cache.store;

import static dev.zcproxy.cache.store.StoreFixture.HOUR;
import static dev.zcproxy.cache.store.StoreFixture.T0;
import static dev.zcproxy.cache.store.StoreFixture.body;
import static dev.zcproxy.cache.store.StoreFixture.buf;
import static dev.zcproxy.cache.store.StoreFixture.meta;
import static dev.zcproxy.cache.store.StoreFixture.readBody;
import static dev.zcproxy.cache.store.StoreFixture.store;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.zcproxy.cache.CacheKey;
import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.Headers;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DiskStoreTest {
  private static final long BIG = 1L << 30;

  @TempDir Path dir;
  StoreFixture fx;

  @BeforeEach
  void setUp() {
    fx = new StoreFixture(dir);
  }

  @Test
  void committedEntryIsListedAndOpensWithItsBytesAtBodyOffset() throws Exception {
    try (DiskStore s = fx.open(BIG)) {
      byte[] body = body(10_000, 1);
      EntryMeta published = store(s, meta("http://a/1"), body);

      assertThat(published.bodyLength()).isEqualTo(10_000);
      assertThat(published.bodyOffset()).isEqualTo(4096);
      assertThat(s.variants("http://a/1")).containsExactly(published);
      assertThat(s.entryCount()).isEqualTo(1);
      assertThat(s.weightedBytes()).isEqualTo((4096 + 10_000 + 1023) / 1024 * 1024);
      try (OpenEntry e = s.open(published).join()) {
        assertThat(e.meta()).isEqualTo(published);
        assertThat(readBody(e)).isEqualTo(body);
        assertThat(e.channel().size()).isEqualTo(published.bodyOffset() + published.bodyLength());
      }
      Path file = fx.entryFiles().get(0);
      String hash = CacheKey.of("http://a/1", "").hash();
      assertThat(dir.relativize(file).toString())
          .startsWith(hash.charAt(0) + "/" + hash.substring(1, 3) + "/" + hash + "-");
      assertThat(fx.tempFiles()).isEmpty();
    }
  }

  @Test
  void aWriterCreatesTheTempAndFanOutDirectoriesWhenTheyAreMissing() throws Exception {
    try (DiskStore s = fx.open(BIG)) {
      // A writer creates its directories only when the open or the rename says they are missing (no
      // mkdir per fill): with both gone (an operator's cleanup), entries are still stored, and a
      // second entry in the same fan-out directory finds it in place.
      EntryMeta first = store(s, meta("http://a/dirs-1"), body(3000, 2));
      Files.walk(dir).sorted(java.util.Comparator.reverseOrder())
          .filter(p -> !p.equals(dir) && (Files.isDirectory(p) || p.toString().contains("dirs-1") || isEntryFile(p)))
          .forEach(p -> p.toFile().delete());
      assertThat(Files.exists(dir.resolve(StoreLayout.TMP))).isFalse();
      byte[] body = body(5000, 3);
      EntryMeta published = store(s, meta("http://a/dirs-2"), body);
      try (OpenEntry e = s.open(published).join()) {
        assertThat(readBody(e)).isEqualTo(body);
      }
      byte[] empty = new byte[0];
      EntryMeta none = store(s, meta("http://a/dirs-3"), empty);
      try (OpenEntry e = s.open(none).join()) {
        assertThat(e.channel().size()).isEqualTo(none.bodyOffset());
      }
      assertThat(first.bodyLength()).isEqualTo(3000);
      assertThat(fx.tempFiles()).isEmpty();
    }
  }

  private boolean isEntryFile(Path p) {
    return Files.isRegularFile(p) && dir.relativize(p).getNameCount() == 3;
  }

  @Test
  void aWriteStartedBeforeAnInvalidationIsNeverPublished_9111_4_4() throws Exception {
    try (DiskStore s = fx.open(BIG)) {
      EntryWriter w = s.newWriter(meta("http://a/inv"), 3);
      w.write(buf(new byte[] {1, 2, 3}));
      s.invalidate("http://a/inv"); // e.g. a PUT answered while the GET's body was still filling
      assertThatThrownBy(() -> w.commit().join()).hasCauseInstanceOf(IllegalStateException.class);
      assertThat(s.variants("http://a/inv")).isEmpty();
      assertThat(fx.entryFiles()).isEmpty();
      // A write that starts after the invalidation publishes as usual.
      store(s, meta("http://a/inv"), new byte[] {4});
      assertThat(s.variants("http://a/inv")).hasSize(1);
    }
  }

  @Test
  void anExternalWriterCanFillTheRestOfTheBody() throws Exception {
    try (DiskStore s = fx.open(BIG)) {
      byte[] body = body(50_000, 8);
      EntryWriter w = s.newWriter(meta("http://a/ext"), body.length);
      w.write(buf(java.util.Arrays.copyOfRange(body, 0, 1000)));
      java.util.List<Long> progress = new java.util.concurrent.CopyOnWriteArrayList<>();
      w.onProgress(progress::add);
      java.nio.channels.FileChannel ch = w.externalTarget().join();
      assertThat(w.writtenBytes()).isEqualTo(1000);
      // What splice(2) would do: positional writes after the queued ones, reported in order.
      DiskStore.writeFully(ch, java.nio.ByteBuffer.wrap(body, 1000, 49_000), w.bodyOffset() + 1000);
      w.externalWritten(49_000);
      EntryMeta published = w.commit().join();
      assertThat(published.bodyLength()).isEqualTo(body.length);
      assertThat(progress).contains(50_000L);
      try (OpenEntry e = s.open(published).join()) {
        assertThat(readBody(e)).isEqualTo(body);
      }
    }
  }

  @Test
  void externalBytesBeyondTheExpectedLengthFailTheEntry() {
    try (DiskStore s = fx.open(BIG)) {
      EntryWriter w = s.newWriter(meta("http://a/ext2"), 10);
      w.externalTarget().join();
      w.externalWritten(11);
      assertThatThrownBy(() -> w.commit().join()).hasCauseInstanceOf(java.io.IOException.class);
      assertThat(s.variants("http://a/ext2")).isEmpty();
    }
  }

  @Test
  void emptyBodyIsStoredAndServed() {
    try (DiskStore s = fx.open(BIG)) {
      EntryMeta published = store(s, meta("http://a/empty"), new byte[0]);
      try (OpenEntry e = s.open(published).join()) {
        assertThat(readBody(e)).isEmpty();
      }
    }
    try (DiskStore s = fx.open(BIG)) {
      assertThat(s.variants("http://a/empty")).hasSize(1);
    }
  }

  @Test
  void variantsOfOnePrimaryKeyAreListedTogetherAndInvalidatedTogether() {
    try (DiskStore s = fx.open(BIG)) {
      EntryMeta gz = store(s, meta("http://a/v", "gzip", T0), body(10, 1));
      EntryMeta br = store(s, meta("http://a/v", "br", T0), body(10, 2));
      store(s, meta("http://a/other"), body(10, 3));

      assertThat(s.variants("http://a/v")).containsExactlyInAnyOrder(gz, br);
      assertThat(s.invalidate("http://a/v")).isEqualTo(2);

      assertThat(s.variants("http://a/v")).isEmpty();
      assertThat(s.variants("http://a/other")).hasSize(1);
      assertThat(fx.entryFiles()).hasSize(1);
      assertThat(s.index().primaryKeyCount()).isZero(); // only Vary'd entries are linked to their primary key
    }
  }

  @Test
  void removeDropsOneVariantAndItsFile() {
    try (DiskStore s = fx.open(BIG)) {
      EntryMeta m = store(s, meta("http://a/r"), body(100, 1));
      s.remove(m.key());

      assertThat(s.variants("http://a/r")).isEmpty();
      assertThat(fx.entryFiles()).isEmpty();
      assertThat(s.open(m)).failsWithin(java.time.Duration.ZERO)
          .withThrowableOfType(java.util.concurrent.ExecutionException.class)
          .withCauseInstanceOf(NoSuchFileException.class);
    }
  }

  @Test
  void tempFileLeftByACrashBeforeRenameIsDeletedAndNotIndexed() throws Exception {
    DiskStore crashed = fx.open(BIG);
    EntryWriter w = crashed.newWriter(meta("http://a/crash"), 100);
    w.write(buf(body(100, 1)));
    assertThat(fx.tempFiles()).hasSize(1);
    // no commit, no close: the process "dies" here

    try (DiskStore s = fx.open(BIG)) {
      assertThat(s.scanned()).isCompleted();
      assertThat(fx.tempFiles()).isEmpty();
      assertThat(s.variants("http://a/crash")).isEmpty();
      assertThat(s.entryCount()).isZero();
    }
  }

  @Test
  void corruptHeaderIsDroppedAtScanAndItsFileDeleted() throws Exception {
    writeOneAndClose("http://a/corrupt");
    Path file = fx.entryFiles().get(0);
    flipByte(file, 60); // inside the metadata

    try (DiskStore s = fx.open(BIG)) {
      assertThat(s.variants("http://a/corrupt")).isEmpty();
      assertThat(fx.entryFiles()).isEmpty();
    }
  }

  @Test
  void truncatedBodyIsDroppedAtScan() throws Exception {
    writeOneAndClose("http://a/trunc");
    Path file = fx.entryFiles().get(0);
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.truncate(ch.size() - 1);
    }

    try (DiskStore s = fx.open(BIG)) {
      assertThat(s.variants("http://a/trunc")).isEmpty();
      assertThat(fx.entryFiles()).isEmpty();
    }
  }

  @Test
  void fileOfAnotherFormatVersionIsDiscarded() throws Exception {
    writeOneAndClose("http://a/old");
    Path file = fx.entryFiles().get(0);
    try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
      raf.seek(4);
      raf.writeInt(EntryFormat.VERSION + 1);
    }

    try (DiskStore s = fx.open(BIG)) {
      assertThat(s.variants("http://a/old")).isEmpty();
      assertThat(fx.entryFiles()).isEmpty();
    }
  }

  @Test
  void writesDuringTheScanAreServedAndWinOverOlderFiles() {
    try (DiskStore s = fx.open(BIG)) {
      store(s, meta("http://a/scan", "", T0 + 100), body(100, 1));
      store(s, meta("http://a/before"), body(100, 2));
    }
    ManualExecutor io = new ManualExecutor();
    try (DiskStore s = fx.open(BIG, io)) {
      Runnable scan = io.takeFirst();
      assertThat(s.variants("http://a/before")).isEmpty(); // not scanned yet: a miss

      EntryWriter fresh = s.newWriter(meta("http://a/scan", "", T0), 10);
      fresh.write(buf(body(10, 3)));
      CompletableFuture<EntryMeta> committed = fresh.commit();
      EntryWriter inFlight = s.newWriter(meta("http://a/inflight"), 20);
      inFlight.write(buf(body(10, 4)));
      io.runAll();
      EntryMeta published = committed.join();
      assertThat(s.variants("http://a/scan")).containsExactly(published);

      scan.run();
      io.runAll();

      assertThat(s.scanned()).isCompleted();
      assertThat(s.variants("http://a/before")).hasSize(1);
      assertThat(s.variants("http://a/scan")).containsExactly(published); // the older file lost
      assertThat(fx.entryFiles()).hasSize(2);
      assertThat(inFlight.tempPath()).exists(); // a live writer's temp file is not debris
      inFlight.write(buf(body(10, 5)));
      CompletableFuture<EntryMeta> second = inFlight.commit();
      io.runAll();
      assertThat(second.join().bodyLength()).isEqualTo(20);
    }
  }

  @Test
  void foreignFilesInTheCacheDirAreLeftAlone() throws Exception {
    Path readme = Files.writeString(dir.resolve("README"), "not an entry");
    try (DiskStore s = fx.open(BIG)) {
      assertThat(s.scanned()).isCompleted();
      assertThat(readme).exists();
    }
  }

  @Test
  void restartRebuildsTheIndexWithIdenticalMeta() {
    List<EntryMeta> published = new ArrayList<>();
    try (DiskStore s = fx.open(BIG)) {
      for (int i = 0; i < 20; i++) {
        published.add(store(s, meta("http://a/" + i, i % 2 == 0 ? "" : "gzip", T0 + i), body(i * 1000, i)));
      }
    }
    try (DiskStore s = fx.open(BIG)) {
      assertThat(s.scanned()).isCompleted();
      assertThat(s.entryCount()).isEqualTo(20);
      for (int i = 0; i < 20; i++) {
        EntryMeta m = published.get(i);
        assertThat(s.variants(m.primaryKey())).containsExactly(m);
        try (OpenEntry e = s.open(m).join()) {
          assertThat(readBody(e)).isEqualTo(body(i * 1000, i));
        }
      }
    }
  }

  @Test
  void entriesExpiredWhileDownAreDeletedAtScan() {
    writeOneAndClose("http://a/exp");
    fx.clock.addAndGet(2 * HOUR);

    try (DiskStore s = fx.open(BIG)) {
      assertThat(s.variants("http://a/exp")).isEmpty();
      assertThat(fx.entryFiles()).isEmpty();
    }
  }

  @Test
  void sizeEvictionKeepsTheBoundAndDeletesTheFiles() {
    try (DiskStore s = fx.open(10 * 8 * 1024)) { // ten 8 KiB files
      for (int i = 0; i < 40; i++) {
        store(s, meta("http://a/" + i), body(4096, i));
      }
      s.cleanUp();

      assertThat(s.weightedBytes()).isLessThanOrEqualTo(10 * 8 * 1024);
      assertThat(s.entryCount()).isBetween(1L, 10L);
      assertThat(fx.entryFiles()).hasSize((int) s.entryCount());
      assertThat(fx.entryFiles()).containsExactlyInAnyOrderElementsOf(indexedFiles(s));
      // every entry that left was evicted for size (the eviction metrics by cause)
      assertThat(s.evictedForSize()).isEqualTo(40 - s.entryCount());
      assertThat(s.evictedExpired()).isZero();
      assertThat(s.removedExplicitly()).isZero();
    }
  }

  @Test
  void entryLargerThanTheWholeStoreIsNotKept() {
    try (DiskStore s = fx.open(8 * 1024)) {
      EntryMeta m = store(s, meta("http://a/huge"), body(100_000, 1));
      s.cleanUp();

      assertThat(m.bodyLength()).isEqualTo(100_000);
      assertThat(s.variants("http://a/huge")).isEmpty();
      assertThat(fx.entryFiles()).isEmpty();
    }
  }

  @Test
  void expiryViaRetainUntilDeletesTheFile() {
    try (DiskStore s = fx.open(BIG)) {
      store(s, meta("http://a/short"), body(10, 1));
      store(s, meta("http://a/long", "", T0 + HOUR), body(10, 2));

      fx.clock.addAndGet(HOUR + 1);
      s.cleanUp();

      assertThat(s.variants("http://a/short")).isEmpty();
      assertThat(s.variants("http://a/long")).hasSize(1);
      assertThat(fx.entryFiles()).hasSize(1);
      assertThat(s.index().primaryKeyCount()).isZero(); // no Vary: no link kept
      assertThat(s.evictedExpired()).isEqualTo(1);
      assertThat(s.evictedForSize()).isZero();
    }
  }

  @Test
  void commitWithWrongLengthFailsAndLeavesNothing() {
    try (DiskStore s = fx.open(BIG)) {
      EntryWriter w = s.newWriter(meta("http://a/short-body"), 1000);
      w.write(buf(body(999, 1)));

      assertThat(w.commit()).isCompletedExceptionally();
      assertThat(w.failed()).isTrue();
      assertThat(s.variants("http://a/short-body")).isEmpty();
      assertThat(fx.allFiles()).isEmpty();
    }
  }

  @Test
  void bodyLongerThanAnnouncedFailsEarly() {
    try (DiskStore s = fx.open(BIG)) {
      EntryWriter w = s.newWriter(meta("http://a/long-body"), 10);
      w.write(buf(body(11, 1)));

      assertThat(w.failed()).isTrue();
      assertThat(w.commit()).isCompletedExceptionally();
      assertThat(fx.allFiles()).isEmpty();
    }
  }

  @Test
  void unknownLengthIsWhateverWasWritten() {
    try (DiskStore s = fx.open(BIG)) {
      EntryWriter w = s.newWriter(meta("http://a/chunked"), -1);
      w.write(buf(body(300, 1)));
      w.write(buf(body(200, 2)));

      EntryMeta m = w.commit().join();
      assertThat(m.bodyLength()).isEqualTo(500);
      assertThat(w.writtenBytes()).isEqualTo(500);
      assertThat(w.pendingBytes()).isZero();
    }
  }

  @Test
  void abortLeavesNothing() {
    try (DiskStore s = fx.open(BIG)) {
      EntryWriter w = s.newWriter(meta("http://a/abort"), 100);
      w.write(buf(body(50, 1)));
      w.abort();
      w.abort();
      w.write(buf(body(50, 1))); // dropped

      assertThat(w.failed()).isTrue();
      assertThat(w.commit()).isCompletedExceptionally();
      assertThatThrownBy(() -> w.commit().join()).isInstanceOf(CancellationException.class);
      assertThat(s.variants("http://a/abort")).isEmpty();
      assertThat(fx.allFiles()).isEmpty();
    }
  }

  @Test
  void writeErrorFailsTheCommitAndLeavesNothing() {
    try (DiskStore s = fx.open(BIG)) {
      s.writeHook = (temp, position, length) -> {
        if (position > 4096) {
          throw new IOException("No space left on device");
        }
      };
      EntryWriter w = s.newWriter(meta("http://a/full"), 3000);
      w.write(buf(body(1000, 1)));
      w.write(buf(body(1000, 2)));
      w.write(buf(body(1000, 3)));

      assertThat(w.failed()).isTrue();
      assertThat(w.pendingBytes()).isZero();
      assertThatThrownBy(() -> w.commit().join())
          .isInstanceOf(CompletionException.class)
          .hasRootCauseMessage("No space left on device");
      assertThat(s.variants("http://a/full")).isEmpty();
      assertThat(fx.allFiles()).isEmpty();
    }
  }

  @Test
  void aBodyCommittedWholeIsCreatedWrittenRenamedAndIndexedInOneExecutorTask() throws Exception {
    ManualExecutor io = new ManualExecutor();
    try (DiskStore s = fx.open(BIG, io)) {
      io.runAll();
      byte[] body = body(1500, 7);
      EntryWriter w = s.newDeferredWriter(meta("http://a/whole"), body.length);
      assertThat(io.size()).as("a deferred writer starts no task").isZero();

      CompletableFuture<EntryMeta> commit = w.commitWhole(buf(body));
      assertThat(io.size()).isEqualTo(1);
      io.takeFirst().run();

      // Published by that one task, the index's and the head cache's upkeep included (no further hop).
      assertThat(commit).isCompleted();
      assertThat(io.size()).as("tasks left after the publish").isZero();
      EntryMeta m = commit.join();
      assertThat(m.bodyLength()).isEqualTo(1500);
      assertThat(s.variants("http://a/whole")).containsExactly(m);
      assertThat(fx.tempFiles()).isEmpty();
      CompletableFuture<OpenEntry> open = s.open(m);
      io.runAll();
      try (OpenEntry e = open.join()) {
        assertThat(readBody(e)).isEqualTo(body);
        assertThat(e.channel().size()).isEqualTo(m.bodyOffset() + 1500);
      }
    }
  }

  @Test
  void bodyPartsQueuedBeforeTheChainRunsAreAppendedWithOneWriteAndOneProgressReport() throws Exception {
    ManualExecutor io = new ManualExecutor();
    try (DiskStore s = fx.open(BIG, io)) {
      io.runAll();
      List<Long> writes = new java.util.concurrent.CopyOnWriteArrayList<>();
      s.writeHook = (temp, position, length) -> writes.add((long) length);
      byte[] body = body(3000, 9);
      EntryWriter w = s.newWriter(meta("http://a/parts"), body.length);
      List<Long> progress = new java.util.concurrent.CopyOnWriteArrayList<>();
      w.onProgress(progress::add);
      io.runAll(); // the temp file exists, nothing written yet
      for (int i = 0; i < 3; i++) {
        w.write(ByteBuffer.wrap(body, i * 1000, 1000).slice()); // three 1000-byte parts of one origin read
      }
      assertThat(w.pendingBytes()).isEqualTo(3000);
      io.runAll();
      assertThat(writes).as("file writes").containsExactly(3000L);
      assertThat(progress).as("progress reports").containsExactly(0L, 3000L);
      assertThat(w.pendingBytes()).isZero();

      w.write(ByteBuffer.wrap(new byte[0])); // nothing
      CompletableFuture<EntryMeta> commit = w.commit();
      io.runAll();
      EntryMeta m = commit.join();
      CompletableFuture<OpenEntry> open = s.open(m);
      io.runAll();
      try (OpenEntry e = open.join()) {
        assertThat(readBody(e)).as("stored bytes").isEqualTo(body);
        assertThat(e.channel().size()).isEqualTo(m.bodyOffset() + 3000);
      }
    }
  }

  @Test
  void aPartWrittenWhileTheChainAppendsIsOnDiskBeforeTheCommitChecksTheLength() throws Exception {
    try (DiskStore s = fx.open(BIG)) {
      byte[] body = body(64 * 1000, 3);
      EntryWriter w = s.newWriter(meta("http://a/racing"), body.length);
      for (int i = 0; i < 64; i++) {
        w.write(ByteBuffer.wrap(body, i * 1000, 1000).slice()); // appended while earlier parts are being written
      }
      EntryMeta m = w.commit().join();
      try (OpenEntry e = s.open(m).join()) {
        assertThat(readBody(e)).isEqualTo(body);
      }
    }
  }

  @Test
  void aWholeBodyOfTheWrongLengthOrOnAFullDiskLeavesNothing() {
    try (DiskStore s = fx.open(BIG)) {
      EntryWriter shortOne = s.newDeferredWriter(meta("http://a/short"), 2000);
      assertThatThrownBy(() -> shortOne.commitWhole(buf(body(1999, 1))).join())
          .isInstanceOf(CompletionException.class).hasMessageContaining("body length 1999");

      s.writeHook = (temp, position, length) -> {
        throw new IOException("No space left on device");
      };
      EntryWriter full = s.newDeferredWriter(meta("http://a/full-whole"), 1000);
      assertThatThrownBy(() -> full.commitWhole(buf(body(1000, 2))).join())
          .isInstanceOf(CompletionException.class).hasRootCauseMessage("No space left on device");

      assertThat(s.variants("http://a/short")).isEmpty();
      assertThat(s.variants("http://a/full-whole")).isEmpty();
      assertThat(fx.allFiles()).isEmpty();
    }
  }

  @Test
  void aDeferredWriterThatIsUsedForStreamingStartsItsChainThen() {
    try (DiskStore s = fx.open(BIG)) {
      byte[] body = body(2500, 3);
      EntryWriter w = s.newDeferredWriter(meta("http://a/deferred-stream"), body.length);
      w.write(buf(body));
      EntryMeta m = w.commit().join();
      assertThat(s.variants("http://a/deferred-stream")).containsExactly(m);
      assertThatThrownBy(() -> s.newWriter(meta("http://a/streaming"), 10).commitWhole(buf(body(10, 1))))
          .isInstanceOf(IllegalStateException.class);
    }
  }

  @Test
  void replacingAKeyKeepsTheNewFileAndDeletesTheOld() {
    try (DiskStore s = fx.open(BIG)) {
      EntryMeta first = store(s, meta("http://a/k"), body(5000, 1));
      Path firstFile = fx.entryFiles().get(0);
      OpenEntry reader = s.open(first).join();

      EntryMeta second = store(s, meta("http://a/k", "", T0 + 1), body(7000, 2));

      assertThat(s.variants("http://a/k")).containsExactly(second);
      assertThat(fx.entryFiles()).hasSize(1).doesNotContain(firstFile);
      try (OpenEntry e = s.open(second).join()) {
        assertThat(readBody(e)).isEqualTo(body(7000, 2));
      }
      // the reader of the replaced file still reads its bytes
      assertThat(readBody(reader)).isEqualTo(body(5000, 1));
      reader.close();
      assertThat(reader.channel().isOpen()).isFalse();
    }
    try (DiskStore s = fx.open(BIG)) {
      assertThat(s.variants("http://a/k")).singleElement()
          .extracting(EntryMeta::bodyLength).isEqualTo(7000L);
    }
  }

  @Test
  void updateRewritesTheMetadataInPlaceWhenItFits() throws Exception {
    try (DiskStore s = fx.open(BIG)) {
      EntryMeta m = store(s, meta("http://a/u"), body(5000, 1));
      Path file = fx.entryFiles().get(0);
      OpenEntry reader = s.open(m).join();
      EntryMeta merged = m.withHeaders(m.headers().with("ETag", "\"v2\""), T0 + 100, T0 + 110);

      EntryMeta updated = s.update(merged).join();

      assertThat(updated).isEqualTo(merged);
      assertThat(fx.entryFiles()).containsExactly(file);
      assertThat(s.variants("http://a/u")).containsExactly(updated);
      assertThat(reader.channel().isOpen()).isTrue();
      try (OpenEntry again = s.open(updated).join()) {
        assertThat(again.channel()).isSameAs(reader.channel()); // same file, cached channel kept
        assertThat(again.meta()).isEqualTo(updated);
        assertThat(readBody(again)).isEqualTo(body(5000, 1));
      }
      reader.close();
    }
    try (DiskStore s = fx.open(BIG)) {
      assertThat(s.variants("http://a/u")).singleElement()
          .satisfies(m -> assertThat(m.headers().get("ETag")).isEqualTo("\"v2\""))
          .satisfies(m -> assertThat(m.responseTime()).isEqualTo(T0 + 110));
    }
  }

  @Test
  void updateBeyondTheSlackRewritesTheFile() {
    EntryMeta updated;
    try (DiskStore s = fx.open(BIG)) {
      EntryMeta m = store(s, meta("http://a/grow"), body(5000, 1));
      Path oldFile = fx.entryFiles().get(0);
      OpenEntry reader = s.open(m).join();
      Headers big = m.headers().with("X-Big", "x".repeat(10_000));

      updated = s.update(m.withHeaders(big, T0 + 100, T0 + 110)).join();

      assertThat(updated.bodyOffset()).isGreaterThan(m.bodyOffset());
      assertThat(updated.bodyOffset() % 4096).isZero();
      assertThat(updated.bodyLength()).isEqualTo(5000);
      assertThat(fx.entryFiles()).hasSize(1).doesNotContain(oldFile);
      assertThat(fx.tempFiles()).isEmpty();
      try (OpenEntry e = s.open(updated).join()) {
        assertThat(readBody(e)).isEqualTo(body(5000, 1));
      }
      assertThat(readBody(reader)).isEqualTo(body(5000, 1)); // old fd still readable
      reader.close();
      assertThat(reader.channel().isOpen()).isFalse();
    }
    try (DiskStore s = fx.open(BIG)) {
      assertThat(s.variants("http://a/grow")).containsExactly(updated);
    }
  }

  @Test
  void updateDerivedFromAReplacedResponseFails() {
    try (DiskStore s = fx.open(BIG)) {
      EntryMeta old = store(s, meta("http://a/raced"), body(100, 1));
      EntryMeta replacement = store(s, meta("http://a/raced", "", T0 + 1), body(200, 2));
      EntryMeta merged = old.withHeaders(old.headers().with("ETag", "\"v9\""), T0 + 2, T0 + 3);

      assertThatThrownBy(() -> s.update(merged).join()).hasCauseInstanceOf(IllegalStateException.class);
      assertThatThrownBy(() -> s.update(old, merged).join()).hasCauseInstanceOf(IllegalStateException.class);
      assertThat(s.variants("http://a/raced")).containsExactly(replacement);
    }
  }

  @Test
  void exactUpdateAppliesWhileTheEntryIsUnchanged() {
    try (DiskStore s = fx.open(BIG)) {
      EntryMeta m = store(s, meta("http://a/exact"), body(100, 1));
      EntryMeta merged = m.withHeaders(m.headers().with("ETag", "\"v2\""), T0 + 2, T0 + 3);

      assertThat(s.update(m, merged).join()).isEqualTo(merged);
      assertThatThrownBy(() -> s.update(m, merged).join()).hasCauseInstanceOf(IllegalStateException.class);
    }
  }

  @Test
  void updateOfAnEntryNoLongerIndexedFails() {
    try (DiskStore s = fx.open(BIG)) {
      EntryMeta m = store(s, meta("http://a/gone"), body(10, 1));
      s.remove(m.key());

      assertThatThrownBy(() -> s.update(m).join()).hasCauseInstanceOf(NoSuchFileException.class);
    }
  }

  @Test
  void openFileCacheCompletesWithoutAnExecutorHopTheSecondTime() {
    ManualExecutor io = new ManualExecutor();
    try (DiskStore s = fx.open(BIG, io)) {
      io.runAll();
      EntryWriter w = s.newWriter(meta("http://a/fd"), 10);
      w.write(buf(body(10, 1)));
      CompletableFuture<EntryMeta> commit = w.commit();
      io.runAll();
      EntryMeta m = commit.join();

      CompletableFuture<OpenEntry> first = s.open(m);
      assertThat(first).isNotDone();
      io.runAll();
      first.join().close();

      CompletableFuture<OpenEntry> second = s.open(m);
      assertThat(second).isCompleted();
      assertThat(second.join().channel()).isSameAs(first.join().channel());
      second.join().close();
      assertThat(second.join().channel().isOpen()).isTrue(); // still cached
    }
  }

  @Test
  void anOpenQueuedBeforeCloseAndRunAfterItLeavesNoFileOpen() {
    ManualExecutor io = new ManualExecutor();
    DiskStore s = fx.open(BIG, io);
    io.runAll();
    EntryWriter w = s.newWriter(meta("http://a/late"), 10);
    w.write(buf(body(10, 1)));
    CompletableFuture<EntryMeta> commit = w.commit();
    io.runAll();
    EntryMeta m = commit.join();

    CompletableFuture<OpenEntry> late = s.open(m); // queued on the I/O pool (a RAM-tier load after a fill)
    s.close();
    io.runAll(); // the open runs after close() emptied the cache of open files
    OpenEntry reader = late.join();
    reader.close();

    assertThat(reader.channel().isOpen()).isFalse(); // was left open: the cache's reference was never released
  }

  @Test
  void cachedChannelIsClosedOnlyWhenEvictedAndTheLastReaderIsDone() {
    try (DiskStore s = DiskStore.open(new StoreConfig(dir, BIG, false), Runnable::run, fx.clock::get,
        m -> m.responseTime() + HOUR, 1)) {
      EntryMeta a = store(s, meta("http://a/a"), body(10, 1));
      EntryMeta b = store(s, meta("http://a/b"), body(10, 2));
      OpenEntry readerA = s.open(a).join();
      FileChannel chA = readerA.channel();
      assertThat(cachedHolds(s, chA)).isTrue();

      for (int i = 0; i < 50 && cachedHolds(s, chA); i++) {
        s.open(b).join().close(); // b gets more frequent until it takes a's slot in the one-slot cache
      }

      assertThat(cachedHolds(s, chA)).isFalse();
      assertThat(chA.isOpen()).isTrue(); // the reader still holds it
      readerA.close();
      assertThat(chA.isOpen()).isFalse();
    }
  }

  private static boolean cachedHolds(DiskStore s, FileChannel ch) {
    return s.cachedChannels().stream().anyMatch(c -> c.channel() == ch);
  }

  @Test
  void removedEntryDropsItsCachedChannelButReadersKeepReading() {
    try (DiskStore s = fx.open(BIG)) {
      EntryMeta m = store(s, meta("http://a/rm"), body(3000, 1));
      OpenEntry reader = s.open(m).join();
      s.remove(m.key());

      assertThat(s.cachedChannelCount()).isZero();
      assertThat(fx.entryFiles()).isEmpty();
      assertThat(readBody(reader)).isEqualTo(body(3000, 1));
      reader.close();
      assertThat(reader.channel().isOpen()).isFalse();
    }
  }

  @Test
  void closeAbortsInFlightWritersAndClosesCachedChannels() {
    DiskStore s = fx.open(BIG);
    EntryMeta m = store(s, meta("http://a/kept"), body(10, 1));
    OpenEntry cached = s.open(m).join();
    cached.close();
    EntryWriter w = s.newWriter(meta("http://a/inflight"), 100);
    w.write(buf(body(50, 1)));

    s.close();

    assertThat(w.failed()).isTrue();
    assertThat(w.commit()).isCompletedExceptionally();
    assertThat(cached.channel().isOpen()).isFalse();
    assertThat(fx.tempFiles()).isEmpty();
    assertThat(fx.entryFiles()).hasSize(1);
    EntryWriter late = s.newWriter(meta("http://a/late"), 1);
    assertThat(late.failed()).isTrue();
    assertThat(late.commit()).isCompletedExceptionally();
  }

  @Test
  void progressIsReportedAfterEachChunk() {
    try (DiskStore s = fx.open(BIG)) {
      EntryWriter w = s.newWriter(meta("http://a/fill"), 300);
      List<Long> seen = new ArrayList<>();
      w.onProgress(seen::add);
      w.write(buf(body(100, 1)));
      w.write(buf(body(200, 2)));

      assertThat(seen).containsExactly(0L, 100L, 300L);
      assertThat(w.tempPath()).exists();
      assertThat(Files.exists(w.tempPath())).isTrue();
      w.commit().join();
      assertThat(w.tempPath()).doesNotExist();
    }
  }

  private void writeOneAndClose(String url) {
    try (DiskStore s = fx.open(BIG)) {
      store(s, meta(url), body(5000, 1));
    }
    assertThat(fx.entryFiles()).hasSize(1);
  }

  private static void flipByte(Path file, long pos) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      ByteBuffer b = ByteBuffer.allocate(1);
      ch.read(b, pos);
      b.put(0, (byte) (b.get(0) ^ 0x40));
      b.rewind();
      ch.write(b, pos);
    }
  }

  static List<Path> indexedFiles(DiskStore s) {
    return s.index().entries().stream().map(s::pathOf).toList();
  }

  /** An executor that runs tasks only when told: shows which calls need an executor hop. */
  static final class ManualExecutor implements Executor {
    private final Queue<Runnable> tasks = new ArrayDeque<>();

    @Override
    public synchronized void execute(Runnable r) {
      tasks.add(r);
    }

    synchronized int size() {
      return tasks.size();
    }

    /** Removes and returns the oldest queued task (to run it later, out of order). */
    synchronized Runnable takeFirst() {
      return tasks.remove();
    }

    void runAll() {
      for (;;) {
        Runnable r;
        synchronized (this) {
          r = tasks.poll();
        }
        if (r == null) {
          return;
        }
        r.run();
      }
    }
  }
}
