package dev.zcproxy.proxy.cluster;

import static java.util.Objects.requireNonNull;

import dev.zcproxy.cache.Bans;
import io.vertx.core.json.JsonObject;
import java.util.Locale;

/**
 * One invalidation an admin request made on some node, as it travels to the others: a purge or soft
 * purge of a primary key or of a tag, or a ban.
 *
 * @param kind what to do
 * @param subject the primary key, the tag, or the ban expression
 * @param value a header ban's value, else {@code ""}
 * @param banKind the ban kind for {@link Kind#BAN}, else {@code null}
 * @param atMillis when it was made: a soft purge marks entries stale from then, a ban applies to
 *     entries stored before then
 */
public record Invalidation(Kind kind, String subject, String value, Bans.Kind banKind, long atMillis) {

  /** The kinds of invalidation. */
  public enum Kind { PURGE, SOFT_PURGE, TAG_PURGE, SOFT_TAG_PURGE, BAN }

  public Invalidation {
    requireNonNull(kind, "kind");
    requireNonNull(subject, "subject");
    requireNonNull(value, "value");
    if (kind == Kind.BAN) {
      requireNonNull(banKind, "banKind");
    }
  }

  public static Invalidation purge(String primaryKey, boolean soft, long atMillis) {
    return new Invalidation(soft ? Kind.SOFT_PURGE : Kind.PURGE, primaryKey, "", null, atMillis);
  }

  public static Invalidation tag(String tag, boolean soft, long atMillis) {
    return new Invalidation(soft ? Kind.SOFT_TAG_PURGE : Kind.TAG_PURGE, tag, "", null, atMillis);
  }

  public static Invalidation ban(Bans.Ban b) {
    return new Invalidation(Kind.BAN, b.expression(), b.value(), b.kind(), b.created());
  }

  /** The ban's identity across nodes (the same ban re-applied is recognised by it). */
  public String banIdentity() {
    return banKind + "\u0000" + subject + "\u0000" + value + "\u0000" + atMillis;
  }

  JsonObject toJson() {
    JsonObject j = new JsonObject().put("kind", kind.name()).put("subject", subject).put("at", atMillis);
    if (kind == Kind.BAN) {
      j.put("ban", banKind.name()).put("value", value);
    }
    return j;
  }

  static Invalidation fromJson(JsonObject j) {
    Kind kind = Kind.valueOf(j.getString("kind"));
    String ban = j.getString("ban");
    return new Invalidation(kind, j.getString("subject"), j.getString("value", ""),
        ban == null ? null : Bans.Kind.valueOf(ban.toUpperCase(Locale.ROOT)), j.getLong("at"));
  }
}
