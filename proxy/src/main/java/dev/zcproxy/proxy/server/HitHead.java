package dev.zcproxy.proxy.server;

import dev.zcproxy.cache.CacheOutcome;
import dev.zcproxy.cache.EncodedHead;
import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.policy.CacheStatus;
import dev.zcproxy.cache.policy.ResponseFields;
import dev.zcproxy.cache.policy.Via;
import dev.zcproxy.proxy.internal.HitWriter;
import java.util.ArrayList;
import java.util.List;

/**
 * The head of a plain GET hit on a stored entry, encoded once ({@link EncodedHead}): what
 * {@code ProxyHandler.writeStored} and {@code Exchange.decorate} put in a response through the Vert.x header map
 * (stored fields less those never sent, {@code Via}, {@code Cache-Status: zcproxy; hit}, {@code X-Cache} when on,
 * {@code Content-Length}), with only {@code Age} left for each hit.
 *
 * @param source the entry it was encoded from: a head is reused only for that very instance (a 304 that
 *     merged new fields makes a new one)
 * @param profile the handler settings it was encoded with (its {@link HandlerContext}): a reload re-encodes
 */
record HitHead(EncodedHead head, EntryMeta source, Object profile) {

  /**
   * Encodes the head of a HIT on {@code entry} with a body of {@code entry.bodyLength()} bytes.
   *
   * @param stored the entry's fields as the site sends them ({@link dev.zcproxy.cache.policy.HttpCache#fields});
   *     their {@code Age} is left out (each hit writes its own)
   */
  static HitHead encode(EntryMeta entry, ResponseFields stored, HandlerContext ctx) {
    List<String> fields = new ArrayList<>(entry.headers().size() * 2 + 8);
    String[] via = {null};
    StringBuilder cacheStatus = new StringBuilder();
    stored.forEach((name, value) -> {
      if (name.equalsIgnoreCase("via")) {
        if (via[0] == null) {
          via[0] = value; // MultiMap.get in decorate: the first
        }
      } else if (name.equalsIgnoreCase("cache-status")) {
        cacheStatus.append(cacheStatus.length() == 0 ? "" : ", ").append(value);
      } else if (!name.equalsIgnoreCase("content-length") && !name.equalsIgnoreCase("transfer-encoding")
          && !(ctx.xCache() && name.equalsIgnoreCase("x-cache")) && !stripped(name, ctx.stripResponseHeaders())) {
        fields.add(name);
        fields.add(value);
      }
    });
    EncodedHead.Builder b = EncodedHead.builder(entry.status(), HitWriter.reason(entry.status()));
    for (int i = 0; i < fields.size(); i += 2) {
      b.field(fields.get(i), fields.get(i + 1));
    }
    b.field("via", Via.appendTo(via[0]));
    b.field("cache-status", CacheStatus.hit().appendTo(cacheStatus.toString()));
    if (ctx.xCache()) {
      b.field("x-cache", CacheOutcome.HIT.name());
    }
    b.field("content-length", Long.toString(entry.bodyLength()));
    return new HitHead(b.build(), entry, ctx);
  }

  private static boolean stripped(String name, List<String> strip) {
    for (String s : strip) {
      if (s.equalsIgnoreCase(name)) {
        return true;
      }
    }
    return false;
  }
}
