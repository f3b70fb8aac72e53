package dev.zcproxy.proxy.internal;

import dev.zcproxy.cache.EncodedHead;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpContentCompressor;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.impl.Http1xServerConnection;
import io.vertx.core.http.impl.Http1xServerRequest;
import io.vertx.core.http.impl.Http1xServerResponse;
import io.vertx.core.net.impl.MessageWrite;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.invoke.VarHandle;

/**
 * Writes a whole response whose head is already encoded ({@link EncodedHead}) and whose body is in memory
 * straight to an HTTP/1.1 client's channel: one buffer, one write, without Vert.x's per-response header map,
 * header validation and HTTP encoder (a hit's head was checked when it was stored).
 *
 * <p>The response stays a Vert.x response in every way the connection sees: the write goes through the
 * connection's own outbound queue (so it keeps its place behind earlier responses), the response is marked
 * written, and the connection is told the response is complete (its next pipelined request is then handled,
 * or the connection closed if it must). Only the encoder is skipped: the bytes enter the pipeline in front
 * of it.
 *
 * <p>Only where that is safe: a plain (not TLS) HTTP/1.1 connection of Vert.x's own type, a keep-alive request
 * whose response has not started, no compressor in the pipeline, on the connection's event loop. Anywhere
 * else (or when this Vert.x lacks the members it uses) {@link #write} returns {@code null} and the caller
 * answers the normal way.
 */
public final class HitWriter {
  private static final MethodHandle RESPONSE_COMPLETE;
  static final VarHandle WRITTEN;
  static final VarHandle HEAD_WRITTEN;
  private static final VarHandle KEEP_ALIVE;
  /** Why the internal path is unavailable, or {@code null} when it is there. */
  private static final String UNAVAILABLE;

  static {
    MethodHandle complete = null;
    VarHandle written = null;
    VarHandle headWritten = null;
    VarHandle keepAlive = null;
    String why = null;
    try {
      MethodHandles.Lookup conn = MethodHandles.privateLookupIn(Http1xServerConnection.class, MethodHandles.lookup());
      complete = conn.findVirtual(Http1xServerConnection.class, "responseComplete", MethodType.methodType(void.class));
      MethodHandles.Lookup resp = MethodHandles.privateLookupIn(Http1xServerResponse.class, MethodHandles.lookup());
      written = resp.findVarHandle(Http1xServerResponse.class, "written", boolean.class);
      headWritten = resp.findVarHandle(Http1xServerResponse.class, "headWritten", boolean.class);
      keepAlive = resp.findVarHandle(Http1xServerResponse.class, "keepAlive", boolean.class);
    } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
      why = e.toString();
    }
    RESPONSE_COMPLETE = complete;
    WRITTEN = written;
    HEAD_WRITTEN = headWritten;
    KEEP_ALIVE = keepAlive;
    UNAVAILABLE = why;
  }

  private HitWriter() {}

  /** Why pre-encoded responses are never written directly with this Vert.x, or {@code null} when they can be. */
  public static String whyUnavailable() {
    return UNAVAILABLE;
  }

  /**
   * Sends {@code head} (with {@code ageSeconds}) and {@code length} bytes of {@code body} from {@code offset}
   * as the response to {@code req}, in one write. The body is copied before this returns: hold a reference to it
   * ({@link RamBody#tryRetain}) while this runs, and none after.
   *
   * @param status the status {@code head} carries (the response reports it, e.g. to the access log)
   * @return completes once the bytes are written (fails if the connection closed first), or {@code null}
   *     when nothing was written because this connection cannot take it: answer the normal way
   */
  public static Future<Void> write(HttpServerRequest req, int status, EncodedHead head, long ageSeconds, RamBody body,
      int offset, int length) {
    ChannelHandlerContext encoder = writable(req);
    if (encoder == null) {
      return null;
    }
    Http1xServerConnection conn = (Http1xServerConnection) req.connection();
    Http1xServerResponse resp = ((Http1xServerRequest) req).response();
    WrittenBytes counter = WrittenBytes.of(conn);
    int headLength = head.length(ageSeconds);
    ByteBuf buf = encoder.alloc().directBuffer(headLength + length);
    try {
      head.writeTo(buf.internalNioBuffer(0, headLength), ageSeconds);
      buf.writerIndex(headLength);
      body.copyTo(buf, offset, length);
    } catch (RuntimeException e) {
      buf.release();
      throw e;
    }
    resp.setStatusCode(status);
    WRITTEN.set(resp, true);
    HEAD_WRITTEN.set(resp, true);
    Promise<Void> done = Promise.promise();
    ChannelPromise promise = encoder.newPromise();
    promise.addListener(f -> {
      if (f.isSuccess()) {
        done.tryComplete();
      } else {
        done.tryFail(f.cause());
      }
    });
    conn.writeToChannel(new MessageWrite() {
      @Override
      public void write() {
        if (counter != null) {
          counter.counted(0, length); // the bytes skip its place in the pipeline: counted as it would
        }
        encoder.write(buf, promise); // in front of the encoder: the bytes are already HTTP
        // Through the encoder (which passes an empty buffer on): Vert.x flushes now, or after the read
        // under way when pipelined requests are being handled (one flush for the batch).
        conn.write(Unpooled.EMPTY_BUFFER, false, conn.voidPromise);
        ClientChannels.responseEnded(encoder.pipeline());
        complete(conn);
      }

      @Override
      public void cancel(Throwable cause) {
        buf.release();
        promise.tryFailure(cause);
      }
    });
    return done.future();
  }

  /** The standard reason phrase of {@code status} as Vert.x sends it (Netty's table). */
  public static String reason(int status) {
    return io.netty.handler.codec.http.HttpResponseStatus.valueOf(status).reasonPhrase();
  }

  /** The encoder's context of {@code req}'s channel when a pre-encoded response may be written there, else {@code null}. */
  static ChannelHandlerContext writable(HttpServerRequest req) {
    if (UNAVAILABLE != null || req.version() != HttpVersion.HTTP_1_1 || req.isSSL()
        || !(req instanceof Http1xServerRequest r) || !(req.connection() instanceof Http1xServerConnection conn)) {
      return null;
    }
    Http1xServerResponse resp = r.response();
    if (resp.headWritten() || resp.ended() || resp.closed() || !(boolean) KEEP_ALIVE.get(resp)) {
      return null;
    }
    ChannelHandlerContext chctx = conn.channelHandlerContext();
    if (!chctx.executor().inEventLoop()) {
      return null;
    }
    ChannelPipeline p = chctx.pipeline();
    if (p.get(HttpContentCompressor.class) != null || p.get(io.netty.handler.ssl.SslHandler.class) != null) {
      return null;
    }
    return p.context(HttpResponseEncoder.class);
  }

  static void complete(Http1xServerConnection conn) {
    try {
      RESPONSE_COMPLETE.invokeExact(conn);
    } catch (RuntimeException | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException(t);
    }
  }
}
