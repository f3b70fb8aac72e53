package dev.zcproxy.cache.policy;

import static dev.zcproxy.cache.policy.Fixtures.at;
import static dev.zcproxy.cache.policy.Fixtures.entry;
import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.Headers;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The hit path's streamed response fields are exactly {@link CachePolicy#responseHeaders}, field by field. */
class ResponseHeaderStreamTest {
  private static List<String> streamed(CachePolicy p, EntryMeta e, long now) {
    List<String> out = new ArrayList<>();
    p.forEachResponseHeader(e, now, (n, v) -> out.add(n + ": " + v));
    return out;
  }

  private static List<String> built(CachePolicy p, EntryMeta e, long now) {
    List<String> out = new ArrayList<>();
    Headers h = p.responseHeaders(e, now);
    h.forEach((n, v) -> out.add(n + ": " + v));
    return out;
  }

  @ParameterizedTest
  @EnumSource(SetCookie.class)
  void sameFieldsInTheSameOrderAsTheBuiltCopy(SetCookie mode) {
    CachePolicy p = new CachePolicy(new PolicyConfig(0.1, 86400, 3600, true, true, 16, 1L << 30, mode));
    List<EntryMeta> entries = List.of(
        entry("Cache-Control", "max-age=600", "Content-Type", "text/plain"),
        entry("Age", "5", "Cache-Control", "max-age=600", "set-cookie", "a=1", "ETag", "\"x\"", "AGE", "9"),
        entry("Set-Cookie", "a=1", "Set-Cookie2", "b=2", "Cache-Control", "max-age=600"),
        entry());
    for (EntryMeta e : entries) {
      assertThat(streamed(p, e, at(42))).as("%s with %s", e.headers(), mode).isEqualTo(built(p, e, at(42)));
    }
    assertThat(streamed(p, entries.get(1), at(42))).filteredOn(f -> f.startsWith("Age: ")).hasSize(1);
  }
}
