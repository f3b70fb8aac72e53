package dev.zcproxy.proxy.it;

import org.junit.jupiter.api.BeforeEach;

/**
 * The set-up most ITs share: a {@link FixtureOrigin} started before each test (before the subclass's own
 * {@code @BeforeEach}), and {@link ProxyAndOrigin}'s temp cache directory and teardown.
 */
abstract class OriginAndProxy extends ProxyAndOrigin<FixtureOrigin> {
  @BeforeEach
  void startOrigin() throws Exception {
    origin = FixtureOrigin.start();
  }
}
