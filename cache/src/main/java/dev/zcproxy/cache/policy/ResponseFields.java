package dev.zcproxy.cache.policy;

import static java.util.Objects.requireNonNull;

import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.Headers;
import java.util.function.BiConsumer;

/**
 * The header fields sent with a stored entry: its stored fields, less the cookies the site's rules keep
 * from other clients, with a current {@code Age} (RFC 9111 §4, §5.1) in place of a stored one.
 *
 * <p>A value: nothing is copied until {@link #forEach} hands the fields out one by one (the hit path
 * writes them straight into the response).
 *
 * @param entry the entry served
 * @param cookies whether stored {@code Set-Cookie} fields are sent ({@link SetCookie#STORE}); otherwise
 *     they are not, even for an entry stored before the mode changed
 * @param ageSeconds the {@code Age} value
 */
public record ResponseFields(EntryMeta entry, boolean cookies, long ageSeconds) {
  public ResponseFields {
    requireNonNull(entry, "entry");
  }

  /** Hands the fields to {@code out} in the stored order; {@code Age} where the stored one was, else last. */
  public void forEach(BiConsumer<String, String> out) {
    Headers h = entry.headers();
    String age = null;
    for (int i = 0; i < h.size(); i++) {
      String name = h.name(i);
      if (!cookies && SetCookie.isCookieField(name)) {
        continue;
      }
      if (name.equalsIgnoreCase("Age")) {
        if (age == null) {
          age = Long.toString(ageSeconds);
          out.accept("Age", age);
        }
        continue;
      }
      out.accept(name, h.value(i));
    }
    if (age == null) {
      out.accept("Age", Long.toString(ageSeconds));
    }
  }

  /** The fields as a copy (tests, diagnostics: the hit path uses {@link #forEach}). */
  public Headers toHeaders() {
    Headers.Builder b = Headers.builder();
    forEach(b::add);
    return b.build();
  }
}
