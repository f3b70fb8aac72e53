/**
 * The demo origin: a small Vert.x HTTP server with deterministic bodies, chosen {@code Cache-Control}
 * and per-path request counters, used by the README's quick start and by the wrk kit in
 * {@code loadtest/}. It is a test fixture that ships in {@code zcproxy.jar}, not part of the proxy.
 */
package dev.zcproxy.proxy.demo;
