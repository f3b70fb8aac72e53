package dev.zcproxy.proxy.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.Headers;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.impl.headers.HeadersAdaptor;
import java.util.ArrayList;
import java.util.List;
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

  /** Every line in order, repeats kept, for heads shorter and longer than the arrays toHeaders starts with. */
  @Test
  void toHeadersKeepsEveryLineInOrderOnVertxAndNettyMaps() {
    for (int lines : new int[] {0, 1, 2, 3, 15, 16, 17, 40}) {
      MultiMap vertx = HttpHeaders.headers();
      DefaultHttpHeaders netty = new DefaultHttpHeaders();
      List<String> expected = new ArrayList<>();
      for (int i = 0; i < lines; i++) {
        String name = i % 3 == 2 ? "Set-Cookie" : "X-Field-" + i; // a repeated name among the others
        vertx.add(name, "v" + i);
        netty.add(name, "v" + i);
      }
      for (MultiMap map : List.of(vertx, new HeadersAdaptor(netty))) {
        expected.clear();
        map.forEach(e -> expected.add(e.getKey() + ": " + e.getValue()));
        Headers h = HeaderMaps.toHeaders(map);
        List<String> got = new ArrayList<>();
        h.forEach((n, v) -> got.add(n + ": " + v));
        assertThat(got).as("%d lines from %s", lines, map.getClass().getSimpleName()).isEqualTo(expected).hasSize(lines);
      }
    }
  }

  /** A head with thousands of fields is read whole, and the arrays it grew do not stay with the thread. */
  @Test
  void aHugeHeadLeavesNoLargeScratchArraysBehind() {
    MultiMap huge = HttpHeaders.headers();
    for (int i = 0; i < 5000; i++) {
      huge.add("X-F" + i, "v");
    }
    assertThat(HeaderMaps.toHeaders(huge).size()).isEqualTo(5000);
    assertThat(HeaderMaps.scratchLines()).isLessThanOrEqualTo(HeaderMaps.MAX_KEPT_LINES);
    MultiMap small = HttpHeaders.headers().add("A", "1").add("B", "2").add("C", "3");
    Headers h = HeaderMaps.toHeaders(small);
    assertThat(h.get("b")).isEqualTo("2");
    assertThat(h.size()).isEqualTo(3);
    MultiMap some = HttpHeaders.headers();
    for (int i = 0; i < 100; i++) {
      some.add("X-S" + i, "v");
    }
    HeaderMaps.toHeaders(some);
    assertThat(HeaderMaps.scratchLines()).as("a moderately long head keeps its grown arrays").isEqualTo(128);
  }
}
