package dev.zcproxy.proxy.it;

import dev.zcproxy.proxy.transfer.TransferPlatform;
import io.vertx.core.Future;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.NetSocket;
import java.nio.channels.FileChannel;
import java.util.function.IntConsumer;
import java.util.function.LongConsumer;

/** The real transfer platform, every call passed on; tests override what should fail or be counted. */
class DelegatingPlatform implements TransferPlatform {
  final TransferPlatform real = TransferPlatform.internals();

  @Override
  public boolean forwardToClient(HttpClientResponse cres, HttpServerRequest req, IntConsumer forwarded) {
    return real.forwardToClient(cres, req, forwarded);
  }

  @Override
  public boolean forwardPrefixToClient(HttpClientResponse cres, HttpServerRequest req, IntConsumer forwarded) {
    return real.forwardPrefixToClient(cres, req, forwarded);
  }

  @Override
  public String whyNotSendfile(HttpServerRequest req) {
    return real.whyNotSendfile(req);
  }

  @Override
  public String whyNotSpliceToClient(HttpClientResponse cres, HttpServerRequest req, long length) {
    return real.whyNotSpliceToClient(cres, req, length);
  }

  @Override
  public String whyNotSpliceToFile(HttpClientResponse cres, long offset, long length) {
    return real.whyNotSpliceToFile(cres, offset, length);
  }

  @Override
  public String whyNotSpliceInto(FileChannel file) {
    return real.whyNotSpliceInto(file);
  }

  @Override
  public String whyNotSpliceTunnel(NetSocket client, NetSocket origin) {
    return real.whyNotSpliceTunnel(client, origin);
  }

  @Override
  public WriteCount written(HttpServerRequest req) {
    return real.written(req);
  }

  @Override
  public Future<Void> sendRange(HttpServerRequest req, FileChannel file, long offset, long length) {
    return real.sendRange(req, file, offset, length);
  }

  @Override
  public void holdOrigin(HttpClientResponse cres) {
    real.holdOrigin(cres);
  }

  @Override
  public void releaseOrigin(HttpClientResponse cres) {
    real.releaseOrigin(cres);
  }

  @Override
  public Future<Void> spliceToClient(HttpClientResponse cres, HttpServerRequest req, long length, long idleMillis) {
    return real.spliceToClient(cres, req, length, idleMillis);
  }

  @Override
  public Future<Void> spliceToFile(HttpClientResponse cres, FileChannel file, long offset, long length, long idleMillis,
      LongConsumer chunkDone) {
    return real.spliceToFile(cres, file, offset, length, idleMillis, chunkDone);
  }
}
