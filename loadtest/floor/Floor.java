/*
 * The floor: the least an HTTP/1.1 cache on this JVM and Netty's epoll transport can cost, to tell what zcproxy's own
 * code adds from what the platform costs (issue 9). Not a proxy anyone should run: no RFC 9111, no validation, no
 * bounds, one URI one object, hop-by-hop fields dropped and nothing else looked at.
 *
 * A hit: Netty's request decoder, a map look-up by URI, one pre-encoded direct buffer (head and body) written and
 * flushed at the end of the read: what zcproxy's RAM front path does, minus keys, freshness, Age, Cache-Status,
 * metrics and logs. A miss or a pass: the request to the origin over a connection pool of the event loop (Netty's
 * client codec and aggregator), the response encoded once and written; cached when 200 and not no-store/private.
 *
 * Run (run.sh's "floor" target does this): java -cp proxy/target/zcproxy.jar loadtest/floor/Floor.java
 *   LISTEN_HOST:PORT ORIGIN_HOST:PORT EVENT_LOOPS
 * The zcproxy jar carries Netty; the source launcher compiles this file at start. {@code -Dfloor.transport=io_uring}
 * runs it on Netty's io_uring transport instead (netty-transport-classes-io_uring and its native jar on the class path).
 */

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

public final class Floor {
  private final Map<String, ByteBuf> cache = new ConcurrentHashMap<>();
  private final Map<EventLoop, ArrayDeque<Channel>> pools = new ConcurrentHashMap<>();
  private final String originHost;
  private final int originPort;
  /** The origin connections' channel type (the server's transport). */
  private Class<? extends Channel> channel = EpollSocketChannel.class;

  private Floor(String origin) {
    int c = origin.lastIndexOf(':');
    originHost = origin.substring(0, c);
    originPort = Integer.parseInt(origin.substring(c + 1));
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 3) {
      System.err.println("usage: Floor LISTEN_HOST:PORT ORIGIN_HOST:PORT EVENT_LOOPS");
      System.exit(2);
    }
    Floor floor = new Floor(args[1]);
    int c = args[0].lastIndexOf(':');
    EventLoopGroup group;
    Class<? extends io.netty.channel.ServerChannel> serverChannel;
    if ("io_uring".equals(System.getProperty("floor.transport"))) {
      group = new MultiThreadIoEventLoopGroup(Integer.parseInt(args[2]), (io.netty.channel.IoHandlerFactory)
          Class.forName("io.netty.channel.uring.IoUringIoHandler").getMethod("newFactory").invoke(null));
      serverChannel = Class.forName("io.netty.channel.uring.IoUringServerSocketChannel")
          .asSubclass(io.netty.channel.ServerChannel.class);
      floor.channel = Class.forName("io.netty.channel.uring.IoUringSocketChannel").asSubclass(Channel.class);
    } else {
      group = new MultiThreadIoEventLoopGroup(Integer.parseInt(args[2]), EpollIoHandler.newFactory());
      serverChannel = EpollServerSocketChannel.class;
    }
    new ServerBootstrap().group(group).channel(serverChannel)
        .option(ChannelOption.SO_BACKLOG, 4096)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel ch) {
            ch.pipeline().addLast(new HttpRequestDecoder(), floor.new Front());
          }
        })
        .bind(args[0].substring(0, c), Integer.parseInt(args[0].substring(c + 1))).sync();
    System.out.println("floor listening on " + args[0] + ", origin " + args[1] + ", " + serverChannel.getSimpleName());
  }

  /** A client connection: answers from the map or asks the origin. */
  final class Front extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      try {
        if (msg instanceof HttpRequest req) {
          String uri = req.uri();
          boolean keepAlive = HttpUtil.isKeepAlive(req);
          ByteBuf hit = uri.startsWith("/nostore/") ? null : cache.get(uri);
          if (hit != null) {
            ctx.write(hit.retainedDuplicate());
            if (!keepAlive) {
              ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
            }
          } else {
            fetch(ctx.channel().eventLoop(), uri, resp -> {
              ctx.writeAndFlush(resp);
              if (!keepAlive) {
                ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
              }
            });
          }
        }
      } finally {
        ReferenceCountUtil.release(msg);
      }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      ctx.flush();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }
  }

  /** Sends GET uri to the origin on a pooled connection of {@code loop}; hands the encoded response to {@code done}. */
  void fetch(EventLoop loop, String uri, Consumer<ByteBuf> done) {
    ArrayDeque<Channel> pool = pools.computeIfAbsent(loop, l -> new ArrayDeque<>());
    Channel ch;
    while ((ch = pool.pollLast()) != null && !ch.isActive()) {
      // dropped by the origin
    }
    if (ch != null) {
      send(ch, pool, uri, done);
      return;
    }
    new Bootstrap().group(loop).channel(channel)
        .option(ChannelOption.TCP_NODELAY, true)
        .handler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel c) {
            c.pipeline().addLast(new HttpClientCodec(), new HttpObjectAggregator(64 << 20), new Back());
          }
        })
        .connect(originHost, originPort).addListener((io.netty.channel.ChannelFuture f) -> {
          if (f.isSuccess()) {
            send(f.channel(), pool, uri, done);
          } else {
            done.accept(Unpooled.copiedBuffer("HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n",
                StandardCharsets.ISO_8859_1));
          }
        });
  }

  private void send(Channel ch, ArrayDeque<Channel> pool, String uri, Consumer<ByteBuf> done) {
    Back back = ch.pipeline().get(Back.class);
    back.then = resp -> {
      ByteBuf out = encode(resp, ch);
      if (resp.status().code() == 200 && !uri.startsWith("/nostore/") && cacheable(resp)) {
        ByteBuf kept = Unpooled.directBuffer(out.readableBytes()).writeBytes(out, out.readerIndex(), out.readableBytes());
        ByteBuf old = cache.put(uri, Unpooled.unreleasableBuffer(kept));
        if (old != null) {
          // kept for ever (a floor, not a cache): the old one may still be under way to a client
        }
      }
      if (HttpUtil.isKeepAlive(resp)) {
        pool.addLast(ch);
      } else {
        ch.close();
      }
      done.accept(out);
    };
    DefaultFullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, uri);
    req.headers().set(HttpHeaderNames.HOST, originHost + ":" + originPort);
    ch.writeAndFlush(req);
  }

  private static boolean cacheable(FullHttpResponse resp) {
    String cc = resp.headers().get(HttpHeaderNames.CACHE_CONTROL, "");
    return !cc.contains("no-store") && !cc.contains("private");
  }

  private static ByteBuf encode(FullHttpResponse r, Channel ch) {
    StringBuilder sb = new StringBuilder(320).append("HTTP/1.1 ").append(r.status().code()).append(' ')
        .append(r.status().reasonPhrase()).append("\r\n");
    for (Map.Entry<String, String> h : r.headers()) {
      String n = h.getKey();
      if (n.equalsIgnoreCase("content-length") || n.equalsIgnoreCase("transfer-encoding")
          || n.equalsIgnoreCase("connection") || n.equalsIgnoreCase("keep-alive")) {
        continue;
      }
      sb.append(n).append(": ").append(h.getValue()).append("\r\n");
    }
    int len = r.content().readableBytes();
    sb.append("content-length: ").append(len).append("\r\n\r\n");
    byte[] head = sb.toString().getBytes(StandardCharsets.ISO_8859_1);
    ByteBuf b = ch.alloc().directBuffer(head.length + len);
    return b.writeBytes(head).writeBytes(r.content(), r.content().readerIndex(), len);
  }

  /** An origin connection: the aggregated response goes to whoever sent the request. */
  static final class Back extends ChannelInboundHandlerAdapter {
    Consumer<FullHttpResponse> then;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      try {
        if (msg instanceof FullHttpResponse resp && then != null) {
          Consumer<FullHttpResponse> t = then;
          then = null;
          t.accept(resp);
        }
      } finally {
        ReferenceCountUtil.release(msg);
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }
  }
}
