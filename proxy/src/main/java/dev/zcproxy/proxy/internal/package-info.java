/**
 * The one place where zcproxy reaches below the public Vert.x API: Vert.x internals
 * ({@code io.vertx.core.internal.*}, {@code io.vertx.core.net.impl.*}) and Netty's native epoll
 * classes ({@code io.netty.channel.epoll.*}).
 *
 * <p><b>Unstable.</b> Everything here depends on implementation details that Vert.x and Netty may change
 * in any release (the internal packages carry no compatibility promise; {@code spliceTo} is deprecated in
 * Netty 4.2). We accept that because zero-copy transfers ({@code splice(2)}, growing-file
 * {@code sendfile(2)}) are not reachable through public APIs. Keeping those imports in this package makes a
 * Vert.x/Netty upgrade a review of one package, and every class here must fall back to a plain copy when the
 * internals are not what it expects. No other package may import these internals.
 */
package dev.zcproxy.proxy.internal;
