package dev.zcproxy.proxy.demo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.proxy.config.Units;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The demo origin's contract with the load tests: bodies, validators, headers and counters. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class DemoOriginTest {
  @TempDir static Path dataDir;
  static DemoOrigin origin;
  static final HttpClient client =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  @BeforeAll
  static void start() throws Exception {
    BodyPattern.writeFile(dataDir, "16k", 16 * 1024);
    origin =
        DemoOrigin.start(new DemoOrigin.Settings("127.0.0.1", 0, dataDir, 2))
            .await(10, TimeUnit.SECONDS);
  }

  @AfterAll
  static void stop() throws Exception {
    origin.close().await(10, TimeUnit.SECONDS);
  }

  @BeforeEach
  void resetCounters() throws Exception {
    get("/__reset");
  }

  static HttpResponse<byte[]> get(String path, String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + origin.port() + path));
    if (headers.length > 0) {
      b.headers(headers);
    }
    return client.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  static void assertPattern(byte[] body, long length) {
    assertThat(body).hasSize((int) length);
    for (int i = 0; i < body.length; i++) {
      if (body[i] != (byte) ((i * 31 + 7) & 0xff)) {
        throw new AssertionError("byte " + i + " is " + body[i]);
      }
    }
  }

  @Test
  void bytesFollowThePatternWithLengthAndValidators() throws Exception {
    for (String size : new String[] {"0", "1", "1000", "1k", "64k", "65537", "1m"}) {
      HttpResponse<byte[]> r = get("/bytes/" + size);
      long n = BodyPattern.parseSize(size);
      assertThat(r.statusCode()).isEqualTo(200);
      assertPattern(r.body(), n);
      assertThat(r.headers().firstValue("content-length")).hasValue(Long.toString(n));
      assertThat(r.headers().firstValue("cache-control")).hasValue("public, max-age=3600");
      assertThat(r.headers().firstValue("etag")).hasValue("\"bytes-" + n + "\"");
      assertThat(r.headers().firstValue("last-modified")).hasValue("Wed, 01 Jan 2025 00:00:00 GMT");
    }
  }

  @Test
  void filesAreTheSameBytesAsBytes() throws Exception {
    HttpResponse<byte[]> file = get("/files/16k");
    assertThat(file.statusCode()).isEqualTo(200);
    assertThat(file.body()).isEqualTo(get("/bytes/16k").body());
    assertThat(file.body()).isEqualTo(Files.readAllBytes(dataDir.resolve("16k")));
    assertThat(get("/files/missing").statusCode()).isEqualTo(404);
    assertThat(get("/files/..%2F16k").statusCode()).isIn(400, 404);
  }

  @Test
  void slowBytesAreTheSameBytes() throws Exception {
    HttpResponse<byte[]> r = get("/slow/bytes/70000?rate=100m");
    assertThat(r.statusCode()).isEqualTo(200);
    assertPattern(r.body(), 70000);
  }

  @Test
  void conditionalGetAnswers304() throws Exception {
    HttpResponse<byte[]> r = get("/bytes/1k", "If-None-Match", "\"other\", \"bytes-1024\"");
    assertThat(r.statusCode()).isEqualTo(304);
    assertThat(r.body()).isEmpty();
    assertThat(get("/bytes/1k", "If-None-Match", "\"bytes-1\"").statusCode()).isEqualTo(200);
    assertThat(get("/bytes/1k", "If-Modified-Since", "Thu, 02 Jan 2025 00:00:00 GMT").statusCode())
        .isEqualTo(304);
    String etag = get("/files/16k").headers().firstValue("etag").orElseThrow();
    assertThat(get("/files/16k", "If-None-Match", etag).statusCode()).isEqualTo(304);
  }

  @Test
  void conditionalGetReadsDatesAndTagsLikeTheCache() throws Exception {
    // every HTTP-date format of RFC 9110 §5.6.7, as HttpDates reads them
    assertThat(get("/bytes/1k", "If-Modified-Since", "Thursday, 02-Jan-25 00:00:00 GMT").statusCode()).isEqualTo(304);
    assertThat(get("/bytes/1k", "If-Modified-Since", "Thu Jan  2 00:00:00 2025").statusCode()).isEqualTo(304);
    assertThat(get("/bytes/1k", "If-Modified-Since", "Tue, 31 Dec 2024 00:00:00 GMT").statusCode()).isEqualTo(200);
    assertThat(get("/bytes/1k", "If-Modified-Since", "yesterday").statusCode()).isEqualTo(200);
    // weak comparison and *, as Validation compares them
    assertThat(get("/bytes/1k", "If-None-Match", "W/\"bytes-1024\"").statusCode()).isEqualTo(304);
    assertThat(get("/bytes/1k", "If-None-Match", "*").statusCode()).isEqualTo(304);
    assertThat(get("/bytes/1k", "Last-Modified", "x").headers().firstValue("last-modified"))
        .hasValue("Wed, 01 Jan 2025 00:00:00 GMT");
  }

  @Test
  void noStoreVariantsSayNoStore() throws Exception {
    HttpResponse<byte[]> bytes = get("/nostore/bytes/16k");
    assertPattern(bytes.body(), 16 * 1024);
    assertThat(bytes.headers().firstValue("cache-control")).hasValue("no-store");
    assertThat(get("/nostore/files/16k").headers().firstValue("cache-control")).hasValue("no-store");
  }

  @Test
  void varyDependsOnAcceptLanguage() throws Exception {
    HttpResponse<byte[]> fr = get("/vary", "Accept-Language", "fr-CH, fr;q=0.9, en;q=0.8");
    HttpResponse<byte[]> none = get("/vary");
    assertThat(new String(fr.body())).isEqualTo("bonjour\n");
    assertThat(new String(none.body())).isEqualTo("hello\n");
    assertThat(fr.headers().firstValue("vary")).hasValue("Accept-Language");
    assertThat(fr.headers().firstValue("etag")).isNotEqualTo(none.headers().firstValue("etag"));
  }

  @Test
  void statsCountRequestsPerPathAndUri() throws Exception {
    get("/bytes/1k?k=1");
    get("/bytes/1k?k=2");
    get("/bytes/1k?k=2");
    get("/time");
    JsonObject stats = new JsonObject(new String(get("/__stats?uris=1&match=k%3D2").body()));
    assertThat(stats.getLong("total")).isEqualTo(4);
    assertThat(stats.getJsonObject("paths").getLong("/bytes/1k")).isEqualTo(3);
    assertThat(stats.getJsonObject("uris").getLong("/bytes/1k?k=2")).isEqualTo(2);
    assertThat(stats.getJsonObject("match").getLong("requests")).isEqualTo(2);
    assertThat(stats.getJsonObject("match").getLong("keys")).isEqualTo(1);
    get("/__reset");
    assertThat(new JsonObject(new String(get("/__stats").body())).getLong("total")).isZero();
  }

  @Test
  void sizesAcceptBinarySuffixes() {
    assertThat(BodyPattern.parseSize("1k")).isEqualTo(1024);
    assertThat(BodyPattern.parseSize("16K")).isEqualTo(16384);
    assertThat(BodyPattern.parseSize("100m")).isEqualTo(100L << 20);
    assertThat(BodyPattern.parseSize("1MiB")).isEqualTo(1L << 20);
    assertThat(BodyPattern.parseSize("12x")).isEqualTo(-1);
    assertThat(BodyPattern.parseSize("17g")).isEqualTo(-1);
    assertThat(BodyPattern.parseSize("")).isEqualTo(-1);
  }

  @Test
  void sizesAreTheConfigFilesSizes() {
    // whatever the config accepts, the demo accepts to the byte (one parser: Units)
    for (String s : new String[] {"0", "1000", "100B", "1kib", "64KiB", "1.5KiB", "2 MiB", "16GiB", "16k", "1.5k", "2M", "1g"}) {
      assertThat(BodyPattern.parseSize(s)).as(s).isEqualTo(Units.parseSize(s));
    }
    assertThat(BodyPattern.parseSize("1.5k")).isEqualTo(1536);
    // what the config rejects, the demo rejects
    for (String s : new String[] {"1KB", "1kb", "10GB", "1MB", "1e3", "-1", "-1k", "k", "1TiB", "1 2 KiB"}) {
      assertThat(BodyPattern.parseSize(s)).as(s).isEqualTo(-1);
    }
  }
}
