package dev.zcproxy.proxy.transfer;

import io.vertx.core.Future;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.NetSocket;
import java.nio.channels.FileChannel;
import java.util.function.IntConsumer;
import java.util.function.LongConsumer;

/**
 * What the transfers need below the public Vert.x API (sendfile of file ranges, splice, the count of
 * bytes written): the probes the {@link TransferPlanner} asks and the operations {@link BodyTransfer}
 * runs. {@link #internals()} is the real one, over {@code proxy.internal}; tests wrap it to make a probe
 * or an operation fail as an upgraded Vert.x, Netty or JDK might.
 */
public interface TransferPlatform {

  /** The implementation over {@code proxy.internal}. */
  static TransferPlatform internals() {
    return new InternalPlatform();
  }

  /** Why ranges of a file cannot be sent with sendfile on this request's connection; {@code null} when they can. */
  String whyNotSendfile(HttpServerRequest req);

  /** Why the rest of {@code cres}'s body cannot be spliced to {@code req}'s socket; {@code null} when it can. */
  String whyNotSpliceToClient(HttpClientResponse cres, HttpServerRequest req, long length);

  /** Why the rest of {@code cres}'s body cannot be spliced into a file at {@code offset}; {@code null} when it can. */
  String whyNotSpliceToFile(HttpClientResponse cres, long offset, long length);

  /**
   * Why a fill cannot splice into this open file (its descriptor cannot be reached); {@code null} when it
   * can. Asked right before the splice starts: the fill then copies instead, nothing lost.
   */
  String whyNotSpliceInto(FileChannel file);

  /**
   * Why the two sockets of a tunnel cannot be spliced both ways (TLS, traffic shaping, not native epoll,
   * not on one event loop ...); {@code null} when they can.
   */
  String whyNotSpliceTunnel(NetSocket client, NetSocket origin);

  /** Body bytes written so far on the request's connection, by how; {@code null} when they cannot be counted. */
  WriteCount written(HttpServerRequest req);

  /** Appends a range of {@code file} to the response body with sendfile (the head must have been written). */
  Future<Void> sendRange(HttpServerRequest req, FileChannel file, long offset, long length);

  /** Stops Vert.x reading the origin socket (before a splice). */
  void holdOrigin(HttpClientResponse cres);

  /** Undoes {@link #holdOrigin}: the splice was not started. */
  void releaseOrigin(HttpClientResponse cres);

  /** Splices the next {@code length} body bytes from the origin socket to the client socket. */
  Future<Void> spliceToClient(HttpClientResponse cres, HttpServerRequest req, long length, long idleMillis);

  /**
   * Takes over the rest of {@code cres}'s body: its parts go to {@code req}'s client connection as the origin
   * connection's own buffers, each size told to {@code forwarded}; returns whether it did (false: nothing
   * changed, the caller copies through Vert.x). When it did, the caller writes the client head at once; the
   * response's end or failure still arrives through {@code cres}'s handlers. Call on the event loop, from
   * the origin response's head handler. The default never takes a body.
   */
  default boolean forwardToClient(HttpClientResponse cres, HttpServerRequest req, IntConsumer forwarded) {
    return false;
  }

  /**
   * Like {@link #forwardToClient}, for the body bytes that arrived with the head of a response whose rest
   * is then spliced ({@link #holdOrigin}, {@link #spliceToClient}): those parts go to the client as the
   * origin connection's buffers instead of through Vert.x's copy, and the origin's reading is left to the
   * caller. Before splicing, the caller waits for a client write queued after them. The default never takes one.
   */
  default boolean forwardPrefixToClient(HttpClientResponse cres, HttpServerRequest req, IntConsumer forwarded) {
    return false;
  }

  /** Splices the next {@code length} body bytes from the origin socket into {@code file} at {@code offset}. */
  Future<Void> spliceToFile(HttpClientResponse cres, FileChannel file, long offset, long length, long idleMillis,
      LongConsumer chunkDone);

  /**
   * Body bytes handed to a connection, by how.
   *
   * @param fileRegionBytes as file regions (sendfile)
   * @param bufferBytes as buffers (copied through the heap)
   */
  record WriteCount(long fileRegionBytes, long bufferBytes) {}
}
