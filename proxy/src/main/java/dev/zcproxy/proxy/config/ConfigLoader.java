package dev.zcproxy.proxy.config;

import static java.util.Objects.requireNonNull;

import dev.zcproxy.cache.policy.InvalidateMethods;
import dev.zcproxy.cache.policy.SetCookie;
import dev.zcproxy.proxy.config.ProxyConfig.HostPort;
import dev.zcproxy.proxy.config.ProxyConfig.IndexHeap;
import dev.zcproxy.proxy.config.ProxyConfig.Logging;
import dev.zcproxy.proxy.config.ProxyConfig.OriginUrl;
import java.io.IOException;
import java.io.StringReader;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * Binds a YAML config file and command-line flags to a validated {@link ProxyConfig}.
 *
 * <p>Every problem is a {@link ConfigException} whose message names where the value came from
 * ({@code file:line} or the flag), the dotted YAML key path, the bad value and what was expected.
 * Unknown keys fail (with a "did you mean" when a known key is within edit distance 2), so a typo
 * fails at startup instead of being ignored. An empty file, or a missing section or key, takes the
 * values of {@link ProxyConfig#defaults()}. Size and duration syntax: see {@link Units}. The keys,
 * their binding into the records, the flags and {@code --help} come from the declarations in {@link
 * ConfigKeys} (how to add a key is described there).
 *
 * <p>{@link #fromArgs} reports {@code --help} and {@code --version} by throwing {@link
 * ConfigException.InfoRequested} (exit code 0, message to stdout), so {@code Main} needs one catch:
 * print {@code getMessage()} (stdout if the exit code is 0, else stderr) and exit with {@code
 * exitCode()}.
 */
public final class ConfigLoader {

  /** Every section and its keys, in the order of {@code conf/proxy.yaml} (declared in {@link ConfigKeys}). */
  static final Map<String, List<String>> KEYS = ConfigKeys.table();

  /** The top-level names: the sections of {@link #KEYS}, then {@code sites} and {@code default-site}. */
  static List<String> sectionNames() {
    List<String> names = new ArrayList<>(KEYS.keySet());
    names.addAll(SitesLoader.TOP_LEVEL);
    return names;
  }

  /** The environment variable that sets {@code admin.token}, winning over the file. */
  public static final String ADMIN_TOKEN_ENV = "ZCPROXY_ADMIN_TOKEN";

  /** The environment variable that sets {@code cluster.secret}, winning over the file. */
  public static final String CLUSTER_SECRET_ENV = "ZCPROXY_CLUSTER_SECRET";

  static final String HOST_PORT_EXPECTED =
      "HOST:PORT, e.g. 127.0.0.1:8080, [::1]:8080 or :8080 for all interfaces";
  static final String URL_EXPECTED =
      "http://HOST[:PORT] or https://HOST[:PORT], e.g. http://127.0.0.1:8081";

  private ConfigLoader() {}

  /** Reads, binds and validates {@code yamlFile}; messages name the file as given. */
  public static ProxyConfig load(Path yamlFile) {
    requireNonNull(yamlFile, "yamlFile");
    return bind(readFile(yamlFile), yamlFile.toString());
  }

  /** Binds and validates {@code yaml}; {@code sourceName} stands for the file in messages. */
  public static ProxyConfig parse(String yaml, String sourceName) {
    requireNonNull(yaml, "yaml");
    requireNonNull(sourceName, "sourceName");
    return bind(flatten(yaml, sourceName), sourceName);
  }

  /**
   * The configuration from the command line: {@code --config FILE} (optional) overridden by {@code
   * --listen}, {@code --origin}, {@code --cache-dir}, {@code --cache-size} and {@code --admin}.
   *
   * @throws ConfigException.InfoRequested for {@code --help} or {@code --version} (exit code 0)
   * @throws ConfigException for an unknown option, a missing or bad value, or a bad config file
   */
  public static ProxyConfig fromArgs(String[] args) {
    return fromArgs(args, System.getenv());
  }

  /**
   * As {@link #fromArgs(String[])}, with the process environment given: a non-empty {@value
   * #ADMIN_TOKEN_ENV} overrides {@code admin.token} from the file (so the secret need not be in it).
   */
  public static ProxyConfig fromArgs(String[] args, Map<String, String> env) {
    return loadArgs(args, env).config();
  }

  /**
   * A configuration bound with the key values it came from, so that a reload can tell which keys
   * changed ({@link ConfigDiff}).
   */
  public static final class Loaded {
    private final ProxyConfig config;
    final Map<String, Value> values;
    final String source;

    Loaded(ProxyConfig config, Map<String, Value> values, String source) {
      this.config = config;
      this.values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
      this.source = source;
    }

    public ProxyConfig config() {
      return config;
    }
  }

  /**
   * As {@link #fromArgs(String[], Map)}, keeping the values each key came from: what the proxy starts
   * with and what {@code SIGHUP} / {@code POST /reload} read again with the same arguments.
   */
  public static Loaded loadArgs(String[] args, Map<String, String> env) {
    requireNonNull(args, "args");
    requireNonNull(env, "env");
    for (String arg : args) {
      if (arg.equals("--help") || arg.equals("-h")) {
        throw new ConfigException.InfoRequested(usage());
      }
    }
    for (String arg : args) {
      if (arg.equals("--version")) {
        throw new ConfigException.InfoRequested(version());
      }
    }
    Path config = null;
    Map<String, Value> flags = new LinkedHashMap<>();
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      if (!arg.startsWith("-")) {
        throw new ConfigException(
            "unexpected argument \"" + arg + "\" (expected: options only; see --help)");
      }
      String name = arg;
      String value;
      int eq = arg.indexOf('=');
      if (arg.startsWith("--") && eq > 0) {
        name = arg.substring(0, eq);
        value = arg.substring(eq + 1);
      } else {
        value = i + 1 < args.length && !args[i + 1].startsWith("--") ? args[i + 1] : null;
      }
      ConfigKeys.KeyFlag flag = null;
      for (ConfigKeys.KeyFlag f : ConfigKeys.flags()) {
        if (f.flag().name().equals(name)) {
          flag = f;
        }
      }
      if (flag == null && !name.equals("--config")) {
        throw unknownOption(name);
      }
      String expected = flag == null ? "FILE" : flag.flag().expected();
      if (value == null) {
        throw new ConfigException(name + ": missing value (expected: " + expected + ")");
      }
      if (eq < 0 || !arg.startsWith("--")) {
        i++;
      }
      if (flag == null) {
        try {
          config = Path.of(value);
        } catch (InvalidPathException e) {
          throw new ConfigException(name + ": \"" + value + "\" is not a path (expected: FILE)");
        }
        continue;
      }
      for (Map.Entry<String, String> set : flag.sets(value).entrySet()) {
        flags.put(set.getKey(), Value.flag(name, set.getKey(), set.getValue()));
      }
    }
    for (Map.Entry<String, String> e : ConfigKeys.envs().entrySet()) {
      String text = env.get(e.getKey());
      if (text != null && !text.isEmpty()) {
        flags.put(e.getValue(), Value.flag(e.getKey(), e.getValue(), text));
      }
    }
    Map<String, Value> values =
        config == null ? new LinkedHashMap<>() : readFile(config);
    values.putAll(flags);
    String source = config == null ? "command line" : config.toString();
    return new Loaded(bind(values, source), values, source);
  }

  /** The {@code --help} text. */
  public static String usage() {
    return ConfigKeys.usage();
  }

  /** The {@code --version} text: the jar's implementation version, if the manifest has one. */
  public static String version() {
    String v = ConfigLoader.class.getPackage().getImplementationVersion();
    return "zcproxy " + (v == null ? "(development build)" : v) + ", Java " + Runtime.version();
  }

  /** The dotted key paths set in {@code yaml}, in file order (for tests of the reference file). */
  static List<String> keyPaths(String yaml, String sourceName) {
    return new ArrayList<>(flatten(yaml, sourceName).keySet());
  }

  private static ConfigException unknownOption(String name) {
    List<String> flags = new ArrayList<>(List.of("--config"));
    ConfigKeys.flags().forEach(f -> flags.add(f.flag().name()));
    flags.addAll(List.of("--help", "--version"));
    String near = closest(name, flags);
    return new ConfigException(
        "unknown option "
            + name
            + " ("
            + (near == null ? "" : "did you mean " + near + "? ")
            + "expected one of: "
            + String.join(", ", flags)
            + ")");
  }

  // ---- YAML to a flat map of key path -> value ------------------------------------------------

  /** One configured leaf value, from a YAML node or a flag. */
  record Value(String where, String path, Node node, String flagText) {
    static Value flag(String flag, String path, String text) {
      return new Value(flag, path, null, text);
    }

    /** The value as the operator wrote it, quoted, or the kind of node it is. */
    String describe() {
      if (node == null) {
        return quote(flagText);
      }
      if (node instanceof MappingNode) {
        return "a mapping";
      }
      if (node instanceof SequenceNode) {
        return "a list";
      }
      return quote(((ScalarNode) node).getValue());
    }

    /** The value as written, without where it was written: equal texts bind to equal values. */
    String text() {
      return node == null ? flagText : text(node);
    }

    private static String text(Node n) {
      if (n instanceof ScalarNode sc) {
        return isNull(sc) ? "~" : sc.getValue();
      }
      if (n instanceof SequenceNode seq) {
        List<String> items = new ArrayList<>();
        seq.getValue().forEach(i -> items.add(text(i)));
        return "[" + String.join(", ", items) + "]";
      }
      if (n instanceof MappingNode map) {
        List<String> items = new ArrayList<>();
        map.getValue().forEach(t -> items.add(text(t.getKeyNode()) + ": " + text(t.getValueNode())));
        return "{" + String.join(", ", items) + "}";
      }
      return String.valueOf(n);
    }
  }

  private static Map<String, Value> readFile(Path file) {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw new ConfigException(file + ": no such file (expected: a YAML config file)", e);
    } catch (MalformedInputException e) {
      throw new ConfigException(file + ": not UTF-8 text (expected: a YAML config file)", e);
    } catch (IOException e) {
      throw new ConfigException(file + ": cannot read: " + e, e);
    }
    return flatten(text, file.toString());
  }

  private static Map<String, Value> flatten(String yaml, String source) {
    LoaderOptions options = new LoaderOptions();
    options.setMaxAliasesForCollections(20);
    Node root;
    try {
      root = new Yaml(options).compose(new StringReader(yaml));
    } catch (MarkedYAMLException e) {
      Mark mark = e.getProblemMark() != null ? e.getProblemMark() : e.getContextMark();
      String problem = e.getProblem() != null ? e.getProblem() : e.getContext();
      if (e.getContext() != null && problem.startsWith("but ")) {
        problem = e.getContext() + " " + problem; // "expected a single document ... but found ..."
      }
      throw new ConfigException(
          source
              + (mark == null ? "" : ":" + (mark.getLine() + 1))
              + ": YAML syntax error"
              + (mark == null ? "" : " at column " + (mark.getColumn() + 1))
              + ": "
              + oneLine(problem)
              + (e.getContext() != null && !problem.contains(e.getContext())
                  ? " (" + oneLine(e.getContext()) + ")"
                  : ""),
          e);
    } catch (YAMLException e) {
      throw new ConfigException(source + ": YAML syntax error: " + oneLine(e.getMessage()), e);
    }
    Map<String, Value> values = new LinkedHashMap<>();
    if (root == null || isNull(root)) {
      return values;
    }
    if (!(root instanceof MappingNode top)) {
      throw new ConfigException(
          at(source, root)
              + "the top level is "
              + new Value("", "", root, null).describe()
              + " (expected: a mapping with sections "
              + String.join(", ", KEYS.keySet())
              + ")");
    }
    Map<String, Integer> seenSections = new LinkedHashMap<>();
    for (NodeTuple section : top.getValue()) {
      String name = keyName(source, "", section.getKeyNode());
      checkDuplicate(source, seenSections, name, section.getKeyNode());
      if (SitesLoader.TOP_LEVEL.contains(name)) {
        SitesLoader.flatten(source, name, section.getValueNode(), values);
        continue;
      }
      List<String> keys = KEYS.get(name);
      if (keys == null) {
        String near = closest(name, sectionNames());
        String elsewhere = near == null ? sectionOf(name) : null;
        throw new ConfigException(
            at(source, section.getKeyNode())
                + name
                + ": unknown section ("
                + (near != null ? "did you mean " + near + "? " : "")
                + (elsewhere != null ? "did you mean " + elsewhere + "." + name + "? " : "")
                + "expected one of: "
                + String.join(", ", sectionNames())
                + ")");
      }
      Node body = section.getValueNode();
      if (isNull(body)) {
        continue; // "cache:" with nothing under it: all defaults
      }
      if (!(body instanceof MappingNode mapping)) {
        throw new ConfigException(
            at(source, body)
                + name
                + ": "
                + new Value("", "", body, null).describe()
                + " is not a section (expected: a mapping with keys "
                + String.join(", ", keys)
                + ")");
      }
      Map<String, Integer> seenKeys = new LinkedHashMap<>();
      for (NodeTuple entry : mapping.getValue()) {
        String key = keyName(source, name + ".", entry.getKeyNode());
        String path = name + "." + key;
        checkDuplicate(source, seenKeys, path, entry.getKeyNode());
        if (!keys.contains(key)) {
          String near = closest(key, keys);
          String elsewhere = near == null ? sectionOf(key) : null;
          throw new ConfigException(
              at(source, entry.getKeyNode())
                  + path
                  + ": unknown key ("
                  + (near != null ? "did you mean " + name + "." + near + "? " : "")
                  + (elsewhere != null ? "did you mean " + elsewhere + "." + key + "? " : "")
                  + "expected one of: "
                  + String.join(", ", keys)
                  + ")");
        }
        values.put(path, new Value(at(source, entry.getValueNode()).replaceAll(": $", ""), path,
            entry.getValueNode(), null));
      }
    }
    return values;
  }

  private static String keyName(String source, String prefix, Node key) {
    if (key instanceof ScalarNode scalar) {
      return scalar.getValue();
    }
    throw new ConfigException(
        at(source, key)
            + prefix
            + new Value("", "", key, null).describe()
            + " is not a key (expected: a plain key name)");
  }

  private static void checkDuplicate(
      String source, Map<String, Integer> seen, String path, Node key) {
    Integer first = seen.putIfAbsent(path, key.getStartMark().getLine() + 1);
    if (first != null) {
      throw new ConfigException(
          at(source, key) + path + ": duplicate key (expected: each key once; first at line " + first
              + ")");
    }
  }

  /** The section that has {@code key}, for a key put in the wrong place, or null. */
  private static String sectionOf(String key) {
    for (Map.Entry<String, List<String>> e : KEYS.entrySet()) {
      if (e.getValue().contains(key)) {
        return e.getKey();
      }
    }
    return null;
  }

  static boolean isNull(Node node) {
    return node instanceof ScalarNode && node.getTag().equals(Tag.NULL);
  }

  static String at(String source, Node node) {
    return source + ":" + (node.getStartMark().getLine() + 1) + ": ";
  }

  private static String oneLine(String s) {
    return s == null ? "" : s.strip().replaceAll("\\s*\\n\\s*", " ");
  }

  private static String quote(String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\"";
  }

  /** The candidate within edit distance 2 of {@code word}, closest first, or null. */
  static String closest(String word, List<String> candidates) {
    String best = null;
    int bestDistance = 3;
    for (String c : candidates) {
      int d = distance(word.toLowerCase(Locale.ROOT), c);
      if (d < bestDistance) {
        best = c;
        bestDistance = d;
      }
    }
    return best;
  }

  private static int distance(String a, String b) {
    int[] prev = new int[b.length() + 1];
    int[] cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      prev[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }

  // ---- flat map to records -------------------------------------------------------------------

  static ProxyConfig bind(Map<String, Value> values, String source) {
    Binder b = new Binder(values, source);
    try {
      return ConfigKeys.bind(values, b, source);
    } catch (IllegalArgumentException e) {
      // A compact constructor rejected a value; its message starts with the key path.
      String message = String.valueOf(e.getMessage());
      int colon = message.indexOf(": ");
      Value v = colon < 0 ? null : values.get(message.substring(0, colon));
      throw new ConfigException((v == null ? source : v.where()) + ": " + message, e);
    }
  }

  /** Typed reads of the flat map, each falling back to a default and failing with the key path. */
  static final class Binder {
    private final Map<String, Value> values;
    private final TlsSections tls;

    Binder(Map<String, Value> values, String source) {
      this.values = values;
      this.tls = new TlsSections(source);
    }

    /** The binder of the nested {@code listen.tls} and {@code origin.tls} mappings. */
    TlsSections tls() {
      return tls;
    }

    /** The scalar text at {@code path}, or null if unset; fails on a mapping, list or null. */
    private String text(Value v, String expected) {
      if (v.node() == null) {
        return v.flagText();
      }
      if (!(v.node() instanceof ScalarNode)) {
        throw fail(v, v.describe() + " (expected: " + expected + ")");
      }
      if (isNull(v.node())) {
        throw fail(v, "no value (expected: " + expected + ")");
      }
      return ((ScalarNode) v.node()).getValue();
    }

    ConfigException fail(Value v, String problem) {
      return new ConfigException(v.where() + ": " + v.path() + ": " + problem);
    }

    private ConfigException bad(Value v, String reason) {
      return fail(v, v.describe() + " " + reason);
    }

    /** The YAML node at {@code path} (a nested mapping such as {@code listen.tls}), or null if unset. */
    Node node(String path) {
      Value v = values.get(path);
      return v == null ? null : v.node();
    }

    /** A {@code HOST:PORT}, or {@code null} when unset or {@code ""}. */
    HostPort optionalHostPort(String path) {
      Value v = values.get(path);
      if (v == null || text(v, HOST_PORT_EXPECTED + ", or \"\" for none").isBlank()) {
        return null;
      }
      return hostPort(path, null);
    }

    String string(String path, String dflt, String expected) {
      Value v = values.get(path);
      return v == null ? dflt : text(v, expected);
    }

    boolean bool(String path, boolean dflt) {
      Value v = values.get(path);
      if (v == null) {
        return dflt;
      }
      String t = text(v, "true or false");
      if (t.equalsIgnoreCase("true")) {
        return true;
      }
      if (t.equalsIgnoreCase("false")) {
        return false;
      }
      throw bad(v, "is not a boolean (expected: true or false)");
    }

    /** A YAML list of TCP ports ({@code [443, 8443]}); {@code []} for none. */
    List<Integer> ports(String path, List<Integer> dflt) {
      Value v = values.get(path);
      if (v == null) {
        return dflt;
      }
      String expected = "a list of ports 1..65535, e.g. [443, 8443], or [] for none";
      if (!(v.node() instanceof SequenceNode seq)) {
        throw fail(v, v.describe() + " (expected: " + expected + ")");
      }
      List<Integer> out = new ArrayList<>();
      for (Node item : seq.getValue()) {
        String t = item instanceof ScalarNode sc ? sc.getValue().strip() : "";
        try {
          int port = Integer.parseInt(t);
          if (port < 1 || port > 65535) {
            throw new NumberFormatException();
          }
          out.add(port);
        } catch (NumberFormatException e) {
          throw bad(v, "has \"" + t + "\", not a port (expected: " + expected + ")");
        }
      }
      return out;
    }

    /** A YAML list of plain strings ({@code [a, b]}); {@code []} for none. */
    List<String> strings(String path, List<String> dflt, String expected) {
      Value v = values.get(path);
      if (v == null) {
        return dflt;
      }
      if (v.node() == null && v.flagText() != null) {
        // a flag: comma-separated items
        return java.util.Arrays.stream(v.flagText().split(",")).map(String::strip).filter(x -> !x.isEmpty()).toList();
      }
      if (!(v.node() instanceof SequenceNode seq)) {
        throw fail(v, v.describe() + " (expected: " + expected + ")");
      }
      List<String> out = new ArrayList<>();
      for (Node item : seq.getValue()) {
        if (!(item instanceof ScalarNode sc) || isNull(item)) {
          throw fail(v, "has an item that is not a plain value (expected: " + expected + ")");
        }
        out.add(sc.getValue().strip());
      }
      return out;
    }

    int integer(String path, int dflt, String range) {
      Value v = values.get(path);
      if (v == null) {
        return dflt;
      }
      String t = text(v, "an integer " + range);
      try {
        return Integer.parseInt(t.strip());
      } catch (NumberFormatException e) {
        throw bad(v, "is not an integer (expected: an integer " + range + ")");
      }
    }

    double fraction(String path, double dflt) {
      Value v = values.get(path);
      if (v == null) {
        return dflt;
      }
      String t = text(v, "a number 0..1, e.g. 0.1");
      try {
        return Double.parseDouble(t.strip());
      } catch (NumberFormatException e) {
        throw bad(v, "is not a number (expected: a number 0..1, e.g. 0.1)");
      }
    }

    long size(String path, long dflt) {
      Value v = values.get(path);
      if (v == null) {
        return dflt;
      }
      String t = text(v, Units.SIZE_EXPECTED);
      try {
        return Units.parseSize(t);
      } catch (IllegalArgumentException e) {
        throw bad(v, e.getMessage());
      }
    }

    /** A share of the maximum heap ({@code 25%}) or a size ({@code 64MiB}). */
    IndexHeap indexHeap(String path, IndexHeap dflt) {
      Value v = values.get(path);
      if (v == null) {
        return dflt;
      }
      String t = text(v, IndexHeap.EXPECTED).strip();
      if (t.endsWith("%")) {
        int percent;
        try {
          percent = Integer.parseInt(t.substring(0, t.length() - 1).strip());
        } catch (NumberFormatException e) {
          throw bad(v, "is not a percentage (expected: " + IndexHeap.EXPECTED + ")");
        }
        return IndexHeap.percent(percent);
      }
      long bytes;
      try {
        bytes = Units.parseSize(t);
      } catch (IllegalArgumentException e) {
        throw bad(v, "is not a share or a size (expected: " + IndexHeap.EXPECTED + ")");
      }
      return IndexHeap.bytes(bytes);
    }

    int intSize(String path, int dflt) {
      long n = size(path, dflt);
      if (n > Integer.MAX_VALUE) {
        throw bad(values.get(path), "is too large (expected: less than 2GiB)");
      }
      return (int) n;
    }

    Duration duration(String path, Duration dflt) {
      Value v = values.get(path);
      if (v == null) {
        return dflt;
      }
      String t = text(v, Units.DURATION_EXPECTED);
      try {
        return Units.parseDuration(t);
      } catch (IllegalArgumentException e) {
        throw bad(v, e.getMessage());
      }
    }

    Path path(String path, Path dflt) {
      Value v = values.get(path);
      if (v == null) {
        return dflt;
      }
      String t = text(v, "a directory path");
      try {
        return Path.of(t);
      } catch (InvalidPathException e) {
        throw bad(v, "is not a path (expected: a directory path)");
      }
    }

    SetCookie setCookie(String path, SetCookie dflt) {
      String expected = "pass, strip or store";
      Value v = values.get(path);
      if (v == null) {
        return dflt;
      }
      String t = text(v, expected).strip().toLowerCase(Locale.ROOT);
      return switch (t) {
        case "pass" -> SetCookie.PASS;
        case "strip" -> SetCookie.STRIP;
        case "store" -> SetCookie.STORE;
        default -> throw bad(v, "is not a set-cookie mode (expected: " + expected + ")");
      };
    }

    InvalidateMethods invalidateMethods(String path, InvalidateMethods dflt) {
      String expected = "standard or any-unsafe";
      Value v = values.get(path);
      if (v == null) {
        return dflt;
      }
      String t = text(v, expected).strip().toLowerCase(Locale.ROOT);
      return switch (t) {
        case "standard" -> InvalidateMethods.STANDARD;
        case "any-unsafe" -> InvalidateMethods.ANY_UNSAFE;
        default -> throw bad(v, "is not an invalidate-methods mode (expected: " + expected + ")");
      };
    }

    String accessLogFormat(String path, String dflt) {
      String expected = "one of " + String.join(", ", Logging.ACCESS_LOG_FORMATS);
      Value v = values.get(path);
      if (v == null) {
        return dflt;
      }
      String t = text(v, expected).strip().toLowerCase(Locale.ROOT);
      if (!Logging.ACCESS_LOG_FORMATS.contains(t)) {
        throw bad(v, "is not an access log format (expected: " + expected + ")");
      }
      return t;
    }

    String level(String path, String dflt) {
      String expected = "one of " + String.join(", ", Logging.LEVELS);
      Value v = values.get(path);
      if (v == null) {
        return dflt;
      }
      String t = text(v, expected).strip().toLowerCase(Locale.ROOT);
      if (!Logging.LEVELS.contains(t)) {
        throw bad(v, "is not a log level (expected: " + expected + ")");
      }
      return t;
    }

    HostPort hostPort(String path, HostPort dflt) {
      Value v = values.get(path);
      if (v == null) {
        return dflt;
      }
      String t = text(v, HOST_PORT_EXPECTED).strip();
      String host;
      String port;
      if (t.startsWith("[")) {
        int close = t.indexOf("]:");
        if (close < 0) {
          throw bad(v, "is not HOST:PORT (expected: " + HOST_PORT_EXPECTED + ")");
        }
        host = t.substring(1, close);
        port = t.substring(close + 2);
      } else {
        int colon = t.lastIndexOf(':');
        if (colon < 0) {
          throw bad(v, "has no port (expected: " + HOST_PORT_EXPECTED + ")");
        }
        host = t.substring(0, colon);
        port = t.substring(colon + 1);
        if (host.contains(":")) {
          throw bad(v, "needs brackets around the IPv6 address (expected: [::1]:8080)");
        }
        if (host.isEmpty()) {
          host = "0.0.0.0";
        }
      }
      if (host.isBlank() || host.chars().anyMatch(Character::isWhitespace)) {
        throw bad(v, "has no valid host (expected: " + HOST_PORT_EXPECTED + ")");
      }
      if (!port.matches("\\d{1,5}") || Integer.parseInt(port) > 65535) {
        throw bad(v, "has port " + port + " out of range (expected: a port 0..65535)");
      }
      return new HostPort(host, Integer.parseInt(port));
    }

    OriginUrl originUrl(String path, OriginUrl dflt) {
      Value v = values.get(path);
      if (v == null) {
        return dflt;
      }
      String t = text(v, URL_EXPECTED).strip();
      URI uri;
      try {
        uri = new URI(t);
      } catch (URISyntaxException e) {
        throw bad(v, "is not a URL (expected: " + URL_EXPECTED + ")");
      }
      if (uri.getScheme() == null || uri.isOpaque()) {
        throw bad(v, "is not a URL with a scheme (expected: " + URL_EXPECTED + ")");
      }
      String scheme = uri.getScheme().toLowerCase(Locale.ROOT);
      if (!scheme.equals("http") && !scheme.equals("https")) {
        throw bad(v, "has scheme " + scheme + " (expected: http or https)");
      }
      if (uri.getRawUserInfo() != null) {
        throw bad(v, "has user info (expected: " + URL_EXPECTED + ", no user@)");
      }
      if (uri.getHost() == null) {
        throw bad(v, "has no valid host (expected: " + URL_EXPECTED + ")");
      }
      String rawPath = uri.getRawPath();
      if (rawPath != null && !rawPath.isEmpty() && !rawPath.equals("/")) {
        throw bad(
            v,
            "has a path "
                + rawPath
                + " (expected: no path; requests are forwarded with their own path, so give only "
                + "scheme://host[:port])");
      }
      if (uri.getRawQuery() != null || uri.getRawFragment() != null) {
        throw bad(v, "has a query or fragment (expected: " + URL_EXPECTED + ")");
      }
      int port = uri.getPort() >= 0 ? uri.getPort() : scheme.equals("https") ? 443 : 80;
      if (port < 1 || port > 65535) {
        throw bad(v, "has port " + port + " out of range (expected: a port 1..65535)");
      }
      String host = uri.getHost();
      if (host.startsWith("[") && host.endsWith("]")) {
        host = host.substring(1, host.length() - 1);
      }
      return new OriginUrl(scheme, host, port);
    }
  }
}
