package dev.zcproxy.proxy.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.http.HttpVersion;
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
}
