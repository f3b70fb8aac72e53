package dev.zcproxy.proxy;

import dev.zcproxy.proxy.config.ConfigException;
import dev.zcproxy.proxy.config.ConfigLoader;
import dev.zcproxy.proxy.config.ProxyConfig;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code zcproxyctl}: the admin API from the command line (purge, ban, bans, entries, stats, health,
 * reload), so operators do not hand-write curl. Prints the server's JSON answer; exits 0 on success,
 * 1 when the server refused or could not be reached (with its message), 2 on a usage error.
 */
public final class Ctl {
  static final String USAGE = """
      Usage: zcproxyctl [--admin HOST:PORT | -c CONFIG] [--token-file FILE] COMMAND [ARGS]

      Commands:
        purge URL [--soft]                   drop every variant of URL (--soft: mark them stale)
        purge --tag TAG [--soft]             the same for every entry tagged TAG (Surrogate-Key / Cache-Tag)
        ban --prefix URL                     ban every entry whose host + path starts with URL
        ban --regex RE                       ban every entry whose host + path matches RE
        ban --header NAME --value V          ban every entry stored with the response header NAME: V
        bans                                 list the bans
        entries PREFIX                       list the entries under a URL prefix (at most 1000)
        entry URL                            show one URL's stored variants and heads
        stats                                the counters as JSON
        health                               {"status":"ok"}, or draining / stopping (exit 1)
        reload                               re-read the config file (POST /reload)
        drain [--cancel]                     fail /health for load balancers while still serving

      The admin listener: --admin HOST:PORT, else admin.address of the config file given with -c,
      else 127.0.0.1:8079. The token for purge, ban, reload and drain: the environment variable
      ZCPROXY_ADMIN_TOKEN, else the first line of --token-file FILE, else admin.token of the config file.
      """;

  private final PrintStream out;
  private final PrintStream err;
  private final Map<String, String> env;
  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).build();

  /** @param env the environment ({@code ZCPROXY_ADMIN_TOKEN}) */
  public Ctl(PrintStream out, PrintStream err, Map<String, String> env) {
    this.out = out;
    this.err = err;
    this.env = env;
  }

  public static void main(String[] args) {
    System.exit(new Ctl(System.out, System.err, System.getenv()).run(args));
  }

  /** A usage error: exit code 2 with the message and a pointer to {@code --help}. */
  private static final class Usage extends Exception {
    Usage(String message) {
      super(message);
    }
  }

  /** Runs one command; returns the exit code. */
  public int run(String[] argv) {
    try {
      return execute(new ArrayList<>(List.of(argv)));
    } catch (Usage e) {
      err.println("zcproxyctl: " + e.getMessage() + " (see zcproxyctl --help)");
      return 2;
    } catch (ConfigException e) {
      err.println("zcproxyctl: " + e.getMessage());
      return 2;
    } catch (IOException e) {
      err.println("zcproxyctl: cannot reach the admin listener: " + e);
      return 1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 1;
    }
  }

  private int execute(List<String> args) throws Usage, IOException, InterruptedException {
    if (args.isEmpty() || args.contains("--help") || args.contains("-h")) {
      out.print(USAGE);
      return args.isEmpty() ? 2 : 0;
    }
    String admin = option(args, "--admin");
    String configFile = option(args, "-c", "--config");
    String tokenFile = option(args, "--token-file");
    ProxyConfig config = configFile == null ? null : ConfigLoader.load(Path.of(configFile));
    if (admin == null) {
      admin = config == null ? "127.0.0.1:8079" : connectable(config.admin().address().host()) + ":" + config.admin().address().port();
    }
    String token = env.getOrDefault(ConfigLoader.ADMIN_TOKEN_ENV, "");
    if (token.isEmpty() && tokenFile != null) {
      List<String> lines = Files.readAllLines(Path.of(tokenFile), StandardCharsets.UTF_8);
      token = lines.isEmpty() ? "" : lines.get(0).trim();
    }
    if (token.isEmpty() && config != null) {
      token = config.admin().token();
    }
    String base = "http://" + admin;
    String command = args.remove(0);
    switch (command) {
      case "purge" -> {
        boolean soft = flag(args, "--soft");
        String tag = option(args, "--tag");
        String target = tag != null ? "tag=" + enc(tag) : "url=" + enc(one(args, "purge needs a URL or --tag TAG"));
        done(args);
        return call("POST", base + "/purge?" + target + (soft ? "&soft=true" : ""), token);
      }
      case "ban" -> {
        String prefix = option(args, "--prefix");
        String regex = option(args, "--regex");
        String header = option(args, "--header");
        String value = option(args, "--value");
        done(args);
        int given = (prefix != null ? 1 : 0) + (regex != null ? 1 : 0) + (header != null ? 1 : 0);
        if (given != 1 || (header != null) != (value != null)) {
          throw new Usage("ban needs exactly one of --prefix URL, --regex RE, --header NAME --value V");
        }
        String q = prefix != null ? "prefix=" + enc(prefix) : regex != null ? "regex=" + enc(regex)
            : "header=" + enc(header) + "&value=" + enc(value);
        return call("POST", base + "/ban?" + q, token);
      }
      case "bans", "stats", "health" -> {
        done(args);
        return call("GET", base + "/" + command, null);
      }
      case "entries" -> {
        String prefix = one(args, "entries needs a URL PREFIX, e.g. http://example.com/img/");
        done(args);
        return call("GET", base + "/entries?prefix=" + enc(prefix), null);
      }
      case "entry" -> {
        String url = one(args, "entry needs a URL");
        done(args);
        return call("GET", base + "/entries?url=" + enc(url), null);
      }
      case "reload" -> {
        done(args);
        return call("POST", base + "/reload", token);
      }
      case "drain" -> {
        boolean cancel = flag(args, "--cancel");
        done(args);
        return call("POST", base + "/drain" + (cancel ? "?cancel=true" : ""), token);
      }
      default -> throw new Usage("unknown command: " + command);
    }
  }

  /** Sends the request, prints the answer (JSON pretty-printed); non-2xx: the server's error on stderr, exit 1. */
  private int call(String method, String url, String token) throws IOException, InterruptedException {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(60))
        .method(method, HttpRequest.BodyPublishers.noBody());
    if (token != null && !token.isEmpty()) {
      b.header("Authorization", "Bearer " + token);
    }
    HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    String body = r.body().strip();
    if (r.statusCode() / 100 != 2) {
      String message = body;
      try {
        message = new JsonObject(body).getString("error", body);
      } catch (DecodeException | ClassCastException notJson) {
        // the body as it is
      }
      if (r.statusCode() == 401 && (token == null || token.isEmpty())) {
        message += " (set ZCPROXY_ADMIN_TOKEN or --token-file)";
      }
      err.println("zcproxyctl: " + method + " " + URI.create(url).getPath() + ": " + r.statusCode() + " " + message);
      return 1;
    }
    out.println(pretty(body));
    return 0;
  }

  private static String pretty(String body) {
    try {
      if (body.startsWith("{")) {
        return new JsonObject(body).encodePrettily();
      }
      if (body.startsWith("[")) {
        return new JsonArray(body).encodePrettily();
      }
    } catch (DecodeException notJson) {
      // as it is
    }
    return body;
  }

  /** A wildcard listen address is reached on loopback. */
  private static String connectable(String host) {
    if (host.equals("0.0.0.0") || host.isEmpty()) {
      return "127.0.0.1";
    }
    if (host.equals("::") || host.equals("[::]")) {
      return "[::1]";
    }
    return host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
  }

  private static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  /** Removes {@code --name VALUE} (any of the names) from args and returns VALUE, or null when absent. */
  private static String option(List<String> args, String... names) throws Usage {
    for (String name : names) {
      int i = args.indexOf(name);
      if (i >= 0) {
        if (i + 1 >= args.size()) {
          throw new Usage(name + " needs a value");
        }
        args.remove(i);
        return args.remove(i);
      }
      for (int j = 0; j < args.size(); j++) {
        if (args.get(j).startsWith(name + "=") && name.startsWith("--")) {
          return args.remove(j).substring(name.length() + 1);
        }
      }
    }
    return null;
  }

  private static boolean flag(List<String> args, String name) {
    return args.remove(name);
  }

  private static String one(List<String> args, String missing) throws Usage {
    if (args.isEmpty() || args.get(0).startsWith("--")) {
      throw new Usage(missing);
    }
    return args.remove(0);
  }

  private static void done(List<String> args) throws Usage {
    if (!args.isEmpty()) {
      throw new Usage("unexpected: " + String.join(" ", args));
    }
  }
}
