package dev.zcproxy.proxy.it;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * The set-up most ITs share: a {@link FixtureOrigin} started before each test (before the subclass's own
 * {@code @BeforeEach}), a temp cache directory, and the proxy the test started (if any) and the origin
 * closed after it (after the subclass's own {@code @AfterEach}).
 */
abstract class OriginAndProxy {
  @TempDir
  Path cacheDir;
  FixtureOrigin origin;
  ProxyFixture proxy;

  @BeforeEach
  void startOrigin() throws Exception {
    origin = FixtureOrigin.start();
  }

  @AfterEach
  void closeProxyAndOrigin() throws Exception {
    try {
      if (proxy != null) {
        proxy.close();
      }
    } finally {
      if (origin != null) {
        origin.close();
      }
    }
  }
}
