package dev.zcproxy.cache;

import static java.util.Objects.requireNonNull;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;

/**
 * The key of one stored variant: the primary key (the absolute target URI) plus the secondary key
 * from {@code Vary}, hashed to a 128-bit digest that names both the index entry and the file.
 *
 * @param primary the primary key, {@code scheme://authority/path?query} with scheme and host lower-cased
 * @param variant the secondary key ({@code ""} when the response has no {@code Vary})
 */
public record CacheKey(String primary, String variant) {
  public CacheKey {
    requireNonNull(primary, "primary");
    requireNonNull(variant, "variant");
  }

  public static CacheKey of(String primary, String variant) {
    return new CacheKey(primary, variant);
  }

  /** The primary key of a request: its absolute URI with scheme and authority lower-cased. */
  public static String primaryOf(RequestHead req) {
    return primaryOf(req.scheme(), req.authority(), req.pathAndQuery());
  }

  public static String primaryOf(String scheme, String authority, String pathAndQuery) {
    return scheme.toLowerCase(Locale.ROOT) + "://" + authority.toLowerCase(Locale.ROOT) + pathAndQuery;
  }

  /** 32 hex digits naming this variant: the first 128 bits of SHA-256 over primary, NUL, variant. */
  public String hash() {
    return hex128(primary + '\0' + variant);
  }

  /** 32 hex digits naming the primary key alone (all variants of a URI share it). */
  public String primaryHash() {
    return hex128(primary);
  }

  private static final ThreadLocal<MessageDigest> SHA256 = ThreadLocal.withInitial(() -> {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  });
  private static final HexFormat HEX = HexFormat.of();

  static String hex128(String s) {
    MessageDigest md = SHA256.get(); // digest() resets it for the next use
    byte[] d = md.digest(s.getBytes(StandardCharsets.UTF_8));
    return HEX.formatHex(d, 0, 16);
  }

  // written out (same values as the record's generated ones): those are bootstrapped through ObjectMethods at their
  // first call, about a dozen method-handle classes spun in the interpreter on the event loop serving a start's first hit

  @Override
  public boolean equals(Object o) {
    return this == o || o instanceof CacheKey k && primary.equals(k.primary) && variant.equals(k.variant);
  }

  @Override
  public int hashCode() {
    return primary.hashCode() * 31 + variant.hashCode();
  }
}
