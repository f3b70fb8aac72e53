package dev.zcproxy.cache;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class HeadersTest {
  private static final List<String> CONDITIONALS = List.of("if-none-match", "range", "if-range");

  @Test
  void containsAnyIsContainsOfEachNameCaseInsensitively() {
    Headers h = Headers.of("Accept", "*/*", "RANGE", "bytes=0-9", "Host", "a");
    assertThat(h.containsAny(CONDITIONALS)).isTrue();
    assertThat(Headers.of("If-None-Match", "\"v\"").containsAny(CONDITIONALS)).isTrue();
    // a prefix or an extension of a name is another name
    assertThat(Headers.of("Ranges", "x", "If-Rang", "y", "Accept", "*/*").containsAny(CONDITIONALS)).isFalse();
    assertThat(Headers.empty().containsAny(CONDITIONALS)).isFalse();
    assertThat(h.containsAny(List.of())).isFalse();
    for (String name : List.of("Accept", "RANGE", "Host", "Via")) {
      assertThat(h.containsAny(List.of(name.toLowerCase(java.util.Locale.ROOT)))).isEqualTo(h.contains(name));
    }
  }
}
