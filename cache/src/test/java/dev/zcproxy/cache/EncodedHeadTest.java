package dev.zcproxy.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class EncodedHeadTest {
  private static String str(byte[] b) {
    return new String(b, StandardCharsets.ISO_8859_1);
  }

  @Test
  void encodesStatusLineFieldsInOrderAndAgeLast() {
    EncodedHead h = EncodedHead.builder(200, "OK")
        .field("Content-Type", "text/plain")
        .field("Age", "99") // the stored Age is never sent: each response gets its own
        .field("Cache-Control", "max-age=60")
        .field("Content-Length", "5")
        .build();
    assertThat(str(h.toBytes(0))).isEqualTo(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nCache-Control: max-age=60\r\nContent-Length: 5\r\nAge: 0\r\n\r\n");
    assertThat(str(h.toBytes(1234567))).endsWith("Content-Length: 5\r\nAge: 1234567\r\n\r\n");
    assertThat(h.length(1234567)).isEqualTo(h.toBytes(1234567).length);
    assertThat(h.length(9)).isEqualTo(h.length(0)).isEqualTo(h.length(10) - 1);
  }

  @Test
  void writesAtTheBufferPositionAndAdvancesIt() {
    EncodedHead h = EncodedHead.builder(404, "Not Found").field("X", "y").build();
    ByteBuffer out = ByteBuffer.allocate(100);
    out.put((byte) '#');
    h.writeTo(out, 42);
    assertThat(out.position()).isEqualTo(1 + h.length(42));
    assertThat(new String(out.array(), 0, out.position(), StandardCharsets.ISO_8859_1))
        .isEqualTo("#HTTP/1.1 404 Not Found\r\nX: y\r\nAge: 42\r\n\r\n");
    h.writeTo(out, 7);
    assertThat(new String(out.array(), 0, out.position(), StandardCharsets.ISO_8859_1)).endsWith("Age: 42\r\n\r\nHTTP/1.1 404 Not Found\r\nX: y\r\nAge: 7\r\n\r\n");
  }

  @Test
  void keepsObsTextBytesAsTheyWere() {
    EncodedHead h = EncodedHead.builder(200, "OK").field("X-Name", "caf\u00e9").build();
    byte[] b = h.toBytes(3);
    assertThat(str(b)).contains("X-Name: caf\u00e9\r\n");
    assertThat(b).contains((byte) 0xe9);
  }

  @Test
  void refusesANegativeAgeAndABadStatus() {
    EncodedHead h = EncodedHead.builder(200, "OK").build();
    assertThatThrownBy(() -> h.toBytes(-1)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> EncodedHead.builder(42, "x")).isInstanceOf(IllegalArgumentException.class);
  }
}
