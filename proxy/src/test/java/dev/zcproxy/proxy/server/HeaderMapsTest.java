package dev.zcproxy.proxy.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.MultiMap;
import org.junit.jupiter.api.Test;

class HeaderMapsTest {

  private static long cl(String... values) {
    MultiMap m = MultiMap.caseInsensitiveMultiMap();
    for (String v : values) {
      m.add("Content-Length", v);
    }
    return HeaderMaps.contentLength(m);
  }

  @Test
  void contentLengthIsParsedLikeEveryOtherContentLength() {
    assertThat(cl()).isEqualTo(-1);
    assertThat(cl("42")).isEqualTo(42);
    assertThat(cl("42", "42")).isEqualTo(42);
    assertThat(cl("42", "43")).isEqualTo(-1); // the first field alone used to win
    assertThat(cl("-5")).isEqualTo(-1); // used to be read as a length of -5
    assertThat(cl("+5")).isEqualTo(-1);
  }
}
