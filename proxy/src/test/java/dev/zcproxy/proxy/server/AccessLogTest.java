package dev.zcproxy.proxy.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.CacheOutcome;
import dev.zcproxy.proxy.transfer.TransferMode;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

class AccessLogTest {
  @Test
  void requestLinePartsCannotBreakTheLineApart() {
    assertThat(AccessLog.safe("/a?b=c&d=%20")).isEqualTo("/a?b=c&d=%20");
    assertThat(AccessLog.safe("/a\" 200 0 1us HIT")).isEqualTo("/a%22%20200%200%201us%20HIT");
    assertThat(AccessLog.safe("/\r\nx\\y")).isEqualTo("/%0D%0Ax%5Cy");
    assertThat(AccessLog.safe("/é")).isEqualTo("/%C3%A9");
    assertThat(AccessLog.safe("")).isEqualTo("-");
    assertThat(AccessLog.safe(null)).isEqualTo("-");
  }

  @Test
  void versionsAreWrittenAsOnTheRequestLine() {
    assertThat(Exchange.versionName(HttpVersion.HTTP_1_0)).isEqualTo("HTTP/1.0");
    assertThat(Exchange.versionName(HttpVersion.HTTP_1_1)).isEqualTo("HTTP/1.1");
    assertThat(Exchange.versionName(HttpVersion.HTTP_2)).isEqualTo("HTTP/2");
    assertThat(Exchange.versionName(null)).isEqualTo("-");
  }

  @Test
  void jsonLineIsOneValidObjectWhateverTheUrlHolds() {
    String url = "/a\"b\\c\nd\r\te\u0001f\u007f/é?x=\u2028";
    String line = AccessLog.jsonLine(1_700_000_000_123L, "127.0.0.1", "GET", url, "HTTP/1.1", 200, 5120, 312,
        CacheOutcome.MISS, TransferMode.COPY, true, 200, 1234);
    assertThat(line).doesNotContain("\n", "\r", "\u2028").startsWith("{").endsWith("}");
    JsonObject j = new JsonObject(line);
    assertThat(j.getString("url")).isEqualTo(url);
    assertThat(j.getString("time")).isEqualTo("2023-11-14T22:13:20.123Z");
    assertThat(j.getString("client")).isEqualTo("127.0.0.1");
    assertThat(j.getString("method")).isEqualTo("GET");
    assertThat(j.getString("version")).isEqualTo("HTTP/1.1");
    assertThat(j.getInteger("status")).isEqualTo(200);
    assertThat(j.getLong("bytes")).isEqualTo(5120);
    assertThat(j.getLong("duration_us")).isEqualTo(312);
    assertThat(j.getString("outcome")).isEqualTo("MISS");
    assertThat(j.getString("mode")).isEqualTo("copy");
    assertThat(j.getBoolean("complete")).isTrue();
    assertThat(j.getInteger("origin_status")).isEqualTo(200);
    assertThat(j.getLong("origin_us")).isEqualTo(1234);
  }

  @Test
  void jsonLineWithoutOriginOrRequestLineHasNullsAndNoOriginFields() {
    JsonObject j = new JsonObject(AccessLog.jsonLine(0, "-", null, null, "-", 400, 0, 0, CacheOutcome.SYNTH,
        TransferMode.COPY, false, -1, -1));
    assertThat(j.containsKey("method")).isTrue();
    assertThat(j.getString("method")).isNull();
    assertThat(j.getString("url")).isNull();
    assertThat(j.getString("version")).isNull();
    assertThat(j.getBoolean("complete")).isFalse();
    assertThat(j.containsKey("origin_status")).isFalse();
    assertThat(j.containsKey("origin_us")).isFalse();
  }
}
