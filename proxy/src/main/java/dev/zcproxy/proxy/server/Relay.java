package dev.zcproxy.proxy.server;

import dev.zcproxy.cache.CacheOutcome;
import dev.zcproxy.cache.ResponseHead;
import dev.zcproxy.cache.policy.CacheStatus;
import dev.zcproxy.proxy.transfer.TransferMode;
import dev.zcproxy.proxy.transfer.TransferPlan;
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
 * when the transport allows (see {@code startSplice}). A smaller one goes as the origin connection's own
 * buffers, below Vert.x, when both connections allow ({@code BodyForward}); else it is copied through Vert.x.
 *
 * <p>A state machine on one event loop, the client request's (the origin client is per loop, so the
 * origin response's handlers run there too):
 * <pre>
 * COPYING ───────────────────┬─ origin end ──→ DONE (FAILED when the body is short)
 * SPLICE_PENDING → SPLICING ─┼─ origin error → FAILED
 *                            └─ client gone ─→ CLIENT_GONE (the origin transfer is stopped)
 * </pre>
 */
final class Relay {
  // Logs under the handler's name, as it did when this was part of ProxyHandler.
  private static final Logger LOG = LoggerFactory.getLogger(Relay.class);

  /** Where a relay is. */
  enum State {
    /** Body bytes are copied to the client as they arrive. */
    COPYING,
    /** The head and the bytes Vert.x already decoded are being written; the splice starts next. */
    SPLICE_PENDING,
    /** The kernel moves the rest of the body. */
    SPLICING,
    /** The whole body went out. */
    DONE,
    /** The origin failed or the body was short: the client connection was closed. */
    FAILED,
    /** The client left: nothing more is sent. */
    CLIENT_GONE;

    boolean over() {
      return this == DONE || this == FAILED || this == CLIENT_GONE;
    }
  }

  private final HandlerContext ctx;
  final Exchange ex;
  final HttpClientResponse cres;
  final ResponseHead head;
  final CacheOutcome outcome;
  final CacheStatus cs;
  final long expected;
  private final boolean bodyless;
  private State state;
  private long received;
  /** The origin's end arrived (it may come before a splice takes over). */
  private boolean originEnded;
  private final List<Future<Void>> prefixWrites = new java.util.ArrayList<>();

  Relay(HandlerContext ctx, Exchange ex, HttpClientResponse cres, ResponseHead head, CacheOutcome outcome, CacheStatus cs) {
    this.ctx = ctx;
    this.ex = ex;
    this.cres = cres;
    this.head = head;
    this.outcome = outcome;
    this.cs = cs;
    this.expected = HeaderMaps.contentLength(cres.headers());
    // A response to HEAD (or a 204/304) has a Content-Length but no body.
    this.bodyless = ex.req.method() == HttpMethod.HEAD || head.status() == 204 || head.status() == 304;
    this.state = ex.clientGone ? State.CLIENT_GONE : State.COPYING;
  }

  /** The current state (tests and diagnostics). */
  State state() {
    return state;
  }

  void start() {
    if (state == State.CLIENT_GONE) {
      // Nobody to answer: read and drop the body so the origin connection can be reused.
      cres.handler(buf -> received += buf.length());
      cres.exceptionHandler(t -> ctx.metrics().originError());
      return;
    }
    writeClientHead();
    TransferPlan plan = ctx.planner().forRelay(ex.req, cres, expected, bodyless);
    if (plan.mode() == TransferMode.SPLICE) {
      startSplice();
      return;
    }
    cres.handler(this::onData);
    cres.exceptionHandler(this::onOriginError);
    cres.endHandler(v -> onEnd());
    if (!bodyless && ctx.transfer().forwardToClient(cres, ex.req, this::onForwarded)) {
      ex.resp.writeHead(); // the body parts go behind it, below Vert.x
    }
    ex.resp.closeHandler(v -> {
      ex.clientGone = true;
      if (state == State.COPYING) {
        state = State.CLIENT_GONE;
        // Take what Vert.x holds for a paused response first: the parts its connection queued while paused
        // are pooled buffers that a reset would leave unreleased. Then stop the origin transfer.
        cres.handler(buf -> { });
        cres.resume();
        cres.request().reset();
        ex.finish(outcome, TransferMode.COPY, Future.failedFuture("client closed the connection"));
      }
    });
  }

  /**
   * Pass-through by splice(2): the head and whatever came with it are written first (the body bytes as
   * the origin connection's buffers when {@code BodyForward} can take them, else copied through Vert.x);
   * the rest goes origin socket → client socket in the kernel. After exactly Content-Length bytes the
   * origin connection's decoder is reset and it goes back to the pool (it is closed when it cannot be).
   */
  private void startSplice() {
    state = State.SPLICE_PENDING;
    // The body bytes that came with the head go as the origin's own buffers when they can (no heap copy).
    boolean forwarding = ctx.transfer().forwardPrefixToClient(cres, ex.req, this::onPrefixForwarded);
    prefixWrites.add(ex.resp.writeHead());
    cres.handler(buf -> {
      received += buf.length();
      ex.bodyBytes += buf.length();
      prefixWrites.add(ex.resp.write(buf));
    });
    cres.exceptionHandler(t -> {
      if (state == State.SPLICE_PENDING) {
        onOriginError(t);
      }
    });
    cres.endHandler(v -> {
      originEnded = true;
      if (state == State.SPLICE_PENDING) {
        onEnd(); // the whole body came with the head
      }
    });
    ex.resp.closeHandler(v -> ex.clientGone = true);
    ctx.transfer().holdOrigin(cres);
    ex.context.runOnContext(v -> {
      if (state != State.SPLICE_PENDING || originEnded) {
        return; // the whole body came with the head, or the origin failed already
      }
      state = State.SPLICING;
      if (forwarding && !ex.clientGone) {
        // Completes once the forwarded parts queued before it are written: the splice must not overtake them.
        prefixWrites.add(barrier());
      }
      long remaining = expected - received;
      Future.all(prefixWrites).onComplete(w -> {
        if (w.failed() || ex.clientGone) {
          state = State.CLIENT_GONE;
          cres.request().connection().close();
          ex.finish(outcome, TransferMode.SPLICE, ex.resp.reset().flatMap(x -> Future.failedFuture("client gone")));
          return;
        }
        ex.spliceStarted = true;
        ctx.transfer().spliceToClient(cres, ex.req, remaining, ctx.originIdleMillis()).onComplete(ar -> {
          if (ar.succeeded()) {
            state = State.DONE;
            ex.bodyBytes += remaining;
            ex.finish(outcome, TransferMode.SPLICE, ex.resp.end());
          } else {
            state = State.FAILED;
            ctx.metrics().originError();
            LOG.debug("spliced body for {} failed: {}", ex.head.uri(), ar.cause().toString());
            ex.finish(outcome, TransferMode.SPLICE, ex.resp.reset().flatMap(x -> Future.failedFuture(ar.cause())));
          }
        });
      });
    });
  }

  /** An empty write queued behind the forwarded parts: done when they are written, failed when the client is gone. */
  private Future<Void> barrier() {
    try {
      return ex.resp.write(Buffer.buffer());
    } catch (RuntimeException e) { // the response was closed under us
      return Future.failedFuture(e);
    }
  }

  /** A body part that came with the head went to the client below Vert.x, before the splice. */
  private void onPrefixForwarded(int bytes) {
    received += bytes;
    ex.bodyBytes += bytes;
  }

  private void writeClientHead() {
    HttpServerResponse resp = ex.resp;
    resp.setStatusCode(head.status());
    String reason = cres.statusMessage();
    // Vert.x makes a new Netty status (two AsciiStrings and their bytes) for any message set, even the standard
    // one it would send anyway ("OK" for 200): set only a reason of the origin's own
    if (reason != null && !reason.equals(dev.zcproxy.proxy.internal.HitWriter.reason(head.status()))) {
      resp.setStatusMessage(reason);
    }
    HeaderMaps.copyInto(head.headers(), resp.headers());
    ex.decorate(outcome, cs);
    if (!bodyless && expected < 0) {
      resp.setChunked(true);
    }
  }

  private void onData(Buffer buf) {
    received += buf.length();
    if (state != State.COPYING || bodyless) {
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

  /** A body part went to the client below Vert.x (see {@code BodyForward}); back-pressure is kept there. */
  private void onForwarded(int bytes) {
    received += bytes;
    if (state == State.COPYING) {
      ex.bodyBytes += bytes;
    }
  }

  private void onEnd() {
    if (state.over()) {
      return;
    }
    boolean complete = bodyless || expected < 0 || received == expected;
    state = complete ? State.DONE : State.FAILED;
    ex.finish(outcome, TransferMode.COPY, complete ? ex.resp.end() : ex.resp.reset().flatMap(v -> Future.failedFuture("truncated")));
  }

  private void onOriginError(Throwable t) {
    ctx.metrics().originError();
    LOG.debug("origin body for {} failed after {} bytes: {}", ex.head.uri(), received, t.toString());
    if (!state.over()) {
      state = State.FAILED;
      // Close the connection: a short body must never look complete.
      ex.finish(outcome, TransferMode.COPY, ex.resp.reset().flatMap(v -> Future.failedFuture(t)));
    }
  }
}
