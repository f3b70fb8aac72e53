package dev.zcproxy.proxy.server;

import dev.zcproxy.cache.CacheOutcome;
import dev.zcproxy.cache.ResponseHead;
import dev.zcproxy.proxy.internal.BodySplice;
import dev.zcproxy.proxy.transfer.TransferMode;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerResponse;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Streams an origin response that is not stored straight to the client, with back-pressure; an
 * origin that dies mid-body closes the client connection.
 *
 * <p>A body of known length at or above {@code transfer.splice-min-size} goes by splice(2) instead,
 * when the transport allows (see {@code startSplice}).
 */
final class Relay {
  // Logs under the handler's name, as it did when this was part of ProxyHandler.
  private static final Logger LOG = LoggerFactory.getLogger(ProxyHandler.class);

  private final HandlerContext ctx;
  final Exchange ex;
  final HttpClientResponse cres;
  final ResponseHead head;
  final CacheOutcome outcome;
  final CacheStatus cs;
  final long expected;
  boolean clientAttached;
  long received;

  Relay(HandlerContext ctx, Exchange ex, HttpClientResponse cres, ResponseHead head, CacheOutcome outcome, CacheStatus cs) {
    this.ctx = ctx;
    this.ex = ex;
    this.cres = cres;
    this.head = head;
    this.outcome = outcome;
    this.cs = cs;
    this.expected = HeaderMaps.contentLength(cres.headers());
    this.clientAttached = !ex.clientGone;
  }

  boolean splicing;
  boolean ended;
  final List<Future<Void>> prefixWrites = new java.util.ArrayList<>();

  void start() {
    if (clientAttached) {
      writeClientHead();
    }
    boolean bodyless = ex.req.method() == HttpMethod.HEAD || head.status() == 204 || head.status() == 304;
    String whyNot = !ctx.spliceEnabled() ? "disabled" : bodyless || expected < 0 || expected < ctx.spliceMinBytes() ? "small or unknown length"
        : BodySplice.whyNotToClient(cres, ex.req, expected);
    if (clientAttached && whyNot == null) {
      startSplice();
      return;
    }
    cres.handler(this::onData);
    cres.exceptionHandler(this::onOriginError);
    cres.endHandler(v -> onEnd());
    ex.resp.closeHandler(v -> {
      ex.clientGone = true;
      if (clientAttached) {
        clientAttached = false;
        cres.request().reset(); // nothing to keep: stop the origin transfer
      }
    });
  }

  /**
   * Pass-through by splice(2): the head and whatever Vert.x already decoded are written normally;
   * the rest goes origin socket → client socket in the kernel. The origin connection is closed
   * afterwards (its HTTP decoder never saw the body).
   */
  private void startSplice() {
    prefixWrites.add(ex.resp.writeHead());
    cres.handler(buf -> {
      received += buf.length();
      ex.bodyBytes += buf.length();
      prefixWrites.add(ex.resp.write(buf));
    });
    cres.exceptionHandler(t -> {
      if (!splicing) {
        onOriginError(t);
      }
    });
    cres.endHandler(v -> {
      ended = true;
      if (!splicing) {
        onEnd();
      }
    });
    ex.resp.closeHandler(v -> ex.clientGone = true);
    BodySplice.holdOrigin(cres);
    ex.context.runOnContext(v -> {
      if (ended || !clientAttached) {
        return; // the whole body came with the head, or the origin failed already
      }
      splicing = true;
      long remaining = expected - received;
      Future.all(prefixWrites).onComplete(w -> {
        if (w.failed() || ex.clientGone) {
          cres.request().connection().close();
          ex.finish(outcome, TransferMode.SPLICE, ex.resp.reset().flatMap(x -> Future.failedFuture("client gone")));
          return;
        }
        BodySplice.toClient(cres, ex.req, remaining, ctx.originIdleMillis()).onComplete(ar -> {
          if (ar.succeeded()) {
            ex.bodyBytes += remaining;
            ex.finish(outcome, TransferMode.SPLICE, ex.resp.end());
          } else {
            ctx.metrics().originError();
            LOG.debug("spliced body for {} failed: {}", ex.head.uri(), ar.cause().toString());
            ex.finish(outcome, TransferMode.SPLICE, ex.resp.reset().flatMap(x -> Future.failedFuture(ar.cause())));
          }
        });
      });
    });
  }

  private void writeClientHead() {
    HttpServerResponse resp = ex.resp;
    resp.setStatusCode(head.status());
    if (cres.statusMessage() != null) {
      resp.setStatusMessage(cres.statusMessage());
    }
    HeaderMaps.copyInto(head.headers(), resp.headers());
    ex.decorate(outcome, cs);
    boolean bodyless = ex.req.method() == HttpMethod.HEAD || head.status() == 204 || head.status() == 304;
    if (!bodyless && expected < 0) {
      resp.setChunked(true);
    }
  }

  private void onData(Buffer buf) {
    received += buf.length();
    if (!clientAttached || ex.req.method() == HttpMethod.HEAD) {
      return; // a HEAD fetched as a GET: the client gets the head only, the body is read and dropped
    }
    HttpServerResponse resp = ex.resp;
    resp.write(buf);
    ex.bodyBytes += buf.length();
    if (resp.writeQueueFull()) {
      cres.pause();
      resp.drainHandler(v -> cres.resume());
    }
  }

  private void onEnd() {
    if (!clientAttached) {
      return;
    }
    // A response to HEAD (or a 204/304) has a Content-Length but no body.
    boolean bodyless = ex.req.method() == HttpMethod.HEAD || head.status() == 204 || head.status() == 304;
    boolean complete = bodyless || expected < 0 || received == expected;
    ex.finish(outcome, TransferMode.COPY, complete ? ex.resp.end() : ex.resp.reset().flatMap(v -> Future.failedFuture("truncated")));
  }

  private void onOriginError(Throwable t) {
    ctx.metrics().originError();
    LOG.debug("origin body for {} failed after {} bytes: {}", ex.head.uri(), received, t.toString());
    if (clientAttached) {
      clientAttached = false;
      // Close the connection: a short body must never look complete.
      ex.finish(outcome, TransferMode.COPY, ex.resp.reset().flatMap(v -> Future.failedFuture(t)));
    }
  }
}
