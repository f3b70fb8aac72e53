package dev.zcproxy.proxy.config;

import dev.zcproxy.proxy.config.ProxyConfig.CertKey;
import dev.zcproxy.proxy.config.ProxyConfig.ListenTls;
import dev.zcproxy.proxy.config.ProxyConfig.OriginTls;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * Binds the nested {@code listen.tls} and {@code origin.tls} mappings (the only config keys one level
 * deeper than {@code section.key}); every error names {@code file:line}, the dotted key and what was
 * expected, like {@link ConfigLoader}.
 */
final class TlsSections {
  /** The keys of {@code listen.tls}, as declared in {@link ConfigKeys}. */
  static final List<String> LISTEN_KEYS = ConfigKeys.childNames("listen", "tls");
  /** The keys of {@code origin.tls}, as declared in {@link ConfigKeys}. */
  static final List<String> ORIGIN_KEYS = ConfigKeys.childNames("origin", "tls");

  private static final String CERTS_EXPECTED = "a list of {cert: FILE, key: FILE}, e.g. [{cert: site.pem, key: site.key}]";

  private final String source;

  TlsSections(String source) {
    this.source = source;
  }

  /** {@code listen.tls} from its YAML node ({@code null} when not set). */
  ListenTls listen(Node node) {
    ListenTls d = ListenTls.OFF;
    Map<String, Node> m = mapping(node, "listen.tls", LISTEN_KEYS);
    if (m == null) {
      return d;
    }
    List<CertKey> certs = new ArrayList<>();
    Node cn = m.get("certificates");
    if (cn != null) {
      if (!(cn instanceof SequenceNode seq)) {
        throw fail(cn, "listen.tls.certificates", "is not a list (expected: " + CERTS_EXPECTED + ")");
      }
      for (Node item : seq.getValue()) {
        Map<String, Node> ck = mapping(item, "listen.tls.certificates", List.of("cert", "key"));
        if (ck == null || ck.get("cert") == null || ck.get("key") == null) {
          throw fail(item, "listen.tls.certificates", "has an item without cert and key (expected: " + CERTS_EXPECTED + ")");
        }
        certs.add(new CertKey(path(ck.get("cert"), "listen.tls.certificates.cert"),
            path(ck.get("key"), "listen.tls.certificates.key")));
      }
    }
    return wrap(node, m, () -> new ListenTls(certs,
        strings(m.get("protocols"), "listen.tls.protocols", d.protocols()),
        strings(m.get("ciphers"), "listen.tls.ciphers", d.ciphers()),
        duration(m.get("reload-check"), "listen.tls.reload-check", d.reloadCheck()),
        duration(m.get("handshake-timeout"), "listen.tls.handshake-timeout", d.handshakeTimeout()),
        m.get("provider") == null ? d.provider()
            : text(m.get("provider"), "listen.tls.provider", String.join(" or ", ListenTls.PROVIDERS)).strip()));
  }

  /** {@code origin.tls} from its YAML node ({@code null} when not set). */
  OriginTls origin(Node node) {
    OriginTls d = OriginTls.DEFAULT;
    Map<String, Node> m = mapping(node, "origin.tls", ORIGIN_KEYS);
    if (m == null) {
      return d;
    }
    return wrap(node, m, () -> new OriginTls(
        bool(m.get("verify"), "origin.tls.verify", d.verify()),
        optionalPath(m.get("ca-file"), "origin.tls.ca-file"),
        m.get("sni") == null ? d.sni() : text(m.get("sni"), "origin.tls.sni", "a host name").strip(),
        optionalPath(m.get("cert"), "origin.tls.cert"),
        optionalPath(m.get("key"), "origin.tls.key")));
  }

  /** Runs a record constructor, turning its "key: value (expected)" into a message with the line of that key. */
  private <T> T wrap(Node section, Map<String, Node> m, java.util.function.Supplier<T> make) {
    try {
      return make.get();
    } catch (IllegalArgumentException e) {
      String msg = String.valueOf(e.getMessage());
      int colon = msg.indexOf(": ");
      String key = colon < 0 ? "" : msg.substring(0, colon);
      Node at = m.get(key.substring(key.lastIndexOf('.') + 1));
      throw new ConfigException(source + ":" + line(at == null ? section : at) + ": " + msg, e);
    }
  }

  private Map<String, Node> mapping(Node node, String path, List<String> keys) {
    if (node == null || isNull(node)) {
      return null;
    }
    if (!(node instanceof MappingNode mn)) {
      throw fail(node, path, "is not a mapping (expected: a mapping with keys " + String.join(", ", keys) + ")");
    }
    Map<String, Node> out = new LinkedHashMap<>();
    for (NodeTuple t : mn.getValue()) {
      String k = t.getKeyNode() instanceof ScalarNode s ? s.getValue() : String.valueOf(t.getKeyNode());
      if (!keys.contains(k)) {
        String near = ConfigLoader.closest(k, keys);
        throw fail(t.getKeyNode(), path + "." + k, "unknown key (" + (near == null ? "" : "did you mean " + path + "." + near + "? ")
            + "expected one of: " + String.join(", ", keys) + ")");
      }
      if (out.put(k, t.getValueNode()) != null) {
        throw fail(t.getKeyNode(), path + "." + k, "duplicate key (expected: each key once)");
      }
    }
    return out;
  }

  private String text(Node n, String path, String expected) {
    if (!(n instanceof ScalarNode s) || isNull(n)) {
      throw fail(n, path, "is not a plain value (expected: " + expected + ")");
    }
    return s.getValue();
  }

  private List<String> strings(Node n, String path, List<String> dflt) {
    if (n == null) {
      return dflt;
    }
    if (!(n instanceof SequenceNode seq)) {
      throw fail(n, path, "is not a list (expected: a list, e.g. [a, b], or [] for none)");
    }
    List<String> out = new ArrayList<>();
    for (Node item : seq.getValue()) {
      out.add(text(item, path, "a list of plain values").strip());
    }
    return out;
  }

  private Duration duration(Node n, String path, Duration dflt) {
    if (n == null) {
      return dflt;
    }
    String t = text(n, path, Units.DURATION_EXPECTED);
    try {
      return Units.parseDuration(t);
    } catch (IllegalArgumentException e) {
      throw fail(n, path, "\"" + t + "\" " + e.getMessage());
    }
  }

  private boolean bool(Node n, String path, boolean dflt) {
    if (n == null) {
      return dflt;
    }
    String t = text(n, path, "true or false");
    if (t.equalsIgnoreCase("true") || t.equalsIgnoreCase("false")) {
      return Boolean.parseBoolean(t);
    }
    throw fail(n, path, "\"" + t + "\" is not a boolean (expected: true or false)");
  }

  private Path path(Node n, String path) {
    String t = text(n, path, "a file path").strip();
    if (t.isEmpty()) {
      throw fail(n, path, "\"\" (expected: a file path)");
    }
    try {
      return Path.of(t);
    } catch (InvalidPathException e) {
      throw fail(n, path, "\"" + t + "\" is not a path (expected: a file path)");
    }
  }

  /** A file path, or {@code null} for a missing key or {@code ""}. */
  private Path optionalPath(Node n, String path) {
    if (n == null || isNull(n) || (n instanceof ScalarNode s && s.getValue().isBlank())) {
      return null;
    }
    return path(n, path);
  }

  private ConfigException fail(Node n, String path, String problem) {
    return new ConfigException(source + ":" + line(n) + ": " + path + ": " + problem);
  }

  private static int line(Node n) {
    return n.getStartMark() == null ? 0 : n.getStartMark().getLine() + 1;
  }

  private static boolean isNull(Node node) {
    return node instanceof ScalarNode && node.getTag().equals(Tag.NULL);
  }
}
