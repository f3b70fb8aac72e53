package dev.zcproxy.proxy.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseDecoder;
import io.netty.util.AsciiString;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The origin decoder's memo of names hands out an earlier name only for the very same bytes (case kept), and a
 * decoder using it reads every head exactly as Netty's own decoder does, repeated, new, long and colliding names alike.
 */
class RepeatedNamesTest {
  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.ISO_8859_1);
  }

  @Test
  void theSameBytesGiveTheSameNameAndOtherBytesTheirOwn() {
    RepeatedNames memo = new RepeatedNames();
    byte[] a = bytes("xxContent-Lengthyy");
    AsciiString first = memo.name(a, 2, 14);
    assertThat(first.toString()).isEqualTo("Content-Length");
    assertThat((Object) memo.name(bytes("Content-Length"), 0, 14)).isSameAs(first);
    // another case is another name: the bytes are kept as sent
    AsciiString lower = memo.name(bytes("content-length"), 0, 14);
    assertThat(lower.toString()).isEqualTo("content-length");
    assertThat(memo.name(bytes("Content-Lengtx"), 0, 14).toString()).isEqualTo("Content-Lengtx");
    // a name is a copy: changing the buffer afterwards changes nothing
    byte[] b = bytes("X-One");
    AsciiString one = memo.name(b, 0, 5);
    b[2] = 'T';
    assertThat(one.toString()).isEqualTo("X-One");
    assertThat(memo.name(b, 0, 5).toString()).isEqualTo("X-Tne");
  }

  @Test
  void longAndEmptyNamesAreMadeEachTime() {
    RepeatedNames memo = new RepeatedNames();
    String longName = "X-" + "a".repeat(RepeatedNames.MAX_NAME);
    AsciiString n1 = memo.name(bytes(longName), 0, longName.length());
    AsciiString n2 = memo.name(bytes(longName), 0, longName.length());
    assertThat(n1.toString()).isEqualTo(longName);
    assertThat((Object) n2).isNotSameAs(n1).isEqualTo(n1);
    assertThat(memo.name(bytes("abc"), 1, 0).toString()).isEmpty();
  }

  @Test
  void manyNamesInFewSlotsAreAlwaysTheirOwnBytes() {
    RepeatedNames memo = new RepeatedNames();
    for (int round = 0; round < 3; round++) {
      for (int i = 0; i < RepeatedNames.SLOTS * 8; i++) {
        String name = "X-H" + i;
        byte[] b = bytes("::" + name + "::");
        assertThat(memo.name(b, 2, name.length()).toString()).isEqualTo(name);
      }
    }
  }

  @Test
  void statusLineWordsAreTheBytesSent() {
    RepeatedNames memo = new RepeatedNames();
    String ok = memo.word(2, bytes("HTTP/1.1 200 OK"), 13, 2);
    assertThat(ok).isEqualTo("OK");
    assertThat(memo.word(2, bytes("OK"), 0, 2)).isSameAs(ok);
    assertThat(memo.word(2, bytes("Ok"), 0, 2)).isEqualTo("Ok");
    assertThat(memo.word(2, bytes("x"), 0, 0)).isEmpty();
    byte[] latin = {'c', (byte) 0xe9};
    assertThat(memo.word(2, latin, 0, 2)).isEqualTo("c\u00e9");
    assertThat(memo.word(1, bytes("204"), 0, 3)).isEqualTo("204");
    assertThat(memo.word(0, bytes("HTTP/1.0"), 0, 8)).isEqualTo("HTTP/1.0");
  }

  /** Netty's response decoder with the memo, as {@code OriginCodec.Decoder} uses it. */
  private static final class MemoDecoder extends HttpResponseDecoder {
    private final RepeatedNames repeated = new RepeatedNames();

    MemoDecoder() {
      super(new HttpDecoderConfig());
    }

    @Override
    protected AsciiString splitHeaderName(byte[] sb, int start, int length) {
      return repeated.name(sb, start, length);
    }

    @Override
    protected String splitFirstWordInitialLine(byte[] sb, int start, int length) {
      return repeated.word(0, sb, start, length);
    }

    @Override
    protected String splitSecondWordInitialLine(byte[] sb, int start, int length) {
      return repeated.word(1, sb, start, length);
    }

    @Override
    protected String splitThirdWordInitialLine(byte[] sb, int start, int length) {
      return repeated.word(2, sb, start, length);
    }
  }

  private static List<String> heads(EmbeddedChannel ch, String wire) {
    ByteBuf in = Unpooled.copiedBuffer(wire, StandardCharsets.ISO_8859_1);
    ch.writeInbound(in);
    List<String> out = new ArrayList<>();
    for (Object m; (m = ch.readInbound()) != null; ) {
      if (m instanceof HttpResponse r) {
        StringBuilder sb = new StringBuilder(r.protocolVersion() + " " + r.status().code() + " " + r.status().reasonPhrase());
        for (Map.Entry<String, String> e : r.headers()) {
          sb.append('|').append(e.getKey()).append(": ").append(e.getValue());
        }
        out.add(sb.toString());
      }
      ReferenceCountUtil.release(m);
    }
    return out;
  }

  @Test
  void aDecoderWithTheMemoReadsWhatNettysOwnReads() {
    StringBuilder wire = new StringBuilder();
    String[] reasons = {"OK", "Ok", "Not Found", "OK", "Custom Reason", ""};
    int[] statuses = {200, 200, 404, 200, 299, 204};
    for (int i = 0; i < 40; i++) {
      int k = i % reasons.length;
      wire.append("HTTP/1.").append(i % 7 == 3 ? 0 : 1).append(' ').append(statuses[k]).append(' ').append(reasons[k]).append("\r\n")
          .append(i % 2 == 0 ? "Content-Type" : "content-type").append(": text/plain\r\n")
          .append("Cache-Control: no-store\r\n")
          .append("X-Req-").append(i % 5).append(": v").append(i).append("\r\n")
          .append("X-").append("L".repeat(i % 3 == 0 ? 60 : 3)).append(": long\r\n")
          .append("Set-Cookie: a=").append(i).append("\r\nSet-Cookie: b\r\n")
          .append("Content-Length: 0\r\n\r\n");
    }
    EmbeddedChannel netty = new EmbeddedChannel(new HttpResponseDecoder(new HttpDecoderConfig()));
    EmbeddedChannel memo = new EmbeddedChannel(new MemoDecoder());
    List<String> expected = heads(netty, wire.toString());
    assertThat(expected).hasSize(40);
    assertThat(heads(memo, wire.toString())).containsExactlyElementsOf(expected);
    // and the same again on the warmed memo, one byte at a time
    List<String> again = new ArrayList<>();
    for (char c : wire.toString().toCharArray()) {
      again.addAll(heads(memo, String.valueOf(c)));
    }
    assertThat(again).containsExactlyElementsOf(expected);
    netty.finishAndReleaseAll();
    memo.finishAndReleaseAll();
  }
}
