package dev.zcproxy.proxy.transfer;

import dev.zcproxy.proxy.internal.BodyForward;
import dev.zcproxy.proxy.internal.BodySplice;
import dev.zcproxy.proxy.internal.ResponseFiles;
import dev.zcproxy.proxy.internal.Splicer;
import dev.zcproxy.proxy.internal.WrittenBytes;
import io.vertx.core.Future;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.NetSocket;
import java.nio.channels.FileChannel;
import java.util.function.IntConsumer;
import java.util.function.LongConsumer;

/** The {@link TransferPlatform} over {@code proxy.internal}: the one place transfers reach it. */
final class InternalPlatform implements TransferPlatform {

  @Override
  public String whyNotSendfile(HttpServerRequest req) {
    return ResponseFiles.canSendRanges(req) ? null : "no file regions on this connection";
  }

  @Override
  public String whyNotSpliceToClient(HttpClientResponse cres, HttpServerRequest req, long length) {
    return BodySplice.whyNotToClient(cres, req, length);
  }

  @Override
  public String whyNotSpliceToFile(HttpClientResponse cres, long offset, long length) {
    return BodySplice.whyNotToFile(cres, offset, length);
  }

  @Override
  public String whyNotSpliceInto(FileChannel file) {
    return BodySplice.whyNotInto(file);
  }

  @Override
  public String whyNotSpliceTunnel(NetSocket client, NetSocket origin) {
    return Splicer.whyNotSplice(client, origin);
  }

  @Override
  public WriteCount written(HttpServerRequest req) {
    WrittenBytes w = WrittenBytes.of(req.connection());
    return w == null ? null : new WriteCount(w.fileRegionBytes(), w.bufferBytes());
  }

  @Override
  public Future<Void> sendRange(HttpServerRequest req, FileChannel file, long offset, long length) {
    return ResponseFiles.sendRange(req, file, offset, length);
  }

  @Override
  public void holdOrigin(HttpClientResponse cres) {
    BodySplice.holdOrigin(cres);
  }

  @Override
  public void releaseOrigin(HttpClientResponse cres) {
    BodySplice.releaseOrigin(cres);
  }

  @Override
  public Future<Void> spliceToClient(HttpClientResponse cres, HttpServerRequest req, long length, long idleMillis) {
    return BodySplice.toClient(cres, req, length, idleMillis);
  }

  @Override
  public boolean forwardToClient(HttpClientResponse cres, HttpServerRequest req, IntConsumer forwarded) {
    return BodyForward.start(cres, req, forwarded);
  }

  @Override
  public boolean forwardPrefixToClient(HttpClientResponse cres, HttpServerRequest req, IntConsumer forwarded) {
    return BodyForward.startPrefix(cres, req, forwarded);
  }

  @Override
  public Future<Void> spliceToFile(HttpClientResponse cres, FileChannel file, long offset, long length, long idleMillis,
      LongConsumer chunkDone) {
    return BodySplice.toFile(cres, file, offset, length, idleMillis, chunkDone);
  }
}
