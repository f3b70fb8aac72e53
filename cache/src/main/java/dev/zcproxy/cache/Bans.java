package dev.zcproxy.cache;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Varnish-style bans: expressions over stored entries, each applying to the entries stored before it
 * was added. Pure logic: the store asks {@link #test} when it looks up the variants of a key, and
 * drops expired bans ({@link #expireBefore}) once no entry older than them is left.
 *
 * <p>Lock-free reads: the list is an immutable array replaced on change (bans are few and rare).
 * Ordered by creation time, so a lookup only looks at bans newer than the entry.
 */
public final class Bans {
  /** Longest regular expression accepted (characters). */
  public static final int MAX_EXPRESSION = 1024;
  /** Most bans kept at once; more are refused until the sweep drops old ones. */
  public static final int MAX_BANS = 10_000;

  /** What a ban matches on. */
  public enum Kind {
    /** Host and path prefix of the absolute URL (the scheme is ignored). */
    PREFIX,
    /** A regular expression found in the absolute URL ({@link java.util.regex.Matcher#find}). */
    REGEX,
    /** A stored response header field with exactly this value (any of its lines). */
    HEADER
  }

  /** One ban: what it matches, when it was added, and how many entries it removed so far. */
  public static final class Ban {
    private final long id;
    private final Kind kind;
    private final String expression;
    private final String value;
    private final long created;
    private final AtomicLong removed;
    private final Pattern pattern;

    Ban(long id, Kind kind, String expression, String value, long created, long removed) {
      this.id = id;
      this.kind = kind;
      this.expression = expression;
      this.value = value;
      this.created = created;
      this.removed = new AtomicLong(removed);
      this.pattern = kind == Kind.REGEX ? Pattern.compile(expression) : null;
    }

    public long id() {
      return id;
    }

    public Kind kind() {
      return kind;
    }

    /** The prefix (host and path), the regular expression, or the header field name. */
    public String expression() {
      return expression;
    }

    /** The header value for {@link Kind#HEADER}, else {@code ""}. */
    public String value() {
      return value;
    }

    /** Epoch millis when the ban was added: it applies to entries stored at or before this time. */
    public long created() {
      return created;
    }

    /** How many entries this ban removed so far. */
    public long removed() {
      return removed.get();
    }

    /** Counts one entry removed because of this ban. */
    public void countRemoved() {
      removed.incrementAndGet();
    }

    boolean matches(EntryMeta e) {
      return switch (kind) {
        case PREFIX -> hostAndPath(e.primaryKey()).startsWith(expression);
        case REGEX -> pattern.matcher(e.primaryKey()).find();
        case HEADER -> e.headers().getAll(expression).contains(value);
      };
    }
  }

  private volatile Ban[] bans = new Ban[0];
  private long nextId = 1;

  /** The part of an absolute URL after {@code scheme://}: host, port, path and query. */
  public static String hostAndPath(String absoluteUrl) {
    int i = absoluteUrl.indexOf("://");
    return i < 0 ? absoluteUrl : absoluteUrl.substring(i + 3);
  }

  /**
   * Adds a ban created at {@code createdMillis}. A prefix is an absolute URL or {@code host/path}
   * (its scheme is dropped, its host lower-cased as in cache keys); a regex must compile and be at
   * most {@link #MAX_EXPRESSION} characters; a header ban needs a field name.
   *
   * @throws IllegalArgumentException naming what is wrong with the expression
   */
  public synchronized Ban add(Kind kind, String expression, String value, long createdMillis) {
    requireNonNull(kind, "kind");
    requireNonNull(expression, "expression");
    if (expression.isEmpty()) {
      throw new IllegalArgumentException("empty " + kind.name().toLowerCase(Locale.ROOT) + " expression");
    }
    if (expression.length() > MAX_EXPRESSION) {
      throw new IllegalArgumentException("expression of " + expression.length() + " characters (expected: at most "
          + MAX_EXPRESSION + ")");
    }
    if (bans.length >= MAX_BANS) {
      throw new IllegalStateException("already " + MAX_BANS + " bans: wait for the sweep to drop old ones");
    }
    String expr = switch (kind) {
      case PREFIX -> normalizePrefix(expression);
      case HEADER -> expression.toLowerCase(Locale.ROOT);
      case REGEX -> expression;
    };
    Ban b;
    try {
      b = new Ban(nextId, kind, expr, kind == Kind.HEADER ? requireNonNull(value, "value") : "", createdMillis, 0);
    } catch (PatternSyntaxException e) {
      throw new IllegalArgumentException("bad regular expression: " + e.getDescription() + " near index " + e.getIndex());
    }
    nextId++;
    insert(b);
    return b;
  }

  /** A URL prefix as bans and listings compare it: host (lower-cased) and path, no scheme. */
  public static String normalizePrefix(String prefix) {
    String hp = hostAndPath(prefix);
    int slash = hp.indexOf('/');
    String host = slash < 0 ? hp : hp.substring(0, slash);
    return host.toLowerCase(Locale.ROOT) + (slash < 0 ? "" : hp.substring(slash));
  }

  private void insert(Ban b) {
    Ban[] cur = bans;
    List<Ban> next = new ArrayList<>(cur.length + 1);
    next.addAll(List.of(cur));
    int at = next.size();
    while (at > 0 && next.get(at - 1).created > b.created) {
      at--;
    }
    next.add(at, b);
    bans = next.toArray(Ban[]::new);
  }

  /** Whether there are no bans (the fast path of every lookup). */
  public boolean isEmpty() {
    return bans.length == 0;
  }

  public int size() {
    return bans.length;
  }

  /**
   * The ban that applies to {@code entry}, stored at its {@link EntryMeta#responseTime()}: one created
   * at or after that time that matches it; null when none.
   */
  public Ban test(EntryMeta entry) {
    Ban[] b = bans;
    long stored = entry.responseTime();
    for (int i = b.length - 1; i >= 0 && b[i].created >= stored; i--) {
      if (b[i].matches(entry)) {
        return b[i];
      }
    }
    return null;
  }

  /**
   * Drops the bans created before {@code oldestStoredMillis}: when no entry (indexed or being
   * written) is older than that, they cannot match anything. Returns how many were dropped.
   */
  public synchronized int expireBefore(long oldestStoredMillis) {
    Ban[] cur = bans;
    int keepFrom = 0;
    while (keepFrom < cur.length && cur[keepFrom].created < oldestStoredMillis) {
      keepFrom++;
    }
    if (keepFrom > 0) {
      bans = java.util.Arrays.copyOfRange(cur, keepFrom, cur.length);
    }
    return keepFrom;
  }

  /** The bans, oldest first. */
  public List<Ban> list() {
    return List.of(bans);
  }

  // ---- persistence: one ban per line, tab-separated, \ \t \n escaped ----

  /** The bans as text for {@link #decode} (a small file in the cache directory). */
  public String encode() {
    StringBuilder sb = new StringBuilder("zcproxy-bans 1\n");
    for (Ban b : bans) {
      sb.append(b.id).append('\t').append(b.kind.name()).append('\t').append(b.created).append('\t')
          .append(b.removed()).append('\t').append(escape(b.expression)).append('\t').append(escape(b.value)).append('\n');
    }
    return sb.toString();
  }

  /**
   * Bans read from {@link #encode}d text; lines that do not parse (or no longer compile) are skipped.
   *
   * @throws IllegalArgumentException when the text is not a ban list at all
   */
  public static Bans decode(String text) {
    Bans out = new Bans();
    String[] lines = text.split("\n");
    if (lines.length == 0 || !lines[0].equals("zcproxy-bans 1")) {
      throw new IllegalArgumentException("not a zcproxy ban list");
    }
    long maxId = 0;
    List<Ban> read = new ArrayList<>();
    for (int i = 1; i < lines.length; i++) {
      String[] f = lines[i].split("\t", -1);
      if (f.length != 6) {
        continue;
      }
      try {
        Ban b = new Ban(Long.parseLong(f[0]), Kind.valueOf(f[1]), unescape(f[4]), unescape(f[5]), Long.parseLong(f[2]),
            Long.parseLong(f[3]));
        read.add(b);
        maxId = Math.max(maxId, b.id);
      } catch (IllegalArgumentException e) { // NumberFormatException, unknown kind, bad pattern
        continue;
      }
    }
    synchronized (out) {
      for (Ban b : read) {
        out.insert(b);
      }
      out.nextId = maxId + 1;
    }
    return out;
  }

  private static String escape(String s) {
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r");
  }

  private static String unescape(String s) {
    StringBuilder sb = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\\' && i + 1 < s.length()) {
        char n = s.charAt(++i);
        sb.append(n == 't' ? '\t' : n == 'n' ? '\n' : n == 'r' ? '\r' : n);
      } else {
        sb.append(c);
      }
    }
    return sb.toString();
  }
}
