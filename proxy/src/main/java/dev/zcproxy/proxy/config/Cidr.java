package dev.zcproxy.proxy.config;

import java.net.InetAddress;
import java.net.UnknownHostException;

/** An IPv4 or IPv6 address block written {@code 10.0.0.0/8}, {@code ::1/128} or a bare address (one host). */
public final class Cidr {
  private final byte[] network;
  private final int prefix;

  private Cidr(byte[] network, int prefix) {
    this.network = network;
    this.prefix = prefix;
  }

  /**
   * Parses an address literal with an optional {@code /prefix}; never resolves a name.
   *
   * @throws IllegalArgumentException when {@code text} is not an address block
   */
  public static Cidr parse(String text) {
    String t = text.strip();
    int slash = t.indexOf('/');
    String addr = slash < 0 ? t : t.substring(0, slash);
    if (addr.startsWith("[") && addr.endsWith("]")) {
      addr = addr.substring(1, addr.length() - 1);
    }
    byte[] bytes = literal(addr);
    if (bytes == null) {
      throw new IllegalArgumentException("\"" + text + "\" is not an IP address or CIDR block");
    }
    int prefix = bytes.length * 8;
    if (slash >= 0) {
      String p = t.substring(slash + 1);
      if (!p.matches("\\d{1,3}") || Integer.parseInt(p) > bytes.length * 8) {
        throw new IllegalArgumentException("\"" + text + "\" has an invalid prefix length");
      }
      prefix = Integer.parseInt(p);
    }
    return new Cidr(bytes, prefix);
  }

  /** Whether {@code address} (an IP literal) lies in this block; IPv4-mapped IPv6 addresses match IPv4 blocks. */
  public boolean contains(String address) {
    byte[] a = address == null ? null : literal(address);
    if (a == null) {
      return false;
    }
    if (a.length == 16 && network.length == 4 && isV4Mapped(a)) {
      a = java.util.Arrays.copyOfRange(a, 12, 16);
    }
    if (a.length != network.length) {
      return false;
    }
    int full = prefix / 8;
    for (int i = 0; i < full; i++) {
      if (a[i] != network[i]) {
        return false;
      }
    }
    int bits = prefix % 8;
    if (bits == 0) {
      return true;
    }
    int mask = (0xff << (8 - bits)) & 0xff;
    return (a[full] & mask) == (network[full] & mask);
  }

  private static boolean isV4Mapped(byte[] a) {
    for (int i = 0; i < 10; i++) {
      if (a[i] != 0) {
        return false;
      }
    }
    return a[10] == (byte) 0xff && a[11] == (byte) 0xff;
  }

  /** The address bytes of an IP literal, or null; only literals reach InetAddress, so nothing is resolved. */
  private static byte[] literal(String s) {
    if (s.isEmpty() || !s.chars().allMatch(c -> Character.digit(c, 16) >= 0 || c == '.' || c == ':')) {
      return null;
    }
    if (s.indexOf(':') < 0) {
      if (!s.matches("\\d{1,3}(\\.\\d{1,3}){3}")) {
        return null;
      }
      for (String octet : s.split("\\.")) {
        if (Integer.parseInt(octet) > 255) {
          return null; // else InetAddress would take it for a host name and resolve it
        }
      }
    }
    try {
      return InetAddress.getByName(s).getAddress();
    } catch (UnknownHostException e) {
      return null;
    }
  }

  @Override
  public String toString() {
    try {
      return InetAddress.getByAddress(network).getHostAddress() + "/" + prefix;
    } catch (UnknownHostException e) {
      return "?/" + prefix;
    }
  }
}
