package dev.zcproxy.cache.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.Headers;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class EntryFormatTest {

  private static final EntryMeta META = new EntryMeta("https://example.com/a?b=c", "accept-encoding=gzip", 203,
      Headers.of("Content-Type", "text/html; charset=utf-8", "Set-Cookie", "a=1", "Set-Cookie", "b=ü"),
      1000L, 2000L, 0, 0);

  @Test
  void headerRoundTripsEveryField() throws Exception {
    byte[] metaBytes = EntryFormat.encodeMeta(META);
    long offset = EntryFormat.bodyOffsetFor(metaBytes.length);
    ByteBuffer header = EntryFormat.encodeHeader(metaBytes, offset, 12345);

    EntryMeta decoded = EntryFormat.decode(header).meta();

    assertThat(decoded).isEqualTo(META.withBody(12345, offset));
  }

  @Test
  void softPurgeTimeRoundTrips() throws Exception {
    EntryMeta purged = META.withInvalidatedAt(5000L);
    byte[] metaBytes = EntryFormat.encodeMeta(purged);
    EntryMeta decoded = EntryFormat.decode(EntryFormat.encodeHeader(metaBytes, 4096, 7)).meta();
    assertThat(decoded).isEqualTo(purged.withBody(7, 4096));
    assertThat(decoded.invalidatedAt()).isEqualTo(5000L);
  }

  @Test
  void bodyOffsetIsAlignedAndLeavesSlack() {
    assertThat(EntryFormat.bodyOffsetFor(100)).isEqualTo(4096);
    assertThat(EntryFormat.bodyOffsetFor(4000)).isEqualTo(8192);
    long off = EntryFormat.bodyOffsetFor(3000);
    assertThat(off % 4096).isZero();
    assertThat(off - EntryFormat.FIXED_SIZE - 3000).isGreaterThanOrEqualTo(EntryFormat.MIN_SLACK);
  }

  @Test
  void flippedMetadataByteFailsTheChecksum() {
    ByteBuffer header = EntryFormat.encodeHeader(EntryFormat.encodeMeta(META), 4096, 1);
    header.put(40, (byte) (header.get(40) ^ 1));

    assertThatThrownBy(() -> EntryFormat.decode(header)).hasMessageContaining("checksum");
  }

  @Test
  void otherVersionIsRejected() {
    ByteBuffer header = EntryFormat.encodeHeader(EntryFormat.encodeMeta(META), 4096, 1);
    header.putInt(4, EntryFormat.VERSION + 1);

    assertThatThrownBy(() -> EntryFormat.decode(header)).hasMessageContaining("version");
  }

  @Test
  void badMagicIsRejected() {
    ByteBuffer header = EntryFormat.encodeHeader(EntryFormat.encodeMeta(META), 4096, 1);
    header.putInt(0, 0x12345678);

    assertThatThrownBy(() -> EntryFormat.decode(header)).hasMessageContaining("magic");
  }
}
