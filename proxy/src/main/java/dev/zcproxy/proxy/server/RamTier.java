package dev.zcproxy.proxy.server;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.RemovalCause;
import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.store.DiskStore;
import dev.zcproxy.cache.store.OpenEntry;
import dev.zcproxy.proxy.config.ProxyConfig;
import dev.zcproxy.proxy.internal.RamBody;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Bodies of small hit entries kept in memory, so that a hit writes head and body in one write
 * instead of a head write and a {@code sendfile(2)} of a few KiB (HAProxy's and Varnish's RAM caches).
 *
 * <p>Keyed by the file's {@link OpenEntry#generation}: unique to one file, so a copy can never stand in
 * for another response's body; the store tells {@link #drop} when a file leaves the index for good
 * (purge, ban, eviction, replacement). The disk file stays the source of truth: a body is read into
 * RAM right after its fill while the tier has room (from the fill's own bytes, {@link #keepFilled}, or
 * from its file, {@link #admitFilled}), else after it was
 * served from the file once (the second hit is the first from RAM), on the I/O executor. Bounded by bytes
 * with Caffeine's W-TinyLFU, which keeps the often-hit objects.
 *
 * <p>A full tier asks its policy before it reads a body: a file hit puts a {@link Probe} of the body's weight in its
 * place, and only a later hit that finds the probe still there (kept by the policy over what it held) reads the body
 * into it. W-TinyLFU turns most newcomers away until they were seen a few times, and each of those reads was wasted
 * before (four to five reads per key pushed out by other traffic, loadtest/results/KEYS-2026-12-03.md). Probes count
 * as accesses but are never answered as bodies.
 *
 * <p>A full tier also asks whether its reads pay: under keys hit uniformly, more than the tier holds, every body read in
 * displaces one hit as often (W-TinyLFU admits a few newcomers at random among equals), so the reads and probes buy no
 * RAM hits (4 KiB keys: 19,164 of 21,450 bodies read in were evicted again, KEYS-2026-12-03b). Each epoch of
 * lookups it compares its share of RAM hits with the share it last took for a change, and lets 1 in 64 file hits probe
 * while the reads buy none ({@link ProbeGate}).
 *
 * <p>Bodies are {@link RamBody RamBodies} in direct memory, off the JVM heap (not in the old generation, which the
 * serial collector keeps at 1.25x what is live, and not copied by its full collections), when the tier and Netty's I/O
 * buffers fit under {@code -XX:MaxDirectMemorySize} ({@link RamBody#directFits}), else on the heap. Each {@link Kept}
 * holds one reference to its body, given back when the map lets go of it (dropped, evicted, replaced); a hit that
 * copies a body out takes its own first ({@link RamBody#tryRetain}), so the memory is freed after the copy, once.
 *
 * <p>Thread-safe: the map is Caffeine's; {@code loading} is a concurrent set; {@link ProbeGate} is thread-safe.
 */
final class RamTier {
  private static final Logger LOG = LoggerFactory.getLogger(RamTier.class);
  /**
   * Memory a kept body costs beyond its bytes: Caffeine's weighted node (56), its hash-table node and slot and the
   * frequency sketch (48), the boxed key (16), the {@link Kept} (24), and the {@link RamBody} with its heap buffer
   * and array header (~64).
   */
  static final int OVERHEAD = 208;
  /**
   * What a body in direct memory costs beyond a heap one: Netty's direct buffer, the JDK's {@code DirectByteBuffer}
   * and its cleaner (~290 B of heap per body, measured by {@code RamTierWeightTest}) and malloc's chunk header.
   */
  static final int DIRECT_OVERHEAD = 320;
  /** A {@link HitHead} and its {@link dev.zcproxy.cache.EncodedHead} objects, beside the encoded bytes. */
  static final int HEAD_OBJECTS = 48;
  /**
   * What a pre-encoded head usually adds to a kept body once encoded: a few hundred bytes of fields, and the index's
   * entry and meta (~600-900 bytes of strings and fields) it pins ({@link #weight}).
   */
  static final int HEAD_ESTIMATE = 1280;

  private final ProxyConfig.Ram config;
  /** Whether bodies go to direct memory ({@link RamBody#directFits}). */
  private final boolean direct;
  /** {@link Kept} bodies and {@link Probe}s, by generation. */
  private final Cache<Long, Object> bodies;
  private final com.github.benmanes.caffeine.cache.Policy.Eviction<Long, Object> eviction;
  private final Executor io;
  private final Runnable loaded;
  private final Runnable evicted;
  private final Runnable turnedAway;
  /** Generations being read in now: one read per body, however many hits come meanwhile. */
  private final java.util.Set<Long> loading = java.util.concurrent.ConcurrentHashMap.newKeySet();

  /** Bytes held for bodies being read in ({@link #reserve}). */
  private final java.util.concurrent.atomic.AtomicLong pending = new java.util.concurrent.atomic.AtomicLong();
  /** Whether a full tier's file hits may probe: closes while reads into the full tier buy no RAM hits. */
  private final ProbeGate gate = new ProbeGate();

  /**
   * @param loaded called after each body was read in (a metric)
   * @param evicted called for each body the tier dropped because it was full, a body just read in and turned away
   *     by the admission policy included (a metric: loads that keep being evicted are a tier turning over, each
   *     a file hit and a read)
   * @param turnedAway called for each probe the full tier's policy turned away (a body not read: a metric)
   */
  RamTier(ProxyConfig.Ram config, Executor io, Runnable loaded, Runnable evicted, Runnable turnedAway) {
    this.config = config;
    this.io = io;
    this.loaded = loaded;
    this.evicted = evicted;
    this.turnedAway = turnedAway;
    this.direct = RamBody.directFits(config.sizeBytes(), RamBody.maxDirectMemory());
    if (!direct && config.sizeBytes() > 0) {
      LOG.info("RAM tier of {} bytes keeps its bodies on the heap: with Netty's I/O buffers it would not fit under the"
          + " direct-memory limit of {} bytes (-XX:MaxDirectMemorySize)", config.sizeBytes(), RamBody.maxDirectMemory());
    }
    this.bodies = Caffeine.newBuilder()
        .maximumWeight(Math.max(1, config.sizeBytes()))
        .weigher((Long gen, Object v) -> weight(v))
        .evictionListener((Long gen, Object v, RemovalCause cause) -> {
          if (cause == RemovalCause.SIZE) {
            (v instanceof Kept ? this.evicted : this.turnedAway).run(); // a probe turned away cost no read
          }
        })
        .removalListener((Long gen, Object v, RemovalCause cause) -> {
          if (v instanceof Kept k) {
            k.body.release(); // the map's reference: freed now unless a hit is copying it out
          }
        })
        .executor(Runnable::run)
        .build();
    this.eviction = bodies.policy().eviction().orElseThrow(); // weight-bounded: always present
  }

  /**
   * What {@code v} holds in memory: a body, its bytes and {@link #OVERHEAD}, and once its head is encoded the head and
   * what the {@link Kept} pins with it: the index's {@link DiskStore.Indexed} and meta, and the meta the head was
   * encoded from when that is another object (the head cache may hold the same meta too; counted here all the same,
   * as it may not).
   */
  static int weight(Object v) {
    if (v instanceof Kept k) {
      long w = (long) k.body.length() + OVERHEAD + (k.body.isDirect() ? DIRECT_OVERHEAD : 0);
      if (k.head != null) {
        w += HEAD_OBJECTS + k.head.head().retainedBytes();
        if (k.indexed == null || k.head.source() != k.indexed.meta()) {
          w += DiskStore.metaHeapBytes(k.head.source());
        }
      }
      if (k.indexed != null) {
        w += k.indexed.heapBytes();
      }
      return (int) Math.min(Integer.MAX_VALUE, w);
    }
    return ((Probe) v).weight;
  }

  /** The weight of the bodies (and probes) kept now: what the tier bounds by {@code cache.ram-size}. */
  long weightedSize() {
    bodies.cleanUp();
    return eviction.weightedSize().orElse(0);
  }

  /** Whether a body of {@code length} bytes is kept here once read. */
  boolean admits(long length) {
    return config.admits(length);
  }

  /** What a body costs beyond its bytes before its head is encoded ({@link #weight}'s, for room taken in advance). */
  private int overhead() {
    return OVERHEAD + (direct ? DIRECT_OVERHEAD : 0);
  }

  /** Whether bodies are kept in direct memory. */
  boolean direct() {
    return direct;
  }

  /**
   * The kept body of the file with this generation, or {@code null}; {@link RamBody#tryRetain} it before reading it
   * (a body dropped meanwhile is freed).
   */
  RamBody get(long generation) {
    return bodies.getIfPresent(generation) instanceof Kept k ? k.body : null;
  }

  /** The kept body of the file with this generation and the response head encoded for it, or {@code null}. */
  Kept kept(long generation) {
    if (bodies.getIfPresent(generation) instanceof Kept k) {
      gate.ramHit();
      return k;
    }
    return null;
  }

  /** The gate's share of full-tier file hits that may probe, as 1 in this (a metric). */
  int probeOneIn() {
    return gate.oneIn();
  }

  /** {@link #kept} without telling the eviction policy of a read (not a hit). */
  Kept peek(long generation) {
    return bodies.policy().getIfPresentQuietly(generation) instanceof Kept k ? k : null;
  }

  /**
   * Keeps {@code head}, encoded for the entry {@code indexed} (its generation's), beside the body {@code kept}
   * (weighed with it) unless the body was dropped or replaced meanwhile; returns what is kept now.
   */
  Kept withHead(DiskStore.Indexed indexed, Kept kept, HitHead head) {
    if (!kept.body.tryRetain()) {
      return kept; // dropped meanwhile: nothing to pair the head with
    }
    Kept next = new Kept(kept.body, head, indexed); // its own reference: the replaced one gives back its own
    if (bodies.asMap().replace(indexed.generation(), kept, next)) {
      return next;
    }
    kept.body.release();
    return kept;
  }

  /**
   * A body in RAM and, once a fast-path hit encoded it, its response head and the index's entry it was encoded for.
   *
   * @param head the pre-encoded head, or {@code null} until its fill or first fast-path hit encoded it
   * @param indexed the index's entry and meta {@code head} was made from ({@code null} with no head): what
   *     {@link DiskStore#lookupNow(String, java.util.function.LongFunction)} answers a hit with, instead of the head
   *     cache, while that entry is still the one indexed
   */
  record Kept(RamBody body, HitHead head, DiskStore.Indexed indexed) {
    Kept(RamBody body) {
      this(body, null, null);
    }
  }

  /** A place asked for a body not read yet, weighing what the body will when read in, before its head (a distinct object per ask). */
  private static final class Probe {
    final int weight;

    Probe(long weight) {
      this.weight = (int) Math.min(Integer.MAX_VALUE, weight);
    }
  }

  /**
   * Reads the body of {@code open} into RAM on the I/O executor, then closes {@code open} (the caller
   * hands its reference over). Does nothing more when the body is already kept or not admitted; in a full tier
   * puts a {@link Probe} in its place instead, and reads it at a later hit that finds the probe still kept.
   */
  void load(OpenEntry open, long offset, long length) {
    long generation = open.generation();
    Object present;
    if (!admits(length) || (present = bodies.getIfPresent(generation)) instanceof Kept) {
      open.close();
      return;
    }
    gate.fileHit();
    boolean room = present == null && reserve(length); // a place held for the read, so that hits meanwhile see it taken
    if (present == null && !room) {
      if (gate.mayProbe()) {
        bodies.asMap().putIfAbsent(generation, new Probe(length + overhead())); // its contest with the bodies kept decides whether it is read
      }
      open.close();
      return;
    }
    boolean full = present != null; // a probe kept: a read into a full tier
    if (!loading.add(generation)) { // one read per body, however many hits come meanwhile
      if (room) {
        release(length);
      }
      open.close();
      return;
    }
    Runnable read = () -> {
      try {
        RamBody body = RamBody.allocate((int) length, direct);
        try {
          ByteBuffer bb = body.writable(); // straight into its memory: a direct body needs no copy from a heap array
          while (bb.hasRemaining()) {
            if (open.channel().read(bb, offset + bb.position()) < 0) {
              throw new IOException("cache file shorter than its header says");
            }
          }
        } catch (IOException | RuntimeException e) {
          body.release();
          throw e;
        }
        bodies.put(generation, new Kept(body));
        if (full) {
          gate.readIntoFullTier();
        }
        loaded.run();
      } catch (IOException e) {
        LOG.debug("could not read entry {} into the RAM tier: {}", open.meta().primaryKey(), e.toString());
      } finally {
        if (room) {
          release(length); // kept now (weighed by the map) or not at all
        }
        loading.remove(generation);
        open.close();
      }
    };
    try {
      io.execute(read);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      if (room) {
        release(length);
      }
      loading.remove(generation); // stopping: the pool takes no more work, and the file must not stay open
      open.close();
    }
  }

  /**
   * Reads the body of an entry just stored into RAM when the tier admits its size and has room for it without
   * evicting anything (HAProxy's cache keeps an object in RAM from its fill): its first hit is then a RAM hit,
   * not an {@code open(2)}, a sendfile and this read. A full tier keeps bodies only after a hit ({@link #load}),
   * where its W-TinyLFU policy weighs them against the ones kept. Call on any thread; reads on the I/O executor.
   */
  void admitFilled(DiskStore store, EntryMeta meta, long generation) {
    long length = meta.bodyLength();
    if (!admits(length) || bodies.getIfPresent(generation) != null || !hasRoomFor(length)) {
      return;
    }
    store.open(meta).whenComplete((open, t) -> {
      if (open != null) {
        load(open, open.meta().bodyOffset(), open.meta().bodyLength());
      }
    });
  }

  /**
   * Keeps {@code body}, the whole body a fill received for the file of this generation, when the tier admits
   * its size and has room without evicting ({@link #admitFilled}'s rule), so that publishing the entry does
   * not read it back from its file (an {@code open(2)}, a read and two hops to the I/O executor per fill).
   * The caller {@link #drop}s it if the entry is not published. True when kept.
   */
  boolean keepFilled(long generation, byte[] body) {
    if (!admits(body.length) || !hasRoomFor(body.length)) {
      return false;
    }
    bodies.put(generation, new Kept(RamBody.copyOf(body, direct)));
    loaded.run();
    return true;
  }

  /** Whether a body of {@code length} bytes and its head fit beside the bodies kept now and those being read in. */
  private boolean hasRoomFor(long length) {
    long kept = eviction.weightedSize().orElse(0); // no Optional or boxed Long per fill
    return kept + pending.get() + length + overhead() + HEAD_ESTIMATE <= config.sizeBytes();
  }

  /**
   * Holds the place of a body of {@code length} bytes about to be read in, if it fits beside the bodies kept and those
   * being read: without it every file hit during a read saw the same room and read a body of its own, and the tier,
   * overfilled, evicted as many again (a full tier turning over through its room: 10,000 4 KiB keys at c128, ~750
   * loads and evictions a second). True when held: {@link #release} it after the read.
   */
  private boolean reserve(long length) {
    long need = length + overhead() + HEAD_ESTIMATE;
    long held = pending.addAndGet(need);
    if (eviction.weightedSize().orElse(0) + held <= config.sizeBytes()) {
      return true;
    }
    pending.addAndGet(-need);
    return false;
  }

  private void release(long length) {
    pending.addAndGet(-(length + overhead() + HEAD_ESTIMATE));
  }

  /** Forgets the body of the file with this generation (it left the index). */
  void drop(long generation) {
    bodies.invalidate(generation);
  }

  /** The number of bodies kept now. */
  long size() {
    bodies.cleanUp();
    long kept = 0;
    for (Object v : bodies.asMap().values()) { // a scrape's walk: probes are not bodies
      if (v instanceof Kept) {
        kept++;
      }
    }
    return kept;
  }
}
