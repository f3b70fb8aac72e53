package dev.zcproxy.proxy.transfer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.proxy.transfer.TransferFacts.Leg;
import io.vertx.core.Future;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.NetSocket;
import java.nio.channels.FileChannel;
import java.util.function.LongConsumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The planner's table of rules: facts in, mode and reason out, no sockets. */
class TransferPlannerTest {
  private static final long MIN = 192 * 1024;

  private static TransferPlanner planner(boolean sendfile, boolean splice) {
    return new TransferPlanner(sendfile, splice, MIN, NO_PLATFORM);
  }

  @ParameterizedTest(name = "{0} tls={1} h2={2} bodyless={3} length={4} ram={5} platform=''{6}'' sendfile={7} splice={8}"
      + " -> {9} ({10})")
  @CsvSource(delimiter = '|', nullValues = "-", textBlock = """
      # leg       | tls   | h2    | bodyless | length  | ram   | platform says       | sendfile | splice | mode      | reason
      HIT         | false | false | false    | 5000    | false | -                   | true     | true   | SENDFILE  | plain HTTP/1.x
      HIT         | false | false | false    | 5000    | true  | -                   | true     | true   | RAM       | body in the RAM tier
      HIT         | true  | false | false    | 5000    | true  | -                   | true     | true   | RAM       | body in the RAM tier
      HIT         | true  | false | false    | 5000    | false | -                   | true     | true   | COPY_TLS  | TLS client: encrypted in user space
      HIT         | true  | true  | false    | 5000    | false | -                   | true     | true   | COPY_H2   | HTTP/2 client: the body goes out in frames
      HIT         | false | true  | false    | 5000    | false | -                   | true     | true   | COPY_H2   | HTTP/2 client: the body goes out in frames
      HIT         | false | false | false    | 5000    | false | -                   | false    | true   | COPY      | transfer.sendfile is off
      HIT         | false | false | false    | 5000    | false | no file regions     | true     | true   | COPY      | no file regions
      FILL_READER | false | false | false    | 5000    | false | -                   | true     | true   | SENDFILE  | plain HTTP/1.x
      FILL_READER | false | false | false    | -1      | false | -                   | true     | true   | COPY      | unknown length
      FILL_READER | true  | false | false    | 5000    | false | -                   | true     | true   | COPY_TLS  | TLS client: encrypted in user space
      FILL_READER | false | false | false    | 5000    | false | -                   | false    | true   | COPY      | transfer.sendfile is off
      RELAY       | false | false | false    | 1048576 | false | -                   | true     | true   | SPLICE    | known length, plain HTTP/1.x on epoll
      RELAY       | false | false | false    | 196608  | false | -                   | true     | true   | SPLICE    | known length, plain HTTP/1.x on epoll
      RELAY       | false | false | false    | 196607  | false | -                   | true     | true   | COPY      | below transfer.splice-min-size
      RELAY       | false | false | false    | -1      | false | -                   | true     | true   | COPY      | unknown length
      RELAY       | false | false | true     | 1048576 | false | -                   | true     | true   | COPY      | no body
      RELAY       | false | false | false    | 1048576 | false | -                   | true     | false  | COPY      | transfer.splice is off
      RELAY       | false | false | false    | 1048576 | false | different event loops | true   | true   | COPY      | different event loops
      RELAY       | true  | false | false    | 1048576 | false | -                   | true     | true   | COPY_TLS  | TLS client: encrypted in user space
      RELAY       | false | true  | false    | 1048576 | false | -                   | true     | true   | COPY_H2   | HTTP/2 client: the body goes out in frames
      FILL        | false | false | false    | 1048576 | false | -                   | false    | true   | SPLICE    | known length, plain HTTP/1.x on epoll
      FILL        | true  | true  | false    | 1048576 | false | -                   | true     | true   | SPLICE    | known length, plain HTTP/1.x on epoll
      FILL        | false | false | false    | 1048576 | false | tls                 | true     | true   | COPY      | tls
      FILL        | false | false | false    | 1048576 | false | not native epoll    | true     | true   | COPY      | not native epoll
      FILL        | false | false | false    | 1000    | false | -                   | true     | true   | COPY      | below transfer.splice-min-size
      FILL        | false | false | false    | 1048576 | false | -                   | true     | false  | COPY      | transfer.splice is off
      TUNNEL      | false | false | false    | -1      | false | -                   | true     | true   | SPLICE    | plain sockets on one epoll event loop
      TUNNEL      | false | false | false    | -1      | false | -                   | false    | true   | SPLICE    | plain sockets on one epoll event loop
      TUNNEL      | false | false | false    | -1      | false | -                   | true     | false  | COPY      | transfer.splice is off
      TUNNEL      | false | false | false    | -1      | false | sockets are on different event loops | true | true | COPY | sockets are on different event loops
      TUNNEL      | false | false | false    | -1      | false | client side uses TLS | true    | true   | COPY      | client side uses TLS
      """)
  void theFirstRuleThatAppliesDecides(Leg leg, boolean tls, boolean h2, boolean bodyless, long length, boolean ram,
      String platform, boolean sendfile, boolean splice, TransferMode mode, String reason) {
    TransferPlan plan = planner(sendfile, splice).plan(new TransferFacts(leg, tls, h2, bodyless, length, ram, platform));

    assertThat(plan.mode()).isEqualTo(mode);
    assertThat(plan.reason()).isEqualTo(reason);
    assertThat(plan.zeroCopy()).isEqualTo(mode == TransferMode.SENDFILE || mode == TransferMode.SPLICE);
  }

  /** A tunnel's plan comes from the config and what the platform says of its two sockets, asked only when splice is on. */
  @Test
  void aTunnelIsPlannedFromTheConfigAndThePlatformsWordOnItsSockets() {
    java.util.List<String> asked = new java.util.ArrayList<>();
    TransferPlatform says = new Probe() {
      @Override
      public String whyNotSpliceTunnel(NetSocket client, NetSocket origin) {
        asked.add("tunnel");
        return "origin side is traffic shaped";
      }
    };
    TransferPlatform fine = new Probe() {
      @Override
      public String whyNotSpliceTunnel(NetSocket client, NetSocket origin) {
        return null;
      }
    };
    assertThat(new TransferPlanner(true, true, MIN, says).forTunnel(null, null))
        .isEqualTo(new TransferPlan(TransferMode.COPY, "origin side is traffic shaped"));
    assertThat(new TransferPlanner(true, true, MIN, fine).forTunnel(null, null))
        .isEqualTo(new TransferPlan(TransferMode.SPLICE, "plain sockets on one epoll event loop"));
    asked.clear();
    assertThat(new TransferPlanner(true, false, MIN, says).forTunnel(null, null))
        .isEqualTo(new TransferPlan(TransferMode.COPY, "transfer.splice is off"));
    assertThat(asked).as("not asked with splice off").isEmpty();
  }

  @Test
  void everyLegAndFactCombinationGetsAPlan() {
    TransferPlanner p = planner(true, true);
    for (Leg leg : Leg.values()) {
      for (int bits = 0; bits < 32; bits++) {
        TransferFacts f = new TransferFacts(leg, (bits & 1) != 0, (bits & 2) != 0, (bits & 4) != 0,
            (bits & 8) != 0 ? -1 : MIN, (bits & 16) != 0, null);
        assertThat(p.plan(f).reason()).isNotBlank();
      }
    }
  }

  @Test
  void aSendfileThatWentAsBuffersSettlesAsACopy() {
    TransferPlanner p = planner(true, true);
    var regions = new TransferPlatform.WriteCount(1000, 0);
    var buffers = new TransferPlatform.WriteCount(0, 1000);

    assertThat(p.settle(TransferMode.SENDFILE, regions, 1000)).isEqualTo(TransferMode.SENDFILE);
    assertThat(p.settle(TransferMode.SENDFILE, buffers, 1000)).isEqualTo(TransferMode.COPY);
    assertThat(p.settle(TransferMode.SENDFILE, null, 1000)).as("not counted: the plan stands").isEqualTo(TransferMode.SENDFILE);
    assertThat(p.settle(TransferMode.SENDFILE, buffers, 0)).as("no body").isEqualTo(TransferMode.SENDFILE);
  }

  @Test
  void aSpliceWhoseWholeBodyCameThroughTheHeapSettlesAsACopy() {
    TransferPlanner p = planner(true, true);

    assertThat(p.settle(TransferMode.SPLICE, new TransferPlatform.WriteCount(0, 4096), 1 << 20))
        .as("a prefix decoded with the head, the rest spliced").isEqualTo(TransferMode.SPLICE);
    assertThat(p.settle(TransferMode.SPLICE, new TransferPlatform.WriteCount(0, 1 << 20), 1 << 20))
        .as("the whole body came with the head").isEqualTo(TransferMode.COPY);
    assertThat(p.settle(TransferMode.COPY, new TransferPlatform.WriteCount(0, 1 << 20), 1 << 20)).isEqualTo(TransferMode.COPY);
  }

  /** Facts come in through the table; the live-connection methods are not used here. */
  private static final TransferPlatform NO_PLATFORM = new Probe();

  /** A platform whose every method fails the test; a test overrides the probe it means to answer. */
  private static class Probe implements TransferPlatform {
    @Override
    public String whyNotSendfile(HttpServerRequest req) {
      throw new AssertionError();
    }

    @Override
    public String whyNotSpliceToClient(HttpClientResponse cres, HttpServerRequest req, long length) {
      throw new AssertionError();
    }

    @Override
    public String whyNotSpliceToFile(HttpClientResponse cres, long offset, long length) {
      throw new AssertionError();
    }

    @Override
    public String whyNotSpliceInto(FileChannel file) {
      throw new AssertionError();
    }

    @Override
    public String whyNotSpliceTunnel(NetSocket client, NetSocket origin) {
      throw new AssertionError();
    }

    @Override
    public WriteCount written(HttpServerRequest req) {
      throw new AssertionError();
    }

    @Override
    public Future<Void> sendRange(HttpServerRequest req, FileChannel file, long offset, long length) {
      throw new AssertionError();
    }

    @Override
    public void holdOrigin(HttpClientResponse cres) {
      throw new AssertionError();
    }

    @Override
    public void releaseOrigin(HttpClientResponse cres) {
      throw new AssertionError();
    }

    @Override
    public Future<Void> spliceToClient(HttpClientResponse cres, HttpServerRequest req, long length, long idleMillis) {
      throw new AssertionError();
    }

    @Override
    public Future<Void> spliceToFile(HttpClientResponse cres, FileChannel file, long offset, long length, long idleMillis,
        LongConsumer chunkDone) {
      throw new AssertionError();
    }
  }
}
