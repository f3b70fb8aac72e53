package dev.zcproxy.proxy.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * The raw-byte matcher in front of the request decoder takes exactly the plain {@code GET} heads it can judge
 * and nothing else: every other head, and every head that is not all there, is the decoder's.
 */
class RawHitsTest {
  private final RawHits raw = new RawHits(null, null, () -> { }, 8192, 8192);

  private int parse(String head) {
    byte[] b = head.getBytes(StandardCharsets.ISO_8859_1);
    return raw.parse(b, 0, b.length);
  }

  @Test
  void takesAPlainGetAndReportsItsTargetAndFields() {
    String head = "GET /a/b?c=d HTTP/1.1\r\nHost: example.test:8080\r\nUser-Agent:  wrk \t\r\nX-Empty:\r\n\r\n";
    assertThat(parse(head + "GET /next")).isEqualTo(head.length());
    assertThat(raw.uri).isEqualTo("/a/b?c=d");
    assertThat(raw.count).isEqualTo(3);
    assertThat(Arrays.copyOf(raw.names, 3)).containsExactly("Host", "User-Agent", "X-Empty");
    assertThat(Arrays.copyOf(raw.values, 3)).containsExactly("example.test:8080", "wrk", "");
    assertThat(parse(head)).isEqualTo(head.length());
    assertThat(raw.parse(("xx" + head).getBytes(StandardCharsets.ISO_8859_1), 2, head.length() + 2)).isEqualTo(head.length() + 2);
  }

  @Test
  void leavesEveryHeadThatIsNotAllThereToTheDecoder() {
    String head = "GET /f HTTP/1.1\r\nHost: h\r\n\r\n";
    for (int cut = 0; cut < head.length(); cut++) {
      assertThat(parse(head.substring(0, cut))).as("cut at %d", cut).isEqualTo(-1);
    }
  }

  @Test
  void leavesAnythingUnusualToTheDecoder() {
    String[] heads = {
      "GET /f HTTP/1.1\nHost: h\r\n\r\n", // bare LF after the request line
      "GET /f HTTP/1.1\r\nHost: h\n\r\n", // bare LF after a field
      "GET /f HTTP/1.1\r\nHost: h\r\n\n", // bare LF as the empty line
      "GET /f HTTP/1.1\r\nHost: h\rX: y\r\n\r\n", // CR alone
      "GET /f HTTP/1.1\r\nHost: h\r\nX-A: a\r\n b\r\n\r\n", // obs-fold
      "GET /f HTTP/1.1\r\nHost: h\r\nX-A: a\r\n\tb\r\n\r\n", // obs-fold with HTAB
      "GET /f HTTP/1.1\r\nHost: h\0\r\n\r\n", // NUL in a value
      "GET /f\0 HTTP/1.1\r\nHost: h\r\n\r\n", // NUL in the target
      "GET /f HTTP/1.1\r\nHo\0st: h\r\n\r\n", // NUL in a name
      "GET /f HTTP/1.1\r\nHost: h\u00e9\r\n\r\n", // obs-text
      "GET /f HTTP/1.1\r\nHost: h\u007f\r\n\r\n", // DEL
      "GET /f HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", // duplicate Host
      "GET /f HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", // duplicate Host, other case
      "GET /f HTTP/1.1\r\nX: y\r\n\r\n", // no Host
      "GET http://h/f HTTP/1.1\r\nHost: h\r\n\r\n", // absolute form
      "GET * HTTP/1.1\r\nHost: h\r\n\r\n", // asterisk form
      "GET  /f HTTP/1.1\r\nHost: h\r\n\r\n", // two spaces
      "GET /f  HTTP/1.1\r\nHost: h\r\n\r\n",
      "GET /f HTTP/1.0\r\nHost: h\r\n\r\n", // HTTP/1.0
      "GET /f HTTP/1.10\r\nHost: h\r\n\r\n",
      "GET /f http/1.1\r\nHost: h\r\n\r\n",
      "get /f HTTP/1.1\r\nHost: h\r\n\r\n", // methods are case-sensitive
      "HEAD /f HTTP/1.1\r\nHost: h\r\n\r\n",
      "POST /f HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n",
      "\r\nGET /f HTTP/1.1\r\nHost: h\r\n\r\n", // leading empty line
      "GET /f HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello",
      "GET /f HTTP/1.1\r\nHost: h\r\ncontent-length: 0\r\n\r\n",
      "GET /f HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "GET /f HTTP/1.1\r\nHost: h\r\nTRANSFER-ENCODING: chunked\r\n\r\n",
      "GET /f HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
      "GET /f HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n",
      "GET /f HTTP/1.1\r\nHost: h\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n",
      "GET /f HTTP/1.1\r\nHost : h\r\n\r\n", // space before the colon
      "GET /f HTTP/1.1\r\n: h\r\nHost: h\r\n\r\n", // empty name
      "GET /f HTTP/1.1\r\nX(y): z\r\nHost: h\r\n\r\n", // a separator in a name
      "GET /f HTTP/1.1\r\nHost h\r\n\r\n", // no colon
    };
    for (String h : heads) {
      assertThat(parse(h)).as("%s", h.replace("\r", "\\r").replace("\n", "\\n").replace("\0", "\\0")).isEqualTo(-1);
    }
  }

  @Test
  void leavesHeadsOverTheDecodersLimitsToTheDecoder() {
    RawHits small = new RawHits(null, null, () -> { }, 20, 30);
    byte[] ok = "GET /abcd HTTP/1.1\r\nHost: h\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1);
    assertThat(small.parse(ok, 0, ok.length)).isEqualTo(ok.length);
    byte[] longLine = "GET /abcdefgh HTTP/1.1\r\nHost: h\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1);
    assertThat(small.parse(longLine, 0, longLine.length)).isEqualTo(-1);
    byte[] manyBytes = "GET /a HTTP/1.1\r\nHost: h\r\nX-Long: 0123456789abcdef\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1);
    assertThat(small.parse(manyBytes, 0, manyBytes.length)).isEqualTo(-1);
  }

  @Test
  void leavesHugeHeadsAndManyFieldsToTheDecoder() {
    char[] big = new char[RawHits.MAX_HEAD];
    Arrays.fill(big, 'a');
    assertThat(parse("GET /f HTTP/1.1\r\nHost: h\r\nX-Big: " + new String(big) + "\r\n\r\n")).isEqualTo(-1);
    StringBuilder many = new StringBuilder("GET /f HTTP/1.1\r\nHost: h\r\n");
    for (int i = 0; i < RawHits.MAX_FIELDS; i++) {
      many.append("X-").append(i).append(": v\r\n");
    }
    assertThat(parse(many + "\r\n")).isEqualTo(-1);
    StringBuilder enough = new StringBuilder("GET /f HTTP/1.1\r\nHost: h\r\n");
    for (int i = 0; i < RawHits.MAX_FIELDS - 1; i++) {
      enough.append("X-").append(i).append(": v\r\n");
    }
    assertThat(parse(enough + "\r\n")).isEqualTo(enough.length() + 2);
  }
}
