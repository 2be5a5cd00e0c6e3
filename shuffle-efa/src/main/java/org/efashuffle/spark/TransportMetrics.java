package org.efashuffle.spark;

import com.codahale.metrics.Gauge;
import com.codahale.metrics.MetricRegistry;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.spark.metrics.source.Source;

/**
 * This executor's remote shuffle reads by path (blocks and bytes read over the fabric, blocks and
 * bytes fetched over Netty, fabric fetches that fell back to Netty, peers whose fabric breaker
 * opened) and what it served over the
 * fabric (blocks read from map outputs pinned in registered memory, blocks staged from disk, bytes
 * pinned now and at most). A Spark metrics source ({@code efaShuffle.*}) and a line in the
 * executor log at stop.
 */
public final class TransportMetrics implements Source {
  private static final TransportMetrics INSTANCE = new TransportMetrics();

  final AtomicLong fabricBlocks = new AtomicLong();
  final AtomicLong fabricBytes = new AtomicLong();
  final AtomicLong nettyBlocks = new AtomicLong();
  final AtomicLong nettyBytes = new AtomicLong();
  final AtomicLong fallbacks = new AtomicLong();
  final AtomicLong servedPinned = new AtomicLong();
  final AtomicLong servedStaged = new AtomicLong();
  final AtomicLong pinnedBytes = new AtomicLong();
  final AtomicLong peakPinnedBytes = new AtomicLong();
  final AtomicLong testCorruptedBlocks = new AtomicLong();
  final AtomicLong breakerOpenings = new AtomicLong();
  private final MetricRegistry registry = new MetricRegistry();

  private TransportMetrics() {
    registry.register("fabricBlocksRead", (Gauge<Long>) fabricBlocks::get);
    registry.register("fabricBytesRead", (Gauge<Long>) fabricBytes::get);
    registry.register("nettyBlocksFetched", (Gauge<Long>) nettyBlocks::get);
    registry.register("nettyBytesFetched", (Gauge<Long>) nettyBytes::get);
    registry.register("fabricFallbacks", (Gauge<Long>) fallbacks::get);
    registry.register("blocksServedPinned", (Gauge<Long>) servedPinned::get);
    registry.register("blocksServedStaged", (Gauge<Long>) servedStaged::get);
    registry.register("pinnedBytes", (Gauge<Long>) pinnedBytes::get);
    registry.register("peakPinnedBytes", (Gauge<Long>) peakPinnedBytes::get);
    registry.register("testCorruptedBlocks", (Gauge<Long>) testCorruptedBlocks::get);
    registry.register("fabricBreakerOpenings", (Gauge<Long>) breakerOpenings::get);
  }

  /** The counters of this JVM (one executor; in local mode the driver's). */
  public static TransportMetrics get() {
    return INSTANCE;
  }

  /** Blocks damaged by the test-only fault spark.shuffle.efa.test.corruptFabricBlocks (0 unless it is on). */
  public long testCorruptedBlocks() {
    return testCorruptedBlocks.get();
  }

  /** A copy of the counters now. */
  public Snapshot snapshot() {
    return new Snapshot(fabricBlocks.get(), fabricBytes.get(), nettyBlocks.get(), nettyBytes.get(), fallbacks.get(),
        servedPinned.get(), servedStaged.get(), pinnedBytes.get(), peakPinnedBytes.get(), breakerOpenings.get());
  }

  /** The counters at one moment. A plain class, not a record, so that Kryo can serialize it too. */
  public static final class Snapshot implements java.io.Serializable {
    private static final long serialVersionUID = 1L;
    private final long fabricBlocks;
    private final long fabricBytes;
    private final long nettyBlocks;
    private final long nettyBytes;
    private final long fallbacks;
    private final long servedPinned;
    private final long servedStaged;
    private final long pinnedBytes;
    private final long peakPinnedBytes;
    private final long breakerOpenings;

    public Snapshot(long fabricBlocks, long fabricBytes, long nettyBlocks, long nettyBytes, long fallbacks,
        long servedPinned, long servedStaged, long pinnedBytes, long peakPinnedBytes, long breakerOpenings) {
      this.fabricBlocks = fabricBlocks;
      this.fabricBytes = fabricBytes;
      this.nettyBlocks = nettyBlocks;
      this.nettyBytes = nettyBytes;
      this.fallbacks = fallbacks;
      this.servedPinned = servedPinned;
      this.servedStaged = servedStaged;
      this.pinnedBytes = pinnedBytes;
      this.peakPinnedBytes = peakPinnedBytes;
      this.breakerOpenings = breakerOpenings;
    }

    public static Snapshot zero() {
      return new Snapshot(0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    }

    public long fabricBlocks() {
      return fabricBlocks;
    }

    public long fabricBytes() {
      return fabricBytes;
    }

    public long nettyBlocks() {
      return nettyBlocks;
    }

    public long nettyBytes() {
      return nettyBytes;
    }

    public long fallbacks() {
      return fallbacks;
    }

    /** Blocks this executor served over the fabric from map outputs in registered memory. */
    public long servedPinned() {
      return servedPinned;
    }

    /** Blocks this executor served over the fabric by staging them from its shuffle files. */
    public long servedStaged() {
      return servedStaged;
    }

    /** Bytes of map outputs registered now. */
    public long pinnedBytes() {
      return pinnedBytes;
    }

    /** The most bytes of map outputs registered at once (summed over executors by {@link #plus}). */
    public long peakPinnedBytes() {
      return peakPinnedBytes;
    }

    /** Times a peer's fabric breaker opened (a fabric fetch failed; the peer is read over Netty for a while). */
    public long breakerOpenings() {
      return breakerOpenings;
    }

    public Snapshot plus(Snapshot o) {
      return new Snapshot(fabricBlocks + o.fabricBlocks, fabricBytes + o.fabricBytes, nettyBlocks + o.nettyBlocks,
          nettyBytes + o.nettyBytes, fallbacks + o.fallbacks, servedPinned + o.servedPinned,
          servedStaged + o.servedStaged, pinnedBytes + o.pinnedBytes, peakPinnedBytes + o.peakPinnedBytes,
          breakerOpenings + o.breakerOpenings);
    }

    /** The counts since {@code before}; the pinned-bytes gauges as they are now. */
    public Snapshot since(Snapshot before) {
      return new Snapshot(fabricBlocks - before.fabricBlocks, fabricBytes - before.fabricBytes,
          nettyBlocks - before.nettyBlocks, nettyBytes - before.nettyBytes, fallbacks - before.fallbacks,
          servedPinned - before.servedPinned, servedStaged - before.servedStaged, pinnedBytes, peakPinnedBytes,
          breakerOpenings - before.breakerOpenings);
    }

    @Override
    public String toString() {
      return "read: fabric " + fabricBlocks + " blocks / " + fabricBytes + " bytes, netty " + nettyBlocks + " blocks / "
          + nettyBytes + " bytes, " + fallbacks + " fabric fetches fell back to netty, " + breakerOpenings
          + " peer breakers opened; served over fabric: "
          + servedPinned + " blocks from pinned map outputs, " + servedStaged + " staged from disk; pinned "
          + pinnedBytes + " bytes now, peak " + peakPinnedBytes;
    }
  }

  @Override
  public String sourceName() {
    return "efaShuffle";
  }

  @Override
  public MetricRegistry metricRegistry() {
    return registry;
  }
}
