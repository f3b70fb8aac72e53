package dev.zcproxy.cache.bench;

import dev.zcproxy.cache.EncodedHead;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The response head of a hit: {@code perHit} writes a head encoded once ({@link EncodedHead#writeTo}, only Age
 * filled in) into a direct buffer, as the fast path does for every hit; {@code encodeEveryHit} builds the head from
 * its fields for every hit and writes it (what encoding per response costs, without Vert.x's header map). The head
 * is a typical stored 200: Date, Cache-Control, ETag, Last-Modified, Content-Type, Via, Cache-Status, X-Cache,
 * Content-Length.
 *
 * <p>Run: {@code mvn -B -q -pl cache -Pbench package -DskipTests && java -jar cache/target/benchmarks.jar
 * EncodedHeadBenchmark -f 1 -wi 3 -i 5 -prof gc}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class EncodedHeadBenchmark {
  private static final String[] FIELDS = {
      "Date", "Tue, 01 Dec 2026 20:53:35 GMT",
      "Cache-Control", "public, max-age=3600",
      "ETag", "\"file-400-1a23361ebb3\"",
      "Last-Modified", "Tue, 01 Dec 2026 20:53:05 GMT",
      "Content-Type", "application/octet-stream",
      "via", "1.1 zcproxy",
      "cache-status", "zcproxy; hit",
      "x-cache", "HIT",
      "content-length", "1024"};

  private EncodedHead head;
  private ByteBuffer out;
  private long age;

  @Setup
  public void setUp() {
    head = build();
    out = ByteBuffer.allocateDirect(4096);
  }

  private static EncodedHead build() {
    EncodedHead.Builder b = EncodedHead.builder(200, "OK");
    for (int i = 0; i < FIELDS.length; i += 2) {
      b.field(FIELDS[i], FIELDS[i + 1]);
    }
    return b.build();
  }

  @Benchmark
  public int perHit() {
    out.clear();
    head.writeTo(out, age++ & 1023);
    return out.position();
  }

  @Benchmark
  public int encodeEveryHit() {
    out.clear();
    build().writeTo(out, age++ & 1023);
    return out.position();
  }
}
