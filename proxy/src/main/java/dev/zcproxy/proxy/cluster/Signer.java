package dev.zcproxy.proxy.cluster;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * What the cluster secret protects: the Hazelcast cluster name (a hash of name and secret, so a node
 * without the secret is refused at join) and the HMAC on every event bus message and stored ban (so a
 * message from anyone who reached the event bus port without the secret is dropped).
 */
final class Signer {
  private static final HexFormat HEX = HexFormat.of();
  private final byte[] key;

  Signer(String secret) {
    this.key = secret.getBytes(StandardCharsets.UTF_8);
  }

  /** The Hazelcast cluster name: {@code name-} and 24 hex digits of SHA-256 over name and secret. */
  static String clusterName(String name, String secret) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      byte[] d = md.digest(("zcproxy-cluster\u0000" + name + "\u0000" + secret).getBytes(StandardCharsets.UTF_8));
      return name + "-" + HEX.formatHex(d, 0, 12);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  String sign(String text) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      return HEX.formatHex(mac.doFinal(text.getBytes(StandardCharsets.UTF_8)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  boolean verify(String text, String signature) {
    return signature != null && MessageDigest.isEqual(sign(text).getBytes(StandardCharsets.US_ASCII),
        signature.getBytes(StandardCharsets.US_ASCII));
  }
}
