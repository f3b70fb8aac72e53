package dev.zcproxy.cache.policy;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class CacheStatusTest {

  @Test
  void aTokenDetailIsWrittenBareAndAnythingElseQuoted() {
    assertThat(CacheStatus.fwd("uri-miss").param("fwd-status", 200).detail("hit-for-pass"))
        .hasToString("zcproxy; fwd=uri-miss; fwd-status=200; detail=hit-for-pass");
    assertThat(CacheStatus.fwd("bypass").detail("a b")).hasToString("zcproxy; fwd=bypass; detail=\"a b\"");
    assertThat(CacheStatus.hit().detail("")).hasToString("zcproxy; hit; detail=\"\"");
    assertThat(CacheStatus.hit().detail("x/y")).hasToString("zcproxy; hit; detail=\"x/y\"");
    assertThat(CacheStatus.hit().detail("say \"no\"\\")).hasToString("zcproxy; hit; detail=\"say \\\"no\\\"\\\\\"");
    assertThat(CacheStatus.hit().detail("caf\u00e9")).hasToString("zcproxy; hit; detail=\"caf\u00e9\"");
    assertThat(CacheStatus.hit().detail("tab\there")).hasToString("zcproxy; hit; detail=\"tab\there\"");
    assertThat(CacheStatus.hit().detail("del\u007f")).hasToString("zcproxy; hit; detail=\"del\u007f\"");
    assertThat(CacheStatus.hit().detail("!#$%&'*+-.^_`|~09AZaz")).hasToString("zcproxy; hit; detail=!#$%&'*+-.^_`|~09AZaz");
  }

  @Test
  void theMemberIsAppendedToAnUpstreamValue() {
    assertThat(CacheStatus.hit().appendTo("up; hit")).isEqualTo("up; hit, zcproxy; hit");
    assertThat(CacheStatus.hit().appendTo("")).isEqualTo("zcproxy; hit");
    assertThat(CacheStatus.hit().appendTo(null)).isEqualTo("zcproxy; hit");
  }

  @Test
  void aMemberWrittenOutBeforeIsTheSameMemberAndGrowsWithoutChangingTheOriginal() {
    String member = CacheStatus.fwd("uri-miss").param("fwd-status", 200).detail("hit-for-pass").toString();
    CacheStatus again = CacheStatus.of(member);
    assertThat(again).hasToString(member);
    assertThat(again.appendTo(null)).isSameAs(member);
    assertThat(again.appendTo("up; hit")).isEqualTo("up; hit, " + member);
    assertThat(CacheStatus.of(member).param("stored").detail("a b"))
        .hasToString("zcproxy; fwd=uri-miss; fwd-status=200; detail=hit-for-pass; stored; detail=\"a b\"");
    assertThat(CacheStatus.of(member)).hasToString(member);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> CacheStatus.of("other; hit"))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
