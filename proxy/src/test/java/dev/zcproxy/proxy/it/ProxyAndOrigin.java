package dev.zcproxy.proxy.it;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * The teardown most ITs share, for any kind of origin: a temp cache directory, and the proxy the test started (if
 * any) and its origin (if any) closed after each test (after the subclass's own {@code @AfterEach}).
 *
 * @param <O> the kind of origin the test starts ({@link FixtureOrigin} in {@link OriginAndProxy}, a
 *     {@link RawOrigin} where the test speaks raw bytes)
 */
abstract class ProxyAndOrigin<O extends AutoCloseable> {
  @TempDir
  Path cacheDir;
  O origin;
  ProxyFixture proxy;

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
