package dev.zcproxy.cache.store;

import dev.zcproxy.cache.CacheKey;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * How the store names a key: 32 hex digits for a variant and for a primary key alone. Production uses
 * {@link CacheKey#hash()}; tests force collisions to prove that a hash is never trusted alone.
 */
interface KeyHasher {
  KeyHasher SHA256 = new KeyHasher() {
    @Override
    public String hash(String primary, String variant) {
      return CacheKey.of(primary, variant).hash();
    }

    @Override
    public String primaryHash(String primary) {
      return CacheKey.of(primary, "").primaryHash();
    }

    /** The same 128 bits as {@link CacheKey#hash()}, without the hex string and its parsing (the lookup path). */
    @Override
    public Key128 key(String primary, String variant) {
      MessageDigest md = DIGEST.get();
      md.update(primary.getBytes(StandardCharsets.UTF_8));
      md.update((byte) 0);
      if (!variant.isEmpty()) {
        md.update(variant.getBytes(StandardCharsets.UTF_8));
      }
      ByteBuffer d = ByteBuffer.wrap(md.digest()); // digest() resets it for the next use
      return new Key128(d.getLong(0), d.getLong(8));
    }
  };

  /** One SHA-256 per thread. */
  ThreadLocal<MessageDigest> DIGEST = ThreadLocal.withInitial(() -> {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  });

  /** The hash naming the variant {@code variant} of {@code primary} (its index key and file name). */
  String hash(String primary, String variant);

  /** The hash naming {@code primary} alone (the link of its {@code Vary} variants). */
  String primaryHash(String primary);

  /** {@link #hash} as a {@link Key128}. */
  default Key128 key(String primary, String variant) {
    return Key128.of(hash(primary, variant));
  }
}
