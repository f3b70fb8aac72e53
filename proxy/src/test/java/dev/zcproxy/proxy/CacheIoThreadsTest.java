package dev.zcproxy.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class CacheIoThreadsTest {
  /** StoreScanner.WORKERS (package-private in the cache module): the startup scan's tasks, each holding a thread for the scan. */
  private static final int SCAN_WORKERS = 2;

  @Test
  void twoCoresOrFewerGetThreeThreadsLargerMachinesFour() {
    assertEquals(3, ProxyServer.cacheIoThreads(1));
    assertEquals(3, ProxyServer.cacheIoThreads(2));
    assertEquals(4, ProxyServer.cacheIoThreads(3));
    assertEquals(4, ProxyServer.cacheIoThreads(64));
  }

  @Test
  void theStartupScanNeverTakesTheWholePool() {
    for (int cores = 1; cores <= 128; cores++) {
      assertTrue(ProxyServer.cacheIoThreads(cores) > SCAN_WORKERS, "a thread left for fills and opens at " + cores + " cores");
    }
  }
}
