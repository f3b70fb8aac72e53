package dev.zcproxy.cache.store;

import dev.zcproxy.cache.CacheKey;

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
  };

  /** The hash naming the variant {@code variant} of {@code primary} (its index key and file name). */
  String hash(String primary, String variant);

  /** The hash naming {@code primary} alone (the link of its {@code Vary} variants). */
  String primaryHash(String primary);
}
