package dev.zcproxy.proxy.demo;

import dev.zcproxy.cache.Headers;
import dev.zcproxy.cache.policy.HttpDates;
import dev.zcproxy.cache.policy.Validation;
import io.vertx.core.Handler;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * Answers every request of the demo origin; one instance is shared by all event loops.
 *
 * <p>Routes (GET and HEAD):
 *
 * <pre>
 * /                        endpoint list                         max-age=60
 * /bytes/{n}               n pattern bytes                       public, max-age=3600
 * /nostore/bytes/{n}       the same bytes                        no-store
 * /files/{name}            sendFile from the data dir            public, max-age=3600
 * /nostore/files/{name}    the same file                         no-store
 * /time                    the current time                      max-age=5
 * /vary                    body by Accept-Language               max-age=60, Vary
 * /slow/bytes/{n}?rate=R   pattern bytes at R bytes/s            public, max-age=3600
 * /__stats[?uris=1][&amp;match=S]  request counters as JSON (not counted)
 * /__reset                 zero the counters (not counted)
 * </pre>
 *
 * <p>Every cacheable response carries a strong ETag and a Last-Modified, and conditional GETs are
 * answered 304 (If-None-Match, else If-Modified-Since). Bodies are streamed with back-pressure; the
 * slow endpoint is driven by a timer, never by sleeping on the event loop. Files are opened once and
 * their channels kept open: the data dir is assumed not to change while the origin runs.
 */
final class DemoHandler implements Handler<HttpServerRequest> {
  static final String CACHEABLE = "public, max-age=3600";
  static final String NO_STORE = "no-store";

  /** Chunk used to stream pattern bytes; a multiple of the pattern period. */
  private static final int CHUNK = 64 * 1024;

  /** Fixed modification time of generated bodies, so that every run sends the same validators. */
  static final Instant BYTES_MODIFIED = Instant.parse("2025-01-01T00:00:00Z");

  private static final Pattern FILE_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
  private static final long SLOW_TICK_MS = 10;

  private final Vertx vertx;
  private final DemoStats stats;
  private final Path dataDir;
  private final Buffer chunk = Buffer.buffer(BodyPattern.bytes(CHUNK));
  private final String bytesLastModified = HttpDates.format(BYTES_MODIFIED.toEpochMilli());
  private final ConcurrentHashMap<String, OpenFile> files = new ConcurrentHashMap<>();
  private volatile CachedDate date = new CachedDate(0, "");

  private record OpenFile(FileChannel channel, long size, String etag, String lastModified) {}

  private record CachedDate(long epochSecond, String text) {}

  DemoHandler(Vertx vertx, DemoStats stats, Path dataDir) {
    this.vertx = vertx;
    this.stats = stats;
    this.dataDir = dataDir;
  }

  @Override
  public void handle(HttpServerRequest req) {
    String path = req.path();
    HttpServerResponse resp = req.response();
    resp.putHeader("Date", now());
    if (path.equals("/__stats")) {
      String match = req.getParam("match");
      boolean uris = "1".equals(req.getParam("uris"));
      resp.putHeader("Content-Type", "application/json")
          .putHeader("Cache-Control", NO_STORE)
          .end(stats.toJson(uris, match).encode());
      return;
    }
    if (path.equals("/__reset")) {
      stats.reset();
      resp.putHeader("Cache-Control", NO_STORE).end("reset\n");
      return;
    }
    stats.count(path, req.uri());
    if (req.method() != HttpMethod.GET && req.method() != HttpMethod.HEAD) {
      resp.setStatusCode(405).putHeader("Allow", "GET, HEAD").end();
      return;
    }
    try {
      route(req, resp, path);
    } catch (RuntimeException e) {
      if (!resp.headWritten()) {
        resp.setStatusCode(500).end(e + "\n");
      } else {
        req.connection().close();
      }
    }
  }

  private void route(HttpServerRequest req, HttpServerResponse resp, String path) {
    if (path.equals("/")) {
      index(req, resp);
    } else if (path.startsWith("/bytes/")) {
      bytes(req, resp, path.substring("/bytes/".length()), CACHEABLE);
    } else if (path.startsWith("/nostore/bytes/")) {
      bytes(req, resp, path.substring("/nostore/bytes/".length()), NO_STORE);
    } else if (path.startsWith("/files/")) {
      file(req, resp, path.substring("/files/".length()), CACHEABLE);
    } else if (path.startsWith("/nostore/files/")) {
      file(req, resp, path.substring("/nostore/files/".length()), NO_STORE);
    } else if (path.equals("/time")) {
      time(req, resp);
    } else if (path.equals("/vary")) {
      vary(req, resp);
    } else if (path.startsWith("/slow/bytes/")) {
      slow(req, resp, path.substring("/slow/bytes/".length()));
    } else {
      resp.setStatusCode(404).putHeader("Content-Type", "text/plain").end("not found: " + path + "\n");
    }
  }

  private void index(HttpServerRequest req, HttpServerResponse resp) {
    String body =
        """
        zcproxy demo origin

        GET /                       this page                                max-age=60
        GET /bytes/{n}              n deterministic bytes, byte i = (i*31+7) & 0xff
                                    (n like 1000, 1k, 16k, 1m, 100m; KiB/MiB)  public, max-age=3600
        GET /nostore/bytes/{n}      the same bytes                           no-store
        GET /files/{name}           a file of the data dir, sent with sendfile  public, max-age=3600
        GET /nostore/files/{name}   the same file                            no-store
        GET /time                   the current time                         max-age=5
        GET /vary                   greeting by Accept-Language, Vary        max-age=60
        GET /slow/bytes/{n}?rate=R  n bytes streamed at R bytes/s (R like 64k)  public, max-age=3600
        GET /__stats[?uris=1]       origin request counters (JSON)
        GET /__reset                zero the counters
        """;
    Buffer b = Buffer.buffer(body);
    cacheable(resp, "max-age=60", "\"index-" + Integer.toHexString(body.hashCode()) + "\"", bytesLastModified);
    resp.putHeader("Content-Type", "text/plain; charset=utf-8");
    if (notModified(req, resp, BYTES_MODIFIED)) {
      return;
    }
    endSmall(req, resp, b);
  }

  private void bytes(HttpServerRequest req, HttpServerResponse resp, String size, String cacheControl) {
    long n = BodyPattern.parseSize(size);
    if (n < 0) {
      badSize(resp, size);
      return;
    }
    cacheable(resp, cacheControl, "\"bytes-" + n + "\"", bytesLastModified);
    resp.putHeader("Content-Type", "application/octet-stream");
    if (notModified(req, resp, BYTES_MODIFIED)) {
      return;
    }
    resp.putHeader("Content-Length", Long.toString(n));
    if (req.method() == HttpMethod.HEAD) {
      resp.end();
    } else if (n <= CHUNK) {
      resp.end(chunk.slice(0, (int) n));
    } else {
      stream(resp, n);
    }
  }

  /** Writes {@code n} pattern bytes, pausing while the connection's write queue is full. */
  private void stream(HttpServerResponse resp, long n) {
    long[] left = {n};
    Runnable[] pump = new Runnable[1];
    pump[0] =
        () -> {
          while (left[0] > 0 && !resp.writeQueueFull()) {
            int k = (int) Math.min(CHUNK, left[0]);
            left[0] -= k;
            if (left[0] == 0) {
              resp.end(k == CHUNK ? chunk : chunk.slice(0, k));
              return;
            }
            resp.write(k == CHUNK ? chunk : chunk.slice(0, k));
          }
          if (left[0] > 0) {
            resp.drainHandler(v -> pump[0].run());
          }
        };
    resp.exceptionHandler(e -> left[0] = 0);
    pump[0].run();
  }

  private void file(HttpServerRequest req, HttpServerResponse resp, String name, String cacheControl) {
    if (dataDir == null) {
      resp.setStatusCode(404).end("no --data-dir given\n");
      return;
    }
    if (!FILE_NAME.matcher(name).matches()) {
      resp.setStatusCode(400).end("bad file name\n");
      return;
    }
    OpenFile f = files.get(name);
    if (f == null) {
      f = open(name);
      if (f == null) {
        resp.setStatusCode(404).end("no such file: " + name + "\n");
        return;
      }
    }
    cacheable(resp, cacheControl, f.etag(), f.lastModified());
    resp.putHeader("Content-Type", "application/octet-stream");
    if (notModified(req, resp, null)) {
      return;
    }
    resp.putHeader("Content-Length", Long.toString(f.size()));
    if (req.method() == HttpMethod.HEAD) {
      resp.end();
    } else {
      resp.sendFile(f.channel(), 0, f.size()).onFailure(e -> req.connection().close());
    }
  }

  /** Opens a data-dir file once (may block briefly: a fixture, not the proxy). */
  private OpenFile open(String name) {
    Path p = dataDir.resolve(name);
    if (!Files.isRegularFile(p)) {
      return null;
    }
    try {
      FileChannel ch = FileChannel.open(p, StandardOpenOption.READ);
      long size = ch.size();
      long mtime = Files.getLastModifiedTime(p).toMillis();
      OpenFile f =
          new OpenFile(
              ch,
              size,
              "\"file-" + Long.toHexString(size) + "-" + Long.toHexString(mtime) + "\"",
              HttpDates.format(mtime));
      OpenFile prev = files.putIfAbsent(name, f);
      if (prev != null) {
        ch.close();
        return prev;
      }
      return f;
    } catch (IOException e) {
      return null;
    }
  }

  private void time(HttpServerRequest req, HttpServerResponse resp) {
    Instant now = Instant.now();
    String body = now + "\n";
    cacheable(resp, "max-age=5", "\"time-" + now.getEpochSecond() + "\"", HttpDates.format(now.toEpochMilli()));
    resp.putHeader("Content-Type", "text/plain; charset=utf-8");
    endSmall(req, resp, Buffer.buffer(body));
  }

  private void vary(HttpServerRequest req, HttpServerResponse resp) {
    String lang = language(req.getHeader("Accept-Language"));
    String body =
        switch (lang) {
          case "fr" -> "bonjour\n";
          case "de" -> "hallo\n";
          case "es" -> "hola\n";
          default -> "hello\n";
        };
    cacheable(resp, "max-age=60", "\"vary-" + lang + "\"", bytesLastModified);
    resp.putHeader("Vary", "Accept-Language")
        .putHeader("Content-Language", lang)
        .putHeader("Content-Type", "text/plain; charset=utf-8");
    if (notModified(req, resp, BYTES_MODIFIED)) {
      return;
    }
    endSmall(req, resp, Buffer.buffer(body));
  }

  /** The primary subtag of the first language range, or {@code en}. */
  static String language(String acceptLanguage) {
    if (acceptLanguage == null) {
      return "en";
    }
    String first = acceptLanguage.split(",", 2)[0].split(";", 2)[0].trim();
    String primary = first.split("-", 2)[0].toLowerCase(Locale.ROOT);
    return switch (primary) {
      case "fr", "de", "es" -> primary;
      default -> "en";
    };
  }

  private void slow(HttpServerRequest req, HttpServerResponse resp, String size) {
    long n = BodyPattern.parseSize(size);
    if (n < 0) {
      badSize(resp, size);
      return;
    }
    String r = req.getParam("rate");
    long rate = r == null ? 64 * 1024 : BodyPattern.parseSize(r);
    if (rate <= 0) {
      resp.setStatusCode(400).end("bad rate: " + r + " (expected: bytes per second > 0, " + BodyPattern.SIZE_EXPECTED + ")\n");
      return;
    }
    cacheable(resp, CACHEABLE, "\"bytes-" + n + "\"", bytesLastModified);
    resp.putHeader("Content-Type", "application/octet-stream");
    if (notModified(req, resp, BYTES_MODIFIED)) {
      return;
    }
    resp.putHeader("Content-Length", Long.toString(n));
    if (req.method() == HttpMethod.HEAD || n == 0) {
      resp.end();
      return;
    }
    resp.writeHead();
    long start = System.nanoTime();
    long[] sent = {0};
    long[] timer = {-1};
    Runnable stop = () -> vertx.cancelTimer(timer[0]);
    resp.closeHandler(v -> stop.run());
    resp.exceptionHandler(e -> stop.run());
    timer[0] =
        vertx.setPeriodic(
            SLOW_TICK_MS,
            id -> {
              if (resp.writeQueueFull()) {
                return;
              }
              long due = Math.min(n, (long) ((System.nanoTime() - start) / 1e9 * rate) + 1);
              while (sent[0] < due) {
                int k = (int) Math.min(CHUNK, due - sent[0]);
                // every write starts at a multiple of CHUNK (a multiple of the period) or continues
                // from sent % PERIOD: slice the chunk at that phase so the bytes stay in pattern
                int phase = (int) (sent[0] % BodyPattern.PERIOD);
                k = Math.min(k, CHUNK - phase);
                Buffer b = chunk.slice(phase, phase + k);
                sent[0] += k;
                if (sent[0] == n) {
                  vertx.cancelTimer(id);
                  resp.end(b);
                  return;
                }
                resp.write(b);
              }
            });
  }

  private static void badSize(HttpServerResponse resp, String size) {
    resp.setStatusCode(400)
        .end("bad size: " + size + " (expected: " + BodyPattern.SIZE_EXPECTED + ")\n");
  }

  private static void cacheable(HttpServerResponse resp, String cacheControl, String etag, String lastModified) {
    resp.putHeader("Cache-Control", cacheControl)
        .putHeader("ETag", etag)
        .putHeader("Last-Modified", lastModified);
  }

  /**
   * Answers 304 when the request's validators match (RFC 9110 §13.1.2 weak comparison for
   * If-None-Match; If-Modified-Since only without If-None-Match), and says whether it did.
   */
  private static boolean notModified(HttpServerRequest req, HttpServerResponse resp, Instant modified) {
    MultiMap h = req.headers();
    boolean match;
    if (h.contains("If-None-Match")) {
      List<String> members = new ArrayList<>();
      h.getAll("If-None-Match").forEach(v -> Headers.splitList(v, members));
      match = Validation.ifNoneMatch(members, resp.headers().get("ETag"));
    } else {
      String ims = h.get("If-Modified-Since");
      match = ims != null && modifiedNotAfter(resp.headers().get("Last-Modified"), ims);
    }
    if (match) {
      resp.setStatusCode(304).end();
    }
    return match;
  }

  private static boolean modifiedNotAfter(String lastModified, String ifModifiedSince) {
    long lm = HttpDates.parse(lastModified);
    long ims = HttpDates.parse(ifModifiedSince);
    return lm != HttpDates.INVALID && ims != HttpDates.INVALID && lm <= ims;
  }

  private static void endSmall(HttpServerRequest req, HttpServerResponse resp, Buffer body) {
    if (req.method() == HttpMethod.HEAD) {
      resp.putHeader("Content-Length", Integer.toString(body.length())).end();
    } else {
      resp.end(body);
    }
  }

  /** The current time as an IMF-fixdate, formatted at most once a second. */
  private String now() {
    long sec = System.currentTimeMillis() / 1000;
    CachedDate d = date;
    if (d.epochSecond() != sec) {
      d = new CachedDate(sec, HttpDates.format(sec * 1000));
      date = d;
    }
    return d.text();
  }

  /** Closes the open data-dir files. */
  void close() {
    files.values().forEach(f -> {
      try {
        f.channel().close();
      } catch (IOException ignored) {
        // closing a read-only channel: nothing to recover
      }
    });
    files.clear();
  }
}
