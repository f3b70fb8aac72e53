package dev.zcproxy.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.zcproxy.proxy.origin.OriginClient;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * An origin that resets a pooled (idle) keep-alive connection is an ordinary event: counted
 * ({@code zcproxy.origin.server.connection.errors}) and logged at DEBUG, where Vert.x logged
 * {@code recvAddress(..) failed with error(-104)} at ERROR (the suite's OriginFaultIT and SitesIT resets did).
 */
class OriginConnectionResetIT extends ProxyAndOrigin<RawOrigin> {
  ListAppender<ILoggingEvent> logged;
  Logger root;

  @BeforeEach
  void captureLog() {
    root = ((LoggerContext) LoggerFactory.getILoggerFactory()).getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    logged = new ListAppender<>();
    logged.start();
    root.addAppender(logged);
  }

  @AfterEach
  void stopCapture() {
    root.detachAppender(logged);
  }

  @Test
  void anOriginThatResetsAnIdlePooledConnectionIsCountedNotAnError() throws Exception {
    BlockingQueue<NetSocket> answered = new LinkedBlockingQueue<>();
    origin = RawOrigin.start(new NetServerOptions().setSoLinger(0), (req, socket) -> {
      RawOrigin.write(socket, "HTTP/1.1 200 OK\r\nCache-Control: no-store\r\nContent-Length: 2\r\n\r\nok");
      answered.add(socket);
    });
    proxy = ProxyFixture.start(origin.url(), cacheDir);
    var r = proxy.get("/r");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(new String(r.body())).isEqualTo("ok");
    NetSocket pooled = answered.poll(10, TimeUnit.SECONDS);
    assertThat(pooled).isNotNull();
    pooled.close(); // SO_LINGER 0: a reset of the connection the proxy keeps in its pool
    OriginClient client = proxy.server.origins().pool("default", "/").servers().get(0).client();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (client.connectionErrors() == 0 && errorLines() == 0) {
      assertThat(System.nanoTime()).as("waiting for the proxy to read the reset").isLessThan(deadline);
      Thread.sleep(10); // polling a counter and the captured log; bounded by the deadline
    }
    assertThat(logged.list.stream().filter(e -> e.getLevel().isGreaterOrEqual(Level.ERROR))
        .map(ILoggingEvent::getFormattedMessage)).as("ERROR lines").isEmpty();
    assertThat(client.connectionErrors()).isEqualTo(1);
    // the next request gets a connection of its own
    assertThat(proxy.get("/r").statusCode()).isEqualTo(200);
    assertThat(origin.requests).hasValue(2);
  }

  private long errorLines() {
    return logged.list.stream().filter(e -> e.getLevel().isGreaterOrEqual(Level.ERROR)).count();
  }
}
