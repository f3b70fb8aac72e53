package dev.zcproxy.proxy.server;

import dev.zcproxy.cache.policy.CachePolicy;
import dev.zcproxy.cache.store.DiskStore;
import dev.zcproxy.proxy.admin.ProxyMetrics;
import io.vertx.core.Vertx;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;

/**
 * What the pieces of one request ({@link Exchange}, {@link Relay}, {@link Fill} and its readers) use of
 * the {@link ProxyHandler} that made them: its collaborators, its settings, the registry of fills under
 * way and the steps of the flow a fill hands its waiting requests back to.
 *
 * <p>One per handler, built in its constructor; nothing here is static, so two proxies in one JVM stay
 * apart.
 *
 * @param store the cache; never {@code null} where a {@link Fill} uses it (no fills without a cache)
 * @param ioExecutor the cache-io pool: reads and closes of fill files
 * @param originAuthority the {@code Host} sent to the origin, and the request authority when the client sent none
 * @param xCache whether responses carry the {@code X-Cache} debug header
 * @param planner decides how each body moves (sendfile, splice, copy ...)
 * @param transfer carries the plans out
 * @param originIdleMillis the origin idle timeout, for spliced bodies
 * @param fills fetches under way, by primary key, that misses for the same URI join
 * @param fillFiles the cache files fills hold open for their readers, closed by {@link ProxyHandler#closeFiles}
 *     at stop if a fill could not close its own (its event loop stopped first)
 * @param stripResponseHeaders origin response fields never sent to clients (the cache tag headers,
 *     kept in the stored entry for purge by tag)
 * @param cache the RFC 9111 decisions ({@link dev.zcproxy.cache.policy.HttpCache}): a {@link Fill} asks it
 *     which variants make room for the one it stores
 * @param ram the RAM tier, or {@code null}: a {@link Fill} hands it the small bodies it received whole
 * @param keys the primary keys of requests, remembered per thread for a client that repeats its request
 */
record HandlerContext(
    Vertx vertx,
    CachePolicy policy,
    DiskStore store,
    ProxyMetrics metrics,
    AccessLog accessLog,
    Executor ioExecutor,
    String originAuthority,
    boolean xCache,
    dev.zcproxy.proxy.transfer.TransferPlanner planner,
    dev.zcproxy.proxy.transfer.BodyTransfer transfer,
    long originIdleMillis,
    ConcurrentHashMap<String, Fill> fills,
    java.util.Set<java.nio.channels.FileChannel> fillFiles,
    Flow flow,
    java.util.List<String> stripResponseHeaders,
    dev.zcproxy.cache.policy.HttpCache cache,
    RamTier ram,
    PrimaryKeys keys) {

  /** The steps of the request flow, in {@link ProxyHandler}, that a {@link Fill} sends its waiting requests back to. */
  interface Flow {
    /** Forwards the request to the origin and relays the response unstored (PASS). */
    void pass(Exchange ex, String fwd, String detail);

    /** In a waiter's context: read from the fill if its response is this request's variant, else fetch alone. */
    void joinOrFetch(Exchange ex, Fill fill);
  }
}
