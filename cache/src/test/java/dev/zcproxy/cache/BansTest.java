package dev.zcproxy.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class BansTest {
  private static final long T0 = 1_700_000_000_000L;

  private static EntryMeta entry(String url, long storedAt, String... headers) {
    return new EntryMeta(url, "", 200, Headers.of(headers), storedAt - 5, storedAt, 10, 4096);
  }

  @Test
  void aBanAppliesOnlyToEntriesStoredBeforeIt() {
    Bans bans = new Bans();
    Bans.Ban b = bans.add(Bans.Kind.PREFIX, "http://Example.com/img/", "", T0);
    assertThat(bans.test(entry("http://example.com/img/a.png", T0 - 1))).isSameAs(b);
    assertThat(bans.test(entry("http://example.com/img/a.png", T0))).isSameAs(b); // same instant: banned
    assertThat(bans.test(entry("http://example.com/img/a.png", T0 + 1))).isNull(); // fetched after the ban
  }

  @Test
  void prefixIsHostAndPathWhateverTheScheme() {
    Bans bans = new Bans();
    bans.add(Bans.Kind.PREFIX, "https://example.com/img", "", T0);
    assertThat(bans.test(entry("http://example.com/img/a", T0 - 1))).isNotNull();
    assertThat(bans.test(entry("https://example.com/imgs", T0 - 1))).isNotNull();
    assertThat(bans.test(entry("http://example.com/im", T0 - 1))).isNull();
    assertThat(bans.test(entry("http://example.org/img/a", T0 - 1))).isNull();
    assertThat(bans.test(entry("http://example.com:8080/img/a", T0 - 1))).isNull();
  }

  @Test
  void regexIsFoundInTheAbsoluteUrl() {
    Bans bans = new Bans();
    bans.add(Bans.Kind.REGEX, "\\.(png|jpg)$", "", T0);
    assertThat(bans.test(entry("http://e.com/a/b.png", T0 - 1))).isNotNull();
    assertThat(bans.test(entry("http://e.com/a/b.png?x", T0 - 1))).isNull();
    assertThat(bans.test(entry("http://e.com/a/b.css", T0 - 1))).isNull();
  }

  @Test
  void badOrHugeRegexIsRefusedAndNothingIsAdded() {
    Bans bans = new Bans();
    assertThatThrownBy(() -> bans.add(Bans.Kind.REGEX, "(unclosed", "", T0))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("bad regular expression");
    assertThatThrownBy(() -> bans.add(Bans.Kind.REGEX, "a".repeat(Bans.MAX_EXPRESSION + 1), "", T0))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at most");
    assertThatThrownBy(() -> bans.add(Bans.Kind.PREFIX, "", "", T0)).isInstanceOf(IllegalArgumentException.class);
    assertThat(bans.isEmpty()).isTrue();
  }

  @Test
  void headerBanMatchesAStoredValueExactly() {
    Bans bans = new Bans();
    bans.add(Bans.Kind.HEADER, "X-Product", "42", T0);
    assertThat(bans.test(entry("http://e.com/a", T0 - 1, "x-product", "42"))).isNotNull();
    assertThat(bans.test(entry("http://e.com/a", T0 - 1, "X-Product", "7", "X-Product", "42"))).isNotNull();
    assertThat(bans.test(entry("http://e.com/a", T0 - 1, "X-Product", "420"))).isNull();
    assertThat(bans.test(entry("http://e.com/a", T0 - 1))).isNull();
  }

  @Test
  void expireDropsBansOlderThanEveryEntry() {
    Bans bans = new Bans();
    bans.add(Bans.Kind.PREFIX, "e.com/a", "", T0);
    bans.add(Bans.Kind.PREFIX, "e.com/b", "", T0 + 10);
    assertThat(bans.expireBefore(T0 + 5)).isEqualTo(1);
    assertThat(bans.list()).extracting(Bans.Ban::expression).containsExactly("e.com/b");
    assertThat(bans.expireBefore(T0 + 10)).isZero(); // an entry stored at T0 + 10 is still banned
  }

  @Test
  void encodeDecodeKeepsEverythingAndIds() {
    Bans bans = new Bans();
    bans.add(Bans.Kind.PREFIX, "e.com/a", "", T0);
    bans.add(Bans.Kind.REGEX, "a\tb\\n|c", "", T0 + 1).countRemoved();
    bans.add(Bans.Kind.HEADER, "X-Tag", "v 1", T0 + 2);

    Bans back = Bans.decode(bans.encode());

    assertThat(back.list()).extracting(Bans.Ban::id, Bans.Ban::kind, Bans.Ban::expression, Bans.Ban::value,
        Bans.Ban::created, Bans.Ban::removed)
        .containsExactlyElementsOf(bans.list().stream().map(b -> org.assertj.core.groups.Tuple.tuple(b.id(), b.kind(),
            b.expression(), b.value(), b.created(), b.removed())).toList());
    assertThat(back.add(Bans.Kind.PREFIX, "e.com/z", "", T0 + 3).id()).isEqualTo(4);
    assertThat(back.test(entry("http://e.com/zz", T0))).isNotNull();
  }
}
