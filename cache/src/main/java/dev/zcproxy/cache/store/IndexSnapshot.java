package dev.zcproxy.cache.store;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.zip.CRC32C;

/**
 * The index snapshot file {@code dir/index.snapshot}: every indexed entry's key hash, file generation,
 * size, retention deadline, meta fingerprint, variant link and tags, so that a restart rebuilds the
 * index by reading one file instead of opening every entry file. Written atomically (temp file and
 * rename) periodically and at a clean stop.
 *
 * <p>Entries are written in blocks, each with its own CRC32C: a reader indexes only whole blocks whose
 * checksum holds and stops at the first damaged or missing one. What a snapshot does not know (the
 * entries after a damaged block, those written after the snapshot) the startup scan finds in the
 * directory; what a snapshot knows but is gone (an entry purged, evicted or replaced after the
 * snapshot: its file was deleted) the scan removes, and a lookup never serves it meanwhile because it
 * reads the head from the entry file. A snapshot of another format version, or written with other tag
 * header names, is ignored as a whole.
 */
final class IndexSnapshot {
  static final String FILE = "index.snapshot";
  private static final long MAGIC = 0x5A43_4958_534E_4150L; // "ZCIXSNAP"
  private static final int VERSION = 1;
  /** Entries per block (a damaged block loses at most this many entries to the scan). */
  private static final int BLOCK_ENTRIES = 4096;
  /** Upper bound of a block's length: BLOCK_ENTRIES fixed records plus their variant links and tags. */
  private static final int MAX_BLOCK_BYTES = 64 << 20;
  private static final int FIXED_RECORD = 4 * 8 + 2 * 4 + 1;
  private static final int HAS_PRIMARY = 1;
  private static final int HAS_TAGS = 2;

  private IndexSnapshot() {}

  /** One entry as the snapshot holds it. */
  record Record(long hi, long lo, long generation, long retainUntil, int diskKiB, int fingerprint,
      Key128 primary, List<String> tags) {}

  /** What {@link #read} found: how many records it handed on, and whether the file was whole. */
  record Result(long records, boolean complete, String problem) {}

  /**
   * Writes {@code entries} to {@code dir/index.snapshot} (temp file, optional fsync, atomic rename);
   * returns how many were written. {@code tagHeaders} are recorded: a snapshot is used only with the
   * same tag header names.
   */
  static long write(Path dir, Iterable<StoreEntry> entries, List<String> tagHeaders, long writtenAtMillis,
      boolean fsync) throws IOException {
    Path file = dir.resolve(FILE);
    Path temp = dir.resolve(FILE + ".new");
    long n = 0;
    try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING); OutputStream out = Channels.newOutputStream(ch)) {
      ByteBuffer head = ByteBuffer.allocate(64 << 10);
      head.putLong(MAGIC).putInt(VERSION).putLong(writtenAtMillis);
      putString(head, String.join("\n", tagHeaders));
      head.flip();
      out.write(head.array(), 0, head.limit());
      ByteBuffer block = ByteBuffer.allocate(1 << 20);
      int count = 0;
      for (StoreEntry e : entries) {
        int need = FIXED_RECORD + (e.primary() == null ? 0 : 16) + tagsBytes(e.tags());
        if (count == BLOCK_ENTRIES || block.remaining() < need) {
          flushBlock(out, block, count);
          count = 0;
          if (block.capacity() < need) {
            block = ByteBuffer.allocate(Math.min(MAX_BLOCK_BYTES, need * 2));
          }
        }
        putRecord(block, e);
        count++;
        n++;
      }
      flushBlock(out, block, count);
      flushBlock(out, block, 0); // the end marker: a file without it was cut short
      out.flush();
      if (fsync) {
        ch.force(true);
      }
    } catch (IOException | RuntimeException e) {
      DiskStore.deleteQuietly(temp);
      throw e;
    }
    Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    return n;
  }

  private static int tagsBytes(List<String> tags) {
    if (tags.isEmpty()) {
      return 0;
    }
    int n = 2;
    for (String t : tags) {
      n += 2 + t.length() * 3;
    }
    return n;
  }

  private static void putRecord(ByteBuffer b, StoreEntry e) {
    Key128 primary = e.primary();
    List<String> tags = e.tags();
    b.putLong(e.hi).putLong(e.lo).putLong(e.generation).putLong(e.retainUntil).putInt(e.diskKiB).putInt(e.fingerprint);
    b.put((byte) ((primary != null ? HAS_PRIMARY : 0) | (tags.isEmpty() ? 0 : HAS_TAGS)));
    if (primary != null) {
      b.putLong(primary.hi).putLong(primary.lo);
    }
    if (!tags.isEmpty()) {
      b.putShort((short) tags.size());
      for (String t : tags) {
        putString(b, t);
      }
    }
  }

  private static void putString(ByteBuffer b, String s) {
    byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
    b.putShort((short) bytes.length).put(bytes);
  }

  private static String getString(ByteBuffer b) {
    byte[] bytes = new byte[Short.toUnsignedInt(b.getShort())];
    b.get(bytes);
    return new String(bytes, StandardCharsets.UTF_8);
  }

  /** A block: entry count, byte length, CRC32C of both and the bytes, then the bytes. */
  private static void flushBlock(OutputStream out, ByteBuffer block, int count) throws IOException {
    block.flip();
    int len = block.limit();
    CRC32C crc = new CRC32C();
    ByteBuffer h = ByteBuffer.allocate(12).putInt(count).putInt(len);
    crc.update(h.array(), 0, 8);
    crc.update(block.array(), 0, len);
    h.putInt((int) crc.getValue());
    out.write(h.array());
    out.write(block.array(), 0, len);
    block.clear();
  }

  /**
   * Reads {@code dir/index.snapshot}, handing each record of every whole, checksummed block to
   * {@code sink} in file order. Stops at the first damaged block (the records before it have been
   * handed on). A missing file, another version or other tag headers: no records, not complete.
   */
  static Result read(Path dir, List<String> tagHeaders, Consumer<Record> sink) throws IOException {
    Path file = dir.resolve(FILE);
    long n = 0;
    try (InputStream raw = Files.newInputStream(file);
        DataInputStream in = new DataInputStream(new BufferedInputStream(raw, 256 << 10))) {
      if (in.readLong() != MAGIC) {
        return new Result(0, false, "not an index snapshot");
      }
      int version = in.readInt();
      if (version != VERSION) {
        return new Result(0, false, "version " + version + " (expected: " + VERSION + ")");
      }
      in.readLong(); // written at
      byte[] tagBytes = new byte[in.readUnsignedShort()];
      in.readFully(tagBytes);
      if (!new String(tagBytes, StandardCharsets.UTF_8).equals(String.join("\n", tagHeaders))) {
        return new Result(0, false, "written with other cache.tag-headers");
      }
      byte[] buf = new byte[1 << 20];
      while (true) {
        int count = in.readInt();
        int len = in.readInt();
        int sum = in.readInt();
        if (count < 0 || count > BLOCK_ENTRIES || len < 0 || len > MAX_BLOCK_BYTES) {
          return new Result(n, false, "damaged block header after " + n + " entries");
        }
        if (buf.length < len) {
          buf = new byte[len];
        }
        in.readFully(buf, 0, len);
        CRC32C crc = new CRC32C();
        crc.update(ByteBuffer.allocate(8).putInt(count).putInt(len).array());
        crc.update(buf, 0, len);
        if ((int) crc.getValue() != sum) {
          return new Result(n, false, "checksum mismatch after " + n + " entries");
        }
        if (count == 0) {
          return new Result(n, true, null);
        }
        List<Record> records;
        try {
          records = parseBlock(ByteBuffer.wrap(buf, 0, len), count);
        } catch (RuntimeException e) { // a checksum that matched by chance over bytes we did not write
          return new Result(n, false, "bad block after " + n + " entries: " + e);
        }
        for (Record r : records) {
          sink.accept(r);
        }
        n += count;
      }
    } catch (NoSuchFileException e) {
      return new Result(0, false, "no snapshot");
    } catch (EOFException e) {
      return new Result(n, false, "cut short after " + n + " entries");
    }
  }

  private static List<Record> parseBlock(ByteBuffer b, int count) {
    List<Record> out = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      long hi = b.getLong();
      long lo = b.getLong();
      long gen = b.getLong();
      long retain = b.getLong();
      int kib = b.getInt();
      int fp = b.getInt();
      int flags = b.get();
      Key128 primary = (flags & HAS_PRIMARY) != 0 ? new Key128(b.getLong(), b.getLong()) : null;
      List<String> tags = List.of();
      if ((flags & HAS_TAGS) != 0) {
        int nt = Short.toUnsignedInt(b.getShort());
        String[] ts = new String[nt];
        for (int t = 0; t < nt; t++) {
          ts[t] = getString(b);
        }
        tags = List.of(ts);
      }
      out.add(new Record(hi, lo, gen, retain, kib, fp, primary, tags));
    }
    if (b.hasRemaining()) {
      throw new IllegalStateException(b.remaining() + " bytes after the last entry");
    }
    return out;
  }
}
