package dev.zcproxy.proxy.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.CacheKey;
import dev.zcproxy.cache.Headers;
import dev.zcproxy.cache.RequestHead;
import org.junit.jupiter.api.Test;

/** The remembered primary key is the one {@link CacheKey#primaryOf(RequestHead)} and the suffix make, whatever changed. */
class PrimaryKeysTest {
  private static RequestHead head(String scheme, String authority, String target) {
    return new RequestHead("GET", scheme, authority, target, Headers.empty());
  }

  @Test
  void aRepeatedRequestGetsTheSameKeyAndAnyChangeItsOwn() {
    PrimaryKeys keys = new PrimaryKeys();
    String first = keys.of(head("http", "Example.test:8080", "/a?b=1"), "");
    assertThat(first).isEqualTo("http://example.test:8080/a?b=1");
    assertThat(keys.of(head("http", "Example.test:8080", "/a?b=1"), "")).isSameAs(first);
    assertThat(keys.of(head("https", "Example.test:8080", "/a?b=1"), "")).isEqualTo("https://example.test:8080/a?b=1");
    assertThat(keys.of(head("http", "example.test:8080", "/a?b=1"), "")).isEqualTo(first).isNotSameAs(first);
    assertThat(keys.of(head("http", "example.test:8080", "/a?b=2"), "")).isEqualTo("http://example.test:8080/a?b=2");
    assertThat(keys.of(head("http", "example.test:8080", "/a?b=2"), "#site=s1")).isEqualTo("http://example.test:8080/a?b=2#site=s1");
    assertThat(keys.of(head("http", "example.test:8080", "/a?b=2"), "#site=s2")).isEqualTo("http://example.test:8080/a?b=2#site=s2");
    for (String[] c : new String[][] {{"http", "h", "/x"}, {"HTTP", "H", "/x"}, {"http", "h", "/X"}}) {
      RequestHead h = head(c[0], c[1], c[2]);
      assertThat(keys.of(h, "")).isEqualTo(CacheKey.primaryOf(h));
    }
  }

  @Test
  void eachThreadKeepsItsOwn() throws Exception {
    PrimaryKeys keys = new PrimaryKeys();
    String mine = keys.of(head("http", "h", "/mine"), "");
    String[] theirs = new String[1];
    Thread t = new Thread(() -> theirs[0] = keys.of(head("http", "h", "/theirs"), ""));
    t.start();
    t.join();
    assertThat(theirs[0]).isEqualTo("http://h/theirs");
    assertThat(keys.of(head("http", "h", "/mine"), "")).isSameAs(mine);
  }
}
