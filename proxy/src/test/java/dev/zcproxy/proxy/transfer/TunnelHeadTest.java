package dev.zcproxy.proxy.transfer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vertx.core.buffer.Buffer;
import org.junit.jupiter.api.Test;

class TunnelHeadTest {

  private static TunnelHead head(String fields) {
    return TunnelHead.parse(Buffer.buffer("HTTP/1.1 403 Forbidden\r\n" + fields + "\r\n"));
  }

  @Test
  void contentLengthIsParsedLikeEveryOtherContentLength() {
    assertThat(head("").contentLength()).isEqualTo(-1);
    assertThat(head("Content-Length: 12\r\n").contentLength()).isEqualTo(12);
    assertThat(head("Content-Length: 12\r\ncontent-length: 12\r\n").contentLength()).isEqualTo(12);
    assertThatThrownBy(() -> head("Content-Length: +12\r\n").contentLength()).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> head("Content-Length: 12\r\nContent-Length: 13\r\n").contentLength())
        .isInstanceOf(IllegalArgumentException.class);
  }
}
