package dev.zcproxy.proxy.origin;

import dev.zcproxy.proxy.config.ProxyConfig;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.streams.ReadStream;
import java.net.ConnectException;
import java.util.concurrent.TimeoutException;

/**
 * Sends requests to the one configured origin over a pooled, keep-alive Vert.x {@link HttpClient}
 * with connect, first-byte and idle timeouts.
 */
public final class OriginClient {
  private final HttpClient client;
  private final ProxyConfig.Origin config;

  public OriginClient(Vertx vertx, ProxyConfig.Origin config) {
    this.config = config;
    HttpClientOptions options = new HttpClientOptions()
        .setKeepAlive(true)
        .setKeepAliveTimeout((int) Math.max(1, config.keepAliveTimeout().toSeconds()))
        .setConnectTimeout((int) config.connectTimeout().toMillis())
        .setTcpNoDelay(true)
        .setDecompressionSupported(false)
        .setMaxHeaderSize(64 * 1024)
        .setDefaultHost(config.url().host())
        .setDefaultPort(config.url().port());
    if (config.url().tls()) {
      options.setSsl(true);
    }
    this.client = vertx.httpClientBuilder()
        .with(options)
        .with(new PoolOptions().setHttp1MaxSize(config.maxConnections()))
        .build();
  }

  /**
   * Sends a request and completes with the origin's response head; its body is then read from the
   * returned response, which switches to the body idle timeout.
   *
   * @param body the request body to stream, or {@code null} for none
   * @param bodyLength the body's Content-Length, or -1 to send it chunked (ignored without a body)
   */
  public Future<HttpClientResponse> send(HttpMethod method, String uri, MultiMap headers, ReadStream<Buffer> body, long bodyLength) {
    RequestOptions ro = new RequestOptions()
        .setMethod(method)
        .setHost(config.url().host())
        .setPort(config.url().port())
        .setURI(uri)
        .setHeaders(headers)
        .setConnectTimeout(config.connectTimeout().toMillis())
        .setIdleTimeout(config.firstByteTimeout().toMillis());
    return client.request(ro).compose(req -> {
      Future<HttpClientResponse> resp;
      if (body == null) {
        resp = req.send();
      } else {
        if (bodyLength >= 0) {
          req.putHeader("content-length", Long.toString(bodyLength));
        } else {
          req.setChunked(true);
        }
        resp = req.send(body);
      }
      return resp.map(r -> {
        bodyIdleTimeout(req);
        return r;
      });
    });
  }

  private void bodyIdleTimeout(HttpClientRequest req) {
    long idle = config.idleTimeout().toMillis();
    if (idle > 0) {
      req.idleTimeout(idle);
    }
  }

  /** Whether a failure was a timeout (answer 504) rather than an unreachable origin (502). */
  public static boolean isTimeout(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof TimeoutException || c instanceof io.netty.channel.ConnectTimeoutException
          || c.getClass().getSimpleName().contains("Timeout")) {
        return true;
      }
    }
    return false;
  }

  /** Whether a failure means the origin could not be reached at all. */
  public static boolean isConnectFailure(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof ConnectException) {
        return true;
      }
    }
    return false;
  }

  public Future<Void> close() {
    return client.close();
  }
}
