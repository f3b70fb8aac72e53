package dev.zcproxy.proxy.demo;

import static java.util.Objects.requireNonNull;

import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.file.FileSystemOptions;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.transport.Transport;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * The demo origin of the README's quick start and of the wrk kit: deterministic, cacheable bodies and
 * request counters that prove a hit never reached it.
 *
 * <pre>
 * java -cp proxy/target/zcproxy.jar dev.zcproxy.proxy.demo.DemoOrigin \
 *     [--listen 127.0.0.1:8081] [--data-dir DIR] [--event-loops N] [--generate 1k,16k,1m]
 * </pre>
 *
 * <p>{@code --generate} writes pattern files of the given sizes (named as given, e.g. {@code 1m})
 * into the data dir before listening, so that {@code /files/1m} and {@code /bytes/1m} are the same
 * bytes. Port 0 picks a free port; the line printed when listening shows the real one. It runs on
 * native epoll when available and on NIO otherwise. The endpoints are listed in {@link DemoHandler}.
 */
public final class DemoOrigin {
  private final Vertx vertx;
  private final DemoHandler handler;
  private final int port;

  private DemoOrigin(Vertx vertx, DemoHandler handler, int port) {
    this.vertx = vertx;
    this.handler = handler;
    this.port = port;
  }

  /** Settings of a demo origin; {@code dataDir} may be null (then {@code /files/} answers 404). */
  public record Settings(String host, int port, Path dataDir, int eventLoops) {
    public Settings {
      requireNonNull(host, "host");
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("listen: port " + port + " (expected: 0..65535)");
      }
      if (eventLoops < 1) {
        throw new IllegalArgumentException("event-loops: " + eventLoops + " (expected: >= 1)");
      }
    }
  }

  /** Starts an origin with its own Vert.x instance; the future completes once every loop listens. */
  public static Future<DemoOrigin> start(Settings settings) {
    requireNonNull(settings, "settings");
    // No class-path files (ProxyServer says why): no /tmp/vertx-cache-<uuid> left by a killed origin.
    VertxOptions options = new VertxOptions().setEventLoopPoolSize(settings.eventLoops())
        .setFileSystemOptions(new FileSystemOptions().setClassPathResolvingEnabled(false).setFileCachingEnabled(false));
    Vertx vertx;
    if (Transport.EPOLL.available()) {
      vertx = Vertx.builder().with(options).withTransport(Transport.EPOLL).build();
    } else {
      vertx = Vertx.builder().with(options).withTransport(Transport.NIO).build();
    }
    DemoHandler handler = new DemoHandler(vertx, new DemoStats(), settings.dataDir());
    // One server per event loop: Vert.x shares the listening socket between servers of one Vert.x
    // bound to the same host:port. Servers asking for port 0 would each get their own port, so
    // pick a free one first.
    int port;
    try {
      port = settings.port() != 0 ? settings.port() : freePort(settings.host());
    } catch (IOException e) {
      vertx.close();
      return Future.failedFuture(e);
    }
    List<Listener> listeners = new CopyOnWriteArrayList<>();
    return vertx
        .deployVerticle(
            () -> {
              Listener l = new Listener(handler, settings.host(), port);
              listeners.add(l);
              return l;
            },
            new DeploymentOptions().setInstances(settings.eventLoops()))
        .<DemoOrigin>compose(
            id -> {
              Set<Integer> ports = new HashSet<>();
              listeners.forEach(l -> ports.add(l.actualPort));
              if (ports.size() != 1) {
                return Future.failedFuture("event loops listen on different ports: " + ports);
              }
              return Future.succeededFuture(new DemoOrigin(vertx, handler, ports.iterator().next()));
            })
        .recover(
            e -> {
              // a future not bound to the (closing) Vert.x contexts, so that callers still see it
              vertx.close();
              return Future.failedFuture(e);
            });
  }

  private static int freePort(String host) throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName(host))) {
      return s.getLocalPort();
    }
  }

  /** The port it listens on. */
  public int port() {
    return port;
  }

  /** Whether it runs on native epoll. */
  public boolean nativeTransport() {
    return vertx.isNativeTransportEnabled();
  }

  /** Stops listening and releases files and threads. */
  public Future<Void> close() {
    return vertx.close().andThen(ar -> handler.close());
  }

  /** One HTTP server on one event loop. */
  private static final class Listener extends VerticleBase {
    private final DemoHandler handler;
    private final String host;
    private final int port;
    private volatile int actualPort = -1;

    Listener(DemoHandler handler, String host, int port) {
      this.handler = handler;
      this.host = host;
      this.port = port;
    }

    @Override
    public Future<?> start() {
      HttpServer server =
          vertx.createHttpServer(new HttpServerOptions()
                  .setHost(host)
                  .setPort(port)
                  .setTcpNoDelay(true)
                  // HTTP/1.1 only, like the proxy's origin leg: sendFile(FileChannel) fails on h2c
                  .setHttp2ClearTextEnabled(false));
      return server
          .requestHandler(handler)
          .listen()
          .onSuccess(s -> actualPort = s.actualPort());
    }
  }

  /** Command-line entry point; see the class comment. */
  public static void main(String[] args) throws Exception {
    quietLogging();
    String listen = "127.0.0.1:8081";
    Path dataDir = null;
    int loops = Math.max(1, Runtime.getRuntime().availableProcessors());
    List<String> generate = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      switch (a) {
        case "--listen" -> listen = value(args, ++i, a);
        case "--data-dir" -> dataDir = Path.of(value(args, ++i, a));
        case "--event-loops" -> loops = intValue(value(args, ++i, a), a);
        case "--generate" -> generate.addAll(List.of(value(args, ++i, a).split(",")));
        case "-h", "--help" -> {
          System.out.println(
              "usage: DemoOrigin [--listen HOST:PORT] [--data-dir DIR] [--event-loops N]"
                  + " [--generate SIZE,SIZE,...]");
          return;
        }
        default -> fail("unknown argument: " + a + " (expected: --listen, --data-dir, --event-loops, --generate)");
      }
    }
    int colon = listen.lastIndexOf(':');
    if (colon < 0) {
      fail("--listen: " + listen + " (expected: HOST:PORT)");
    }
    String host = listen.substring(0, colon);
    int port = intValue(listen.substring(colon + 1), "--listen");
    if (!generate.isEmpty()) {
      if (dataDir == null) {
        fail("--generate needs --data-dir");
      }
      for (String g : generate) {
        long n = BodyPattern.parseSize(g.trim());
        if (n < 0) {
          fail("--generate: " + g + " (expected: " + BodyPattern.SIZE_EXPECTED + ")");
        }
        try {
          BodyPattern.writeFile(dataDir, g.trim(), n);
        } catch (IOException e) {
          fail("--generate: cannot write " + dataDir.resolve(g.trim()) + ": " + e);
        }
      }
    }
    DemoOrigin origin;
    try {
      origin =
          start(new Settings(host, port, dataDir == null ? null : dataDir.toAbsolutePath(), loops))
              .await(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      fail("cannot listen on " + listen + ": " + e.getMessage());
      return;
    }
    Runtime.getRuntime()
        .addShutdownHook(new Thread(() -> origin.close().await(), "demo-origin-shutdown"));
    System.out.println(
        "demo origin listening on http://"
            + host
            + ":"
            + origin.port()
            + " (data dir "
            + (dataDir == null ? "none" : dataDir.toAbsolutePath())
            + ", "
            + loops
            + " event loops, "
            + (origin.nativeTransport() ? "epoll" : "nio")
            + ")");
    System.out.flush();
  }

  /**
   * Turns Netty's and Vert.x's debug chatter off when logback runs without a configuration file (the
   * jar ships none for the origin); an explicit {@code -Dlogback.configurationFile} wins.
   */
  private static void quietLogging() {
    if (System.getProperty("logback.configurationFile") != null
        || DemoOrigin.class.getClassLoader().getResource("logback.xml") != null) {
      return;
    }
    if (org.slf4j.LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)
        instanceof ch.qos.logback.classic.Logger root) {
      root.setLevel(ch.qos.logback.classic.Level.WARN);
    }
  }

  private static String value(String[] args, int i, String flag) {
    if (i >= args.length) {
      fail(flag + " needs a value");
    }
    return args[i];
  }

  private static int intValue(String s, String flag) {
    try {
      return Integer.parseInt(s);
    } catch (NumberFormatException e) {
      fail(flag + ": " + s + " (expected: an integer)");
      return -1;
    }
  }

  private static void fail(String message) {
    System.err.println("DemoOrigin: " + message);
    System.exit(2);
  }
}
