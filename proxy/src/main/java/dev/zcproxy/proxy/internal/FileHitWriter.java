package dev.zcproxy.proxy.internal;

import dev.zcproxy.cache.EncodedHead;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.DefaultFileRegion;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.impl.Http1xServerConnection;
import io.vertx.core.http.impl.Http1xServerRequest;
import io.vertx.core.http.impl.Http1xServerResponse;
import io.vertx.core.net.impl.MessageWrite;
import java.nio.channels.FileChannel;

/**
 * Writes a whole response whose head is already encoded ({@link EncodedHead}) and whose body is a range of a
 * file straight to an HTTP/1.1 client's channel: the head as one buffer (with the body's first bytes, {@link HeadPrefix})
 * and the rest of the body as one file region ({@code sendfile(2)}), queued together and flushed once, without Vert.x's per-response header map, header
 * validation and HTTP encoder. The file counterpart of {@link HitWriter}, under the same rules: the write keeps
 * its place in the connection's outbound queue, the response is marked written and complete, and anywhere
 * {@link HitWriter} would not write, {@link #write} returns {@code null} and the caller answers the normal way.
 *
 * <p>The file channel is never closed here: it belongs to the caller, who may release it once the returned
 * future completes (the region has then left the channel's outbound buffer, written or failed).
 */
public final class FileHitWriter {
  private FileHitWriter() {}

  /**
   * A file hit handed to the connection: {@code done} completes once the body's last byte was handed to the socket
   * (fails if the connection closed first); {@code copied} of the body's bytes left with the head from a buffer
   * ({@link HeadPrefix}) and the rest as a file region, so {@code copied} equal to the body's length means no region
   * followed (a copy, not a sendfile: a small body read whole, {@link HeadPrefix#WHOLE}).
   */
  public record Sent(Future<Void> done, long copied) {}

  /**
   * Sends {@code head} (with {@code ageSeconds}) and {@code length} bytes of {@code file} from {@code offset} as
   * the response to {@code req}.
   *
   * @param status the status {@code head} carries (the response reports it, e.g. to the access log)
   * @return what was handed over (how many of the body's bytes left with the head: what was written, not what the size
   *     alone would choose; a head too long to leave room, or a short read, leaves a region behind them), or
   *     {@code null} when nothing was written because this connection cannot take it: answer the normal way
   */
  public static Sent write(HttpServerRequest req, int status, EncodedHead head, long ageSeconds,
      FileChannel file, long offset, long length) {
    if (length <= 0) {
      return null;
    }
    ChannelHandlerContext encoder = HitWriter.writable(req);
    if (encoder == null) {
      return null;
    }
    Http1xServerConnection conn = (Http1xServerConnection) req.connection();
    Http1xServerResponse resp = ((Http1xServerRequest) req).response();
    WrittenBytes counter = WrittenBytes.of(conn);
    ByteBuf buf = HeadPrefix.of(encoder.alloc(), head, ageSeconds, file, offset, length, HeadPrefix.BYTES);
    long prefix = buf.readableBytes() - head.length(ageSeconds); // body bytes that leave with the head
    // a small body read whole with its head (HeadPrefix.WHOLE): no region behind it
    DefaultFileRegion region = prefix == length ? null : new Region(file, offset + prefix, length - prefix);
    resp.setStatusCode(status);
    HitWriter.WRITTEN.set(resp, true);
    HitWriter.HEAD_WRITTEN.set(resp, true);
    Promise<Void> done = Promise.promise();
    ChannelPromise headSent = encoder.newPromise();
    ChannelPromise bodySent = encoder.newPromise();
    bodySent.addListener(f -> {
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
          // the bytes skip its place in the pipeline: counted as it would, the body's first bytes (read into the
          // head's buffer, HeadPrefix) as written from a buffer, the rest as the file region's
          counter.counted(length - prefix, prefix);
        }
        LargeSendBuffers.around(encoder.channel(), length, bodySent);
        HitCork.around(encoder.channel(), length, bodySent); // the head leaves in the body's first segment
        // In front of the encoder: the bytes are already HTTP. Head (with the body's first bytes, HeadPrefix) and
        // region stay together in the outbound buffer, so one flush sends both (writev, then sendfile).
        if (region == null) {
          encoder.write(buf, bodySent);
        } else {
          encoder.write(buf, headSent);
          encoder.write(region, bodySent);
        }
        // Through the encoder (which passes an empty buffer on): Vert.x flushes now, or after the read under way
        // when pipelined requests are being handled (one flush for the batch).
        conn.write(Unpooled.EMPTY_BUFFER, false, conn.voidPromise);
        ClientChannels.responseEnded(encoder.pipeline());
        HitWriter.complete(conn);
      }

      @Override
      public void cancel(Throwable cause) {
        buf.release();
        headSent.tryFailure(cause);
        bodySent.tryFailure(cause);
      }
    });
    return new Sent(done.future(), prefix);
  }

  /** A file region that leaves its channel open when Netty releases it: the channel is the caller's. */
  static final class Region extends DefaultFileRegion {
    Region(FileChannel file, long position, long count) {
      super(file, position, count);
    }

    @Override
    protected void deallocate() {
      // DefaultFileRegion would close the channel, which other readers and the open-file cache share.
    }
  }
}
