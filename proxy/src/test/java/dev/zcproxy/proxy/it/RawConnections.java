package dev.zcproxy.proxy.it;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.extension.AfterTestExecutionCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Raw-socket HTTP/1.1 connections to the test's proxy (register it with {@code @RegisterExtension}):
 * each opened with bounded timeouts, and every one closed when the test method returns, before the
 * test's own {@code @AfterEach} stops the proxy.
 */
final class RawConnections implements AfterTestExecutionCallback {
  private final Supplier<ProxyFixture> proxy;
  private final List<Socket> opened = new ArrayList<>();

  /** {@code proxy} is asked at each call: the test starts its proxy after this is created. */
  RawConnections(Supplier<ProxyFixture> proxy) {
    this.proxy = proxy;
  }

  /** The Host the fixture's client sends: the same cache key as the requests that stored the entry. */
  String host() {
    return "127.0.0.1:" + proxy.get().server.port();
  }

  /** A new connection to the proxy: 5 s to connect, 10 s for each read. */
  Socket connect() throws IOException {
    return connect(new Socket());
  }

  /** Connects {@code s}, which the caller set up unconnected (a small receive buffer, say), as {@link #connect()} does. */
  Socket connect(Socket s) throws IOException {
    opened.add(s);
    s.connect(new InetSocketAddress("127.0.0.1", proxy.get().server.port()), 5_000);
    s.setSoTimeout(10_000);
    return s;
  }

  /** A new connection to the proxy's admin listener, with the same timeouts as {@link #connect()}. */
  Socket connectAdmin() throws IOException {
    Socket s = new Socket();
    opened.add(s);
    s.connect(new InetSocketAddress("127.0.0.1", proxy.get().server.adminPort()), 5_000);
    s.setSoTimeout(10_000);
    return s;
  }

  /** Closes every connection opened so far. */
  void closeAll() throws IOException {
    for (Socket s : opened) {
      s.close();
    }
    opened.clear();
  }

  @Override
  public void afterTestExecution(ExtensionContext context) throws IOException {
    closeAll();
  }
}
