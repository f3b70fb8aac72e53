package dev.zcproxy.cache.policy;

import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.Headers;
import dev.zcproxy.cache.RequestHead;
import dev.zcproxy.cache.ResponseHead;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Validation of stored responses: conditional requests to the origin, 304 handling and answering
 * clients' conditional requests from the cache.
 *
 * <p>Design notes:
 * <ul>
 *   <li>RFC 9111 §4.3.1: revalidation sends {@code If-None-Match} with the stored {@code ETag} and
 *       {@code If-Modified-Since} with the stored {@code Last-Modified}.
 *   <li>RFC 9111 §4.3.4: a 304 whose strong {@code ETag} differs from the stored one (or whose
 *       {@code Last-Modified} differs, without ETags) does not identify the stored response, which is
 *       then left unchanged. A 304 without validators is taken as answering the conditional request
 *       we sent for this entry (the stricter §4.3.4 rule needs the other variants; the proxy only
 *       revalidates one entry at a time).
 *   <li>RFC 9111 §3.2: the 304's fields replace the stored ones, except hop-by-hop fields,
 *       {@code Content-Length}, and, because the stored bytes keep their coding and framing,
 *       {@code Content-Encoding} and {@code Content-Range} (the "exceptional basis" of §3.2).
 *       {@code Age} and {@code Date} always describe the latest response: a stored {@code Age} is
 *       dropped and a missing {@code Date} is set to the response time, so freshness restarts
 *       from the 304. A cookie a 304 sets is not stored either, unless {@link SetCookie#STORE}: it was
 *       minted for one client (see {@link SetCookie}).
 *   <li>RFC 9111 §4.3.5: a 200 to a HEAD (sent to revalidate a stored GET) updates it the same way
 *       when its validators and {@code Content-Length} match the stored ones.
 *   <li>RFC 9110 §13.1.2, §13.2.2: {@code If-None-Match} (weak comparison, {@code *}) takes
 *       precedence over {@code If-Modified-Since}, which compares with {@code Last-Modified}, else
 *       {@code Date} (RFC 9111 §4.3.2).
 *   <li>RFC 9110 §8.8.3.2: strong comparison needs both tags strong and equal; weak comparison
 *       ignores {@code W/}.
 * </ul>
 */
public final class Validation {
  /**
   * Fields a 304 never changes in the stored response (RFC 9111 §3.2): {@code Content-Length}, and
   * fields whose change would make the stored metadata inconsistent with the stored body, which §3.2
   * lets a cache omit "to assure integrity of the stored response": the coding, the range and the
   * body digests.
   */
  private static final Set<String> NOT_UPDATED = Set.of("content-length", "content-encoding", "content-range",
      "content-md5", "digest", "content-digest", "repr-digest");

  private Validation() {}

  static Headers validators(EntryMeta stored) {
    Headers.Builder b = Headers.builder();
    String etag = stored.headers().get("ETag");
    if (etag != null && !etag.isBlank()) {
      b.add("If-None-Match", etag.trim());
    }
    String lm = stored.headers().get("Last-Modified");
    if (lm != null && HttpDates.parse(lm) != HttpDates.INVALID) {
      b.add("If-Modified-Since", lm.trim());
    }
    return b.build();
  }

  static boolean validates(EntryMeta stored, ResponseHead notModified) {
    String newTag = notModified.headers().get("ETag");
    String oldTag = stored.headers().get("ETag");
    if (newTag != null) {
      if (oldTag == null) {
        return false;
      }
      return isWeak(newTag) ? weakEquals(newTag, oldTag) : strongEquals(newTag, oldTag);
    }
    String newLm = notModified.headers().get("Last-Modified");
    if (newLm != null) {
      long n = HttpDates.parse(newLm);
      long o = HttpDates.parse(stored.headers().get("Last-Modified"));
      return n != HttpDates.INVALID && n == o;
    }
    return true;
  }

  static EntryMeta merge304(EntryMeta stored, ResponseHead notModified, long requestTime, long responseTime,
      PolicyConfig config) {
    if (!validates(stored, notModified)) {
      return stored;
    }
    return merge(stored, notModified, requestTime, responseTime, config);
  }

  /**
   * RFC 9111 §4.3.5: a 200 to HEAD updates the stored GET response like a 304 (§3.2) when every
   * validator it carries ({@code ETag}, compared strongly as a value, and {@code Last-Modified}) and its
   * {@code Content-Length}, if any, match the stored response; otherwise it says nothing usable.
   */
  static java.util.Optional<EntryMeta> mergeHead(EntryMeta stored, ResponseHead head, long requestTime,
      long responseTime, PolicyConfig config) {
    if (head.status() != 200 || stored.status() != 200) {
      return java.util.Optional.empty();
    }
    Headers h = head.headers();
    String tag = h.get("ETag");
    String storedTag = stored.headers().get("ETag");
    if (tag != null && (storedTag == null || !tag.trim().equals(storedTag.trim()))) {
      return java.util.Optional.empty();
    }
    String lm = h.get("Last-Modified");
    if (lm != null) {
      long n = HttpDates.parse(lm);
      if (n == HttpDates.INVALID || n != HttpDates.parse(stored.headers().get("Last-Modified"))) {
        return java.util.Optional.empty();
      }
    }
    if (h.contains("Content-Length") && StorageRules.contentLength(h) != stored.bodyLength()) {
      return java.util.Optional.empty();
    }
    return java.util.Optional.of(merge(stored, head, requestTime, responseTime, config));
  }

  /** The stored fields replaced by those of {@code update} (§3.2), with freshness restarting from it. */
  private static EntryMeta merge(EntryMeta stored, ResponseHead update, long requestTime, long responseTime,
      PolicyConfig config) {
    Headers fresh = HopByHop.strip(update.headers());
    Headers.Builder b = HopByHop.strip(stored.headers()).toBuilder();
    b.remove("Age");
    for (String name : fresh.names()) {
      if (NOT_UPDATED.contains(name) || (config.setCookie() != SetCookie.STORE && SetCookie.isCookieField(name))) {
        continue;
      }
      List<String> values = fresh.getAll(name);
      String canonical = fresh.name(indexOf(fresh, name));
      if (values.size() == 1) {
        b.set(canonical, values.get(0));
      } else {
        b.remove(name);
        for (String v : values) {
          b.add(canonical, v);
        }
      }
    }
    if (!fresh.contains("Date")) {
      b.set("Date", HttpDates.format(responseTime));
    }
    Headers merged = b.build();
    ResponseControl rc = ResponseControl.of(merged, config);
    for (String f : qualifiedFields(rc)) {
      merged = merged.without(f);
    }
    return stored.withHeaders(merged, requestTime, responseTime);
  }

  /** Field names listed by qualified {@code private} and {@code no-cache} (RFC 9111 §5.2.2.4, §5.2.2.7). */
  static List<String> qualifiedFields(ResponseControl rc) {
    List<String> out = new ArrayList<>(rc.cc.fieldNames("private"));
    out.addAll(rc.cc.fieldNames("no-cache"));
    return out;
  }

  private static int indexOf(Headers h, String name) {
    for (int i = 0; i < h.size(); i++) {
      if (h.name(i).equalsIgnoreCase(name)) {
        return i;
      }
    }
    return -1;
  }

  static boolean notModified(RequestHead req, EntryMeta entry) {
    if (!(req.method().equals("GET") || req.method().equals("HEAD")) || entry.status() != 200) {
      return false;
    }
    Headers rh = req.headers();
    if (rh.contains("If-None-Match")) {
      return ifNoneMatch(rh.members("If-None-Match"), entry.headers().get("ETag"));
    }
    String ims = rh.get("If-Modified-Since");
    if (ims == null) {
      return false;
    }
    long since = HttpDates.parse(ims);
    if (since == HttpDates.INVALID) {
      return false;
    }
    long lm = HttpDates.parse(entry.headers().get("Last-Modified"));
    if (lm == HttpDates.INVALID) {
      lm = HttpDates.parse(entry.headers().get("Date"));
    }
    return lm != HttpDates.INVALID && lm <= since;
  }

  /** Whether {@code If-None-Match} members match {@code etag} (may be null): {@code *} or weak comparison. */
  public static boolean ifNoneMatch(List<String> members, String etag) {
    for (String tag : members) {
      if (tag.equals("*") || (etag != null && weakEquals(tag, etag))) {
        return true;
      }
    }
    return false;
  }

  static boolean isWeak(String tag) {
    return tag.trim().startsWith("W/");
  }

  /** The opaque-tag with quotes, without {@code W/}. */
  static String opaque(String tag) {
    String t = tag.trim();
    return t.startsWith("W/") ? t.substring(2) : t;
  }

  static boolean weakEquals(String a, String b) {
    return opaque(a).equals(opaque(b));
  }

  static boolean strongEquals(String a, String b) {
    return !isWeak(a) && !isWeak(b) && a.trim().equals(b.trim());
  }
}
