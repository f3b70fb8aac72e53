package dev.zcproxy.proxy.server;

import dev.zcproxy.cache.CacheKey;
import dev.zcproxy.cache.RequestHead;

/**
 * {@link CacheKey#primaryOf(RequestHead)} plus a site's key suffix, as {@link Exchange} keys a request: the same
 * String as the thread's last one while a client repeats its request (no concatenation, and its hash, which the
 * index, the hit-for-pass marks and the URL table use, already computed). One memo per thread (a ThreadLocal of
 * this instance), each touched by its own thread only.
 */
final class PrimaryKeys {
  private final ThreadLocal<Memo> last = ThreadLocal.withInitial(Memo::new);

  /** The primary key of {@code head} followed by {@code suffix}. */
  String of(RequestHead head, String suffix) {
    Memo m = last.get();
    String scheme = head.scheme();
    String authority = head.authority();
    String target = head.pathAndQuery();
    if (target.equals(m.target) && authority.equals(m.authority) && scheme.equals(m.scheme) && suffix.equals(m.suffix)) {
      return m.key;
    }
    String key = suffix.isEmpty() ? CacheKey.primaryOf(head) : CacheKey.primaryOf(head) + suffix;
    m.scheme = scheme;
    m.authority = authority;
    m.target = target;
    m.suffix = suffix;
    m.key = key;
    return key;
  }

  /** The last key made on a thread and what it was made of. */
  private static final class Memo {
    String scheme;
    String authority;
    String target;
    String suffix;
    String key;
  }
}
