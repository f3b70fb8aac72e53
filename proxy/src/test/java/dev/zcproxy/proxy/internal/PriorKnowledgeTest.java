package dev.zcproxy.proxy.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.vertx.core.net.impl.VertxHandler;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Both ways out of the h2c preface detector, on a stand-in pipeline: HTTP/1 bytes go on exactly as read
 * and nothing else changes; the preface, even split across reads, takes the HTTP/1 handlers out and puts
 * the HTTP/2 handler in, which gets every byte. The real Vert.x pipeline is covered by
 * {@link InternalsContractTest} and H2cIT; the fallback by {@link ConnectionHooksTest}.
 */
class PriorKnowledgeTest {
  private final List<String> http1 = new ArrayList<>();
  private final List<String> http2 = new ArrayList<>();
  private EmbeddedChannel ch;

  /** Records what reaches it as text, and releases it. */
  private static ChannelInboundHandlerAdapter recorder(List<String> into) {
    return new ChannelInboundHandlerAdapter() {
      @Override
      public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf b = (ByteBuf) msg;
        into.add(b.toString(StandardCharsets.ISO_8859_1));
        b.release();
      }
    };
  }

  private void pipeline() {
    ch = new EmbeddedChannel();
    ch.pipeline().addLast("zc-head-bytes", new ChannelInboundHandlerAdapter());
    ch.pipeline().addLast("httpDecoder", recorder(http1));
    ch.pipeline().addLast("httpEncoder", new ChannelInboundHandlerAdapter());
    ch.pipeline().addLast(HalfClose.NAME, new ChannelInboundHandlerAdapter());
    // the stand-in for Vert.x's handler has no connection: keep read-complete events from it
    ch.pipeline().addLast("no-read-complete", new ChannelInboundHandlerAdapter() {
      @Override
      public void channelReadComplete(ChannelHandlerContext ctx) {
      }
    });
    ch.pipeline().addLast("handler", VertxHandler.create(c -> null));
    ch.pipeline().addFirst(PriorKnowledge.NAME, new PriorKnowledge.Detector(() -> recorder(http2)));
  }

  @AfterEach
  void close() {
    if (ch != null) {
      ch.finishAndReleaseAll();
    }
  }

  private void read(String s) {
    ch.writeInbound(Unpooled.copiedBuffer(s, StandardCharsets.ISO_8859_1));
  }

  @Test
  void http11BytesPassUnchangedEvenAfterAPrefixOfThePreface() {
    pipeline();
    read("P"); // POST starts like the preface: held until a byte decides
    assertThat(http1).isEmpty();
    read("OST /a HTTP/1.1\r\nHost: h\r\n\r\n");
    assertThat(http1).containsExactly("POST /a HTTP/1.1\r\nHost: h\r\n\r\n");
    assertThat(ch.pipeline().names()).doesNotContain(PriorKnowledge.NAME).contains("httpDecoder", "zc-head-bytes",
        HalfClose.NAME);
    read("GET /b HTTP/1.1\r\n\r\n");
    assertThat(http1).hasSize(2);
    assertThat(http2).isEmpty();
  }

  @Test
  void aFirstByteThatIsNotThePrefaceDecidesAtOnce() {
    pipeline();
    read("GET / HTTP/1.1\r\n\r\n");
    assertThat(http1).containsExactly("GET / HTTP/1.1\r\n\r\n");
    assertThat(ch.pipeline().get(PriorKnowledge.NAME)).isNull();
  }

  @Test
  void thePrefaceSplitAcrossReadsSwitchesThePipelineToHttp2() {
    pipeline();
    read("PRI * HTTP/2.0\r\n");
    read("\r\nSM\r");
    assertThat(http2).isEmpty();
    assertThat(http1).isEmpty();
    read("\n\r\n" + "FRAMES");
    assertThat(http2).containsExactly("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\nFRAMES");
    assertThat(http1).isEmpty();
    assertThat(ch.pipeline().names()).doesNotContain(PriorKnowledge.NAME, "httpDecoder", "httpEncoder", "zc-head-bytes",
        HalfClose.NAME);
    assertThat(ch.pipeline().get("handler")).isNotInstanceOf(VertxHandler.class);
    read("MORE");
    assertThat(http2).containsExactly("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\nFRAMES", "MORE");
  }

  @Test
  void aClientThatLeavesMidPrefaceLeaksNothing() {
    pipeline();
    read("PRI * HT");
    ch.close();
    assertThat(http1).isEmpty();
    assertThat(http2).isEmpty();
  }
}
