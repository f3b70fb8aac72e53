/**
 * The RFC 9111 caching policy of a shared cache as pure functions: {@link dev.zcproxy.cache.policy.HttpCache}
 * is the facade the proxy asks (each answer an immutable value, "now" from an injected clock),
 * {@link dev.zcproxy.cache.policy.CachePolicy} the rules behind it; the package-private classes each
 * implement one part of RFC 9111, RFC 9110, RFC 5861 and RFC 9213 and cite the sections they follow.
 */
package dev.zcproxy.cache.policy;
