package dev.zcproxy.cache.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Writing the index snapshot takes bounded memory: it streams the entries through one fixed block
 * buffer as it iterates the index, so what the writing thread allocates does not grow with the entry
 * count (a snapshot built whole, or a copy of the entries, would: at a stop of a big cache that was a
 * spike of the proxy's resident set). Measured with the writing thread's allocated bytes, not time.
 */
class IndexSnapshotMemoryTest {
  @TempDir Path dir;

  /** What {@link IndexSnapshot#write} allocates on this thread for an index of {@code n} plain entries. */
  private long allocatedWriting(com.sun.management.ThreadMXBean mx, int n) throws Exception {
    StoreIndex index = new StoreIndex(1L << 40, 1L << 32, Runnable::run, System::currentTimeMillis, e -> {});
    for (int i = 0; i < n; i++) {
      index.put(new StoreEntry(new IndexSnapshot.Record(i * 31L + 1, -i - 1L, i, Long.MAX_VALUE / 2, 1 + i % 64, i, null,
          List.of())));
    }
    long thread = Thread.currentThread().getId();
    long before = mx.getThreadAllocatedBytes(thread);
    assertThat(IndexSnapshot.write(dir, index.all(), List.of(), 0, false)).isEqualTo(n);
    return mx.getThreadAllocatedBytes(thread) - before;
  }

  @Test
  void aSnapshotOfTenTimesTheEntriesAllocatesNoMore() throws Exception {
    assumeTrue(ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean);
    com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    assumeTrue(mx.isThreadAllocatedMemorySupported() && mx.isThreadAllocatedMemoryEnabled());
    allocatedWriting(mx, 1_000); // classes loaded, buffers sized: what follows is the steady state
    long small = allocatedWriting(mx, 30_000);
    long big = allocatedWriting(mx, 300_000);
    // 300,000 entries are a 12 MB file and 1.2 MB of references: built whole or copied, either would show
    assertThat(big).as("allocated writing 300,000 entries (30,000: %d)", small).isLessThan(small + (256 << 10));
    assertThat(big).as("allocated writing 300,000 entries").isLessThan(2L << 20); // the 1 MiB block and the 64 KiB head
  }
}
