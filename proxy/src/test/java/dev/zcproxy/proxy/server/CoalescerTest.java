package dev.zcproxy.proxy.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.Headers;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The registries where requests for the same thing meet, with a fake clock for hit-for-pass. */
class CoalescerTest {
  private final AtomicLong clock = new AtomicLong(1_700_000_000_000L);

  private static EntryMeta entry(String variant) {
    return new EntryMeta("http://example.com/a", variant, 200, Headers.empty(), 0, 0, 10, 0);
  }

  @Test
  void theFirstRequestForAStaleVariantLeadsItsRevalidationAndTheOthersJoin() {
    Coalescer c = new Coalescer(1000, clock::get, null);
    Coalescer.Joined<Revalidation> first = c.revalidation(entry("a"));
    Coalescer.Joined<Revalidation> second = c.revalidation(entry("a"));
    Coalescer.Joined<Revalidation> other = c.revalidation(entry("b"));
    assertThat(first.leads()).isTrue();
    assertThat(second.leads()).isFalse();
    assertThat(second.value()).isSameAs(first.value());
    assertThat(other.leads()).isTrue();
    c.ended(first.value());
    assertThat(c.revalidation(entry("a")).leads()).isTrue();
  }

  @Test
  void oneBackgroundRevalidationPerVariantAtATime() {
    Coalescer c = new Coalescer(1000, clock::get, null);
    assertThat(c.startBackground(entry("a"))).isTrue();
    assertThat(c.startBackground(entry("a"))).isFalse();
    assertThat(c.startBackground(entry("b"))).isTrue();
    c.endBackground(entry("a"));
    assertThat(c.startBackground(entry("a"))).isTrue();
  }

  @Test
  void hitForPassLastsTheConfiguredTimeOnTheClock() {
    Coalescer c = new Coalescer(1000, clock::get, null);
    c.markHitForPass("k");
    assertThat(c.hitForPass("k")).isTrue();
    clock.addAndGet(999);
    assertThat(c.hitForPass("k")).isTrue();
    clock.addAndGet(1);
    assertThat(c.hitForPass("k")).isFalse();
    c.markHitForPass("k");
    c.clearHitForPass("k");
    assertThat(c.hitForPass("k")).isFalse();
  }

  @Test
  void aZeroHitForPassTimeMarksNothing() {
    Coalescer c = new Coalescer(0, clock::get, null);
    c.markHitForPass("k");
    assertThat(c.hitForPass("k")).isFalse();
  }

  @Test
  void aReloadedHandlerTakesOverTheRegistriesWithTheNewExpiry() {
    Coalescer old = new Coalescer(10_000, clock::get, null);
    old.markHitForPass("k");
    Revalidation r = old.revalidation(entry("a")).value();
    old.startBackground(entry("a"));
    Coalescer reloaded = new Coalescer(1000, clock::get, old);
    assertThat(reloaded.fills()).isSameAs(old.fills());
    assertThat(reloaded.revalidation(entry("a")).value()).isSameAs(r);
    assertThat(reloaded.startBackground(entry("a"))).isFalse();
    assertThat(reloaded.hitForPass("k")).isTrue();
    clock.addAndGet(1000);
    assertThat(reloaded.hitForPass("k")).isFalse();
  }
}
