package org.efashuffle.spark;

import com.codahale.metrics.Gauge;
import com.codahale.metrics.MetricRegistry;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.spark.metrics.source.Source;

/**
 * This executor's remote shuffle reads by path: blocks and bytes read over the fabric, blocks and
 * bytes fetched over Netty, and fabric fetches that fell back to Netty. A Spark metrics source
 * ({@code efaShuffle.*}) and a line in the executor log at stop.
 */
public final class TransportMetrics implements Source {
  private static final TransportMetrics INSTANCE = new TransportMetrics();

  final AtomicLong fabricBlocks = new AtomicLong();
  final AtomicLong fabricBytes = new AtomicLong();
  final AtomicLong nettyBlocks = new AtomicLong();
  final AtomicLong nettyBytes = new AtomicLong();
  final AtomicLong fallbacks = new AtomicLong();
  private final MetricRegistry registry = new MetricRegistry();

  private TransportMetrics() {
    registry.register("fabricBlocksRead", (Gauge<Long>) fabricBlocks::get);
    registry.register("fabricBytesRead", (Gauge<Long>) fabricBytes::get);
    registry.register("nettyBlocksFetched", (Gauge<Long>) nettyBlocks::get);
    registry.register("nettyBytesFetched", (Gauge<Long>) nettyBytes::get);
    registry.register("fabricFallbacks", (Gauge<Long>) fallbacks::get);
  }

  /** The counters of this JVM (one executor; in local mode the driver's). */
  public static TransportMetrics get() {
    return INSTANCE;
  }

  /** A copy of the counters now. */
  public Snapshot snapshot() {
    return new Snapshot(fabricBlocks.get(), fabricBytes.get(), nettyBlocks.get(), nettyBytes.get(), fallbacks.get());
  }

  /** The counters at one moment. A plain class, not a record, so that Kryo can serialize it too. */
  public static final class Snapshot implements java.io.Serializable {
    private static final long serialVersionUID = 1L;
    private final long fabricBlocks;
    private final long fabricBytes;
    private final long nettyBlocks;
    private final long nettyBytes;
    private final long fallbacks;

    public Snapshot(long fabricBlocks, long fabricBytes, long nettyBlocks, long nettyBytes, long fallbacks) {
      this.fabricBlocks = fabricBlocks;
      this.fabricBytes = fabricBytes;
      this.nettyBlocks = nettyBlocks;
      this.nettyBytes = nettyBytes;
      this.fallbacks = fallbacks;
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

    public Snapshot plus(Snapshot o) {
      return new Snapshot(fabricBlocks + o.fabricBlocks, fabricBytes + o.fabricBytes, nettyBlocks + o.nettyBlocks,
          nettyBytes + o.nettyBytes, fallbacks + o.fallbacks);
    }

    @Override
    public String toString() {
      return "fabric " + fabricBlocks + " blocks / " + fabricBytes + " bytes, netty " + nettyBlocks + " blocks / "
          + nettyBytes + " bytes, " + fallbacks + " fabric fetches fell back to netty";
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
