package dev.zcproxy.cache;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link EntryMeta} and {@link CacheKey} write out the equals and hashCode a record would generate (to keep
 * java.lang.runtime.ObjectMethods off a start's first hit): the values must stay the generated ones, since
 * EntryMeta's hash is the fingerprint an index snapshot on disk holds for each entry. Records of the same components
 * are the oracle.
 */
class RecordIdentityTest {
  private record MetaMirror(String primaryKey, String variant, int status, Headers headers, long requestTime,
      long responseTime, long bodyLength, long bodyOffset, long invalidatedAt) {}

  private record KeyMirror(String primary, String variant) {}

  private static MetaMirror mirror(EntryMeta m) {
    return new MetaMirror(m.primaryKey(), m.variant(), m.status(), m.headers(), m.requestTime(), m.responseTime(),
        m.bodyLength(), m.bodyOffset(), m.invalidatedAt());
  }

  private static final EntryMeta META = new EntryMeta("http://example.test/a?b=1", "accept-encoding=gzip", 200,
      Headers.of("Cache-Control", "max-age=60", "ETag", "\"x\""), 1_796_000_000_123L, 1_796_000_000_456L, 1L << 33, 512,
      7);

  @Test
  void entryMetaHashesAsTheGeneratedRecordHashCode() {
    List<EntryMeta> metas = List.of(META, META.withBody(0, 0), META.withInvalidatedAt(3),
        new EntryMeta("", "", 0, Headers.empty(), 0, 0, 0, 0),
        new EntryMeta("http://h/é", "v", 404, Headers.of("Vary", "Accept"), Long.MIN_VALUE, -1, 3, Long.MAX_VALUE, 9));
    for (EntryMeta m : metas) {
      assertThat(m.hashCode()).as(m.toString()).isEqualTo(mirror(m).hashCode());
    }
  }

  @Test
  void entryMetaEqualsComponentByComponent() {
    EntryMeta same = new EntryMeta(META.primaryKey(), META.variant(), META.status(),
        Headers.of("Cache-Control", "max-age=60", "ETag", "\"x\""), META.requestTime(), META.responseTime(),
        META.bodyLength(), META.bodyOffset(), META.invalidatedAt());
    assertThat(same).isEqualTo(META).hasSameHashCodeAs(META);
    assertThat(META).isNotEqualTo(null).isNotEqualTo("x")
        .isNotEqualTo(new EntryMeta(META.primaryKey() + "x", META.variant(), META.status(), META.headers(),
            META.requestTime(), META.responseTime(), META.bodyLength(), META.bodyOffset(), META.invalidatedAt()))
        .isNotEqualTo(new EntryMeta(META.primaryKey(), "", META.status(), META.headers(), META.requestTime(),
            META.responseTime(), META.bodyLength(), META.bodyOffset(), META.invalidatedAt()))
        .isNotEqualTo(new EntryMeta(META.primaryKey(), META.variant(), 203, META.headers(), META.requestTime(),
            META.responseTime(), META.bodyLength(), META.bodyOffset(), META.invalidatedAt()))
        .isNotEqualTo(META.withHeaders(Headers.of("Cache-Control", "max-age=61"), META.requestTime(), META.responseTime()))
        .isNotEqualTo(META.withBody(META.bodyLength() + 1, META.bodyOffset()))
        .isNotEqualTo(META.withBody(META.bodyLength(), META.bodyOffset() + 1))
        .isNotEqualTo(new EntryMeta(META.primaryKey(), META.variant(), META.status(), META.headers(), META.requestTime(),
            META.responseTime(), META.bodyLength(), META.bodyOffset(), 8))
        .isNotEqualTo(new EntryMeta(META.primaryKey(), META.variant(), META.status(), META.headers(), META.requestTime() + 1,
            META.responseTime(), META.bodyLength(), META.bodyOffset(), META.invalidatedAt()))
        .isNotEqualTo(new EntryMeta(META.primaryKey(), META.variant(), META.status(), META.headers(), META.requestTime(),
            META.responseTime() + 1, META.bodyLength(), META.bodyOffset(), META.invalidatedAt()));
  }

  @Test
  void cacheKeyEqualsAndHashesAsTheGeneratedRecord() {
    for (CacheKey k : List.of(CacheKey.of("http://h/a", ""), CacheKey.of("http://h/a", "accept=x"), CacheKey.of("", ""))) {
      assertThat(k.hashCode()).isEqualTo(new KeyMirror(k.primary(), k.variant()).hashCode());
      assertThat(k).isEqualTo(CacheKey.of(new String(k.primary()), new String(k.variant())));
    }
    assertThat(CacheKey.of("http://h/a", "")).isNotEqualTo(CacheKey.of("http://h/a", "v")).isNotEqualTo(CacheKey.of("http://h/b", ""))
        .isNotEqualTo(null).isNotEqualTo("http://h/a");
  }
}
