package dev.zcproxy.cache.bench;

import dev.zcproxy.cache.CacheKey;
import dev.zcproxy.cache.Headers;
import dev.zcproxy.cache.RequestHead;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Key hashing on every request: {@link CacheKey#primaryOf(RequestHead)} (lower-casing scheme and
 * authority, concatenating the URI) and {@link CacheKey#hash()} (SHA-256 over primary + NUL + variant,
 * first 128 bits as hex), for a short URL and a long one with a query string, without and with a
 * {@code Vary: Accept-Encoding} variant.
 *
 * <p>Run: {@code mvn -B -q -pl cache -Pbench package -DskipTests && java -jar cache/target/benchmarks.jar
 * CacheKeyBenchmark -f 1 -wi 3 -i 5}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class CacheKeyBenchmark {

  /** {@code short}: {@code /index.html}; {@code long}: a 120-character CDN image path with a signed query. */
  @Param({"short", "long"})
  public String url;

  private RequestHead req;
  private String primary;

  @Setup
  public void setUp() {
    Headers h = Headers.of("Host", "Example.COM", "User-Agent", "Mozilla/5.0", "Accept", "*/*",
        "Accept-Encoding", "gzip, deflate, br");
    req = switch (url) {
      case "short" -> new RequestHead("GET", "http", "Example.COM", "/index.html", h);
      case "long" -> new RequestHead("GET", "https", "CDN.Example.com:8443",
          "/assets/v3/img/products/2024/11/large-photo-1234567890.jpg"
              + "?w=1200&h=800&fit=crop&auto=format&q=75&sig=abcdef0123456789abcdef0123456789", h);
      default -> throw new IllegalArgumentException("url: " + url);
    };
    primary = CacheKey.primaryOf(req);
  }

  /** The secondary key hashed with the primary one (only the hashing benchmarks take this parameter). */
  @State(Scope.Thread)
  public static class Variant {
    /** {@code none}: no Vary (variant {@code ""}); {@code ae}: the secondary key of {@code Vary: Accept-Encoding}. */
    @Param({"none", "ae"})
    public String vary;

    String key;

    @Setup
    public void setUp() {
      key = switch (vary) {
        case "none" -> "";
        case "ae" -> "accept-encoding=gzip,deflate,br"; // the form VarySelector builds
        default -> throw new IllegalArgumentException("vary: " + vary);
      };
    }
  }

  /** The primary key alone: what every lookup computes before asking the index. */
  @Benchmark
  public String primaryOf() {
    return CacheKey.primaryOf(req);
  }

  /** The variant hash alone: what naming an index entry or a file computes. */
  @Benchmark
  public String hash(Variant v) {
    return CacheKey.of(primary, v.key).hash();
  }

  /** Both, from the request head to the 32 hex digits. */
  @Benchmark
  public String primaryOfAndHash(Variant v) {
    return CacheKey.of(CacheKey.primaryOf(req), v.key).hash();
  }
}
