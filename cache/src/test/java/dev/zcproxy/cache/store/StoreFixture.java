package dev.zcproxy.cache.store;

import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.Headers;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/** Shared helpers: a fake clock, a retain-for-an-hour policy, file listing. */
final class StoreFixture {
  static final long T0 = 1_700_000_000_000L;
  static final long HOUR = 3_600_000L;

  final Path dir;
  final AtomicLong clock = new AtomicLong(T0);

  StoreFixture(Path dir) {
    this.dir = dir;
  }

  DiskStore open(long maxBytes) {
    return open(maxBytes, Runnable::run);
  }

  DiskStore open(long maxBytes, Executor executor) {
    return DiskStore.open(new StoreConfig(dir, maxBytes, false), executor, clock::get, m -> m.responseTime() + HOUR);
  }

  static EntryMeta meta(String url) {
    return meta(url, "", T0);
  }

  static EntryMeta meta(String url, String variant, long responseTime) {
    return new EntryMeta(url, variant, 200,
        Headers.of("Content-Type", "text/plain", "Cache-Control", "max-age=60", "ETag", "\"v1\""),
        responseTime - 5, responseTime, 0, 0);
  }

  static byte[] body(int size, int seed) {
    byte[] b = new byte[size];
    for (int i = 0; i < size; i++) {
      b[i] = (byte) (seed * 31 + i * 7);
    }
    return b;
  }

  static ByteBuffer buf(byte[] b) {
    return ByteBuffer.wrap(b);
  }

  static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }

  /** Writes and commits {@code body} in chunks; returns the published meta. */
  static EntryMeta store(DiskStore store, EntryMeta meta, byte[] body) {
    EntryWriter w = store.newWriter(meta, body.length);
    int chunk = 1000;
    for (int off = 0; off < body.length; off += chunk) {
      w.write(ByteBuffer.wrap(body, off, Math.min(chunk, body.length - off)).slice());
    }
    return w.commit().join();
  }

  /** Every regular file under the store dir, temp files included (not the index snapshot and journals). */
  List<Path> allFiles() {
    try (Stream<Path> s = Files.walk(dir)) {
      return s.filter(Files::isRegularFile)
          .filter(p -> !(p.getParent().equals(dir) && p.getFileName().toString().startsWith("index.")))
          .sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  List<Path> tempFiles() {
    return allFiles().stream().filter(p -> p.getParent().getFileName().toString().equals(StoreLayout.TMP)).toList();
  }

  /** The files in the entry directories (not temp files, nor the ban list, index snapshot and journals at the top). */
  List<Path> entryFiles() {
    return allFiles().stream().filter(p -> !p.getParent().getFileName().toString().equals(StoreLayout.TMP)
        && !p.getParent().equals(dir)).toList();
  }

  static byte[] readBody(OpenEntry e) {
    try {
      ByteBuffer b = ByteBuffer.allocate((int) e.meta().bodyLength());
      long pos = e.meta().bodyOffset();
      while (b.hasRemaining()) {
        int n = e.channel().read(b, pos);
        if (n < 0) {
          throw new IOException("EOF");
        }
        pos += n;
      }
      return b.array();
    } catch (IOException x) {
      throw new UncheckedIOException(x);
    }
  }
}
