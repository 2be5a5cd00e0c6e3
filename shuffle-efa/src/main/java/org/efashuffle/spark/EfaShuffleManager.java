package org.efashuffle.spark;

import java.util.HashMap;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.TaskContext;
import org.apache.spark.shuffle.ShuffleHandle;
import org.apache.spark.shuffle.ShuffleReadMetricsReporter;
import org.apache.spark.shuffle.ShuffleReader;
import org.apache.spark.shuffle.ShuffleWriteMetricsReporter;
import org.apache.spark.shuffle.ShuffleWriter;
import org.apache.spark.shuffle.sort.SortShuffleManager;
import org.efashuffle.common.config.EfaShuffleConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

/**
 * Spark's sort shuffle, with remote shuffle blocks read over libfabric one-sided reads between
 * executors of one subnet (Netty TCP otherwise). Set
 * {@code spark.shuffle.manager=org.efashuffle.spark.EfaShuffleManager}.
 *
 * <p>It extends {@link SortShuffleManager} rather than only implementing ShuffleManager: Spark SQL
 * skips a row copy only for sort shuffle managers, and the block manager casts the resolver for
 * checksum diagnosis and decommissioning. Writers and reader are Spark's own; the resolver is
 * Spark's, extended to pin committed map outputs in registered memory; this class starts the
 * executor's fabric side before the first shuffle task runs.
 */
public class EfaShuffleManager extends SortShuffleManager {
  private static final Logger LOG = LoggerFactory.getLogger(EfaShuffleManager.class);
  private static final String SHUFFLE_IO_PLUGIN = "spark.shuffle.sort.io.plugin.class";

  private final Map<String, String> settings;
  private final boolean remotePeersPossible;
  private final EfaShuffleBlockResolver resolver;
  private volatile EfaExecutorRuntime runtime;

  public EfaShuffleManager(SparkConf conf) {
    // A jar built for another Spark line fails here, naming the jar to use, before any call
    // that differs between lines (which would fail with a NoSuchMethodError).
    super(onItsSparkLine(conf));
    this.settings = settings(conf);
    EfaShuffleConfig.validate(settings); // a bad value fails the application at start, naming the key
    // Spark's sort shuffle keeps the task ids of each shuffle's map outputs in its resolver; ours takes them over.
    this.resolver = new EfaShuffleBlockResolver(conf, super.shuffleBlockResolver());
    // Spark's writers commit through the ShuffleDataIO's resolver; ours commits through this manager's.
    if (!conf.contains(SHUFFLE_IO_PLUGIN)) {
      conf.set(SHUFFLE_IO_PLUGIN, EfaShuffleDataIO.class.getName());
    } else if (!conf.get(SHUFFLE_IO_PLUGIN).equals(EfaShuffleDataIO.class.getName())) {
      LOG.warn("efa-shuffle: {}={} is kept, so map outputs are not pinned in registered memory; peers read them "
          + "staged from disk", SHUFFLE_IO_PLUGIN, conf.get(SHUFFLE_IO_PLUGIN));
    }
    String master = conf.get("spark.master", "");
    // In local mode every block is local: there is no peer to read over any transport.
    this.remotePeersPossible = !(master.equals("local") || master.startsWith("local["));
  }

  private static SparkConf onItsSparkLine(SparkConf conf) {
    SparkLine.checkRunning();
    return conf;
  }

  static Map<String, String> settings(SparkConf conf) {
    return settings(conf, EfaShuffleConfig.PREFIX);
  }

  /** The settings of {@code conf} whose keys start with {@code prefix}. */
  static Map<String, String> settings(SparkConf conf, String prefix) {
    Map<String, String> settings = new HashMap<>();
    for (Tuple2<String, String> kv : conf.getAll()) {
      if (kv._1().startsWith(prefix)) {
        settings.put(kv._1(), kv._2());
      }
    }
    return settings;
  }

  /** The resolver every shuffle read and write of this executor goes through. */
  @Override
  public EfaShuffleBlockResolver shuffleBlockResolver() {
    return resolver;
  }

  private void ensureStarted() {
    if (runtime == null && remotePeersPossible) {
      synchronized (this) {
        if (runtime == null) {
          runtime = EfaExecutorRuntime.start(settings, resolver);
        }
      }
    }
  }

  @Override
  public <K, V> ShuffleWriter<K, V> getWriter(ShuffleHandle handle, long mapId, TaskContext context,
      ShuffleWriteMetricsReporter metrics) {
    ensureStarted();
    return super.getWriter(handle, mapId, context, metrics);
  }

  @Override
  public <K, C> ShuffleReader<K, C> getReader(ShuffleHandle handle, int startMapIndex, int endMapIndex,
      int startPartition, int endPartition, TaskContext context, ShuffleReadMetricsReporter metrics) {
    ensureStarted();
    return super.getReader(handle, startMapIndex, endMapIndex, startPartition, endPartition, context, metrics);
  }

  @Override
  public void stop() {
    EfaExecutorRuntime r = runtime;
    if (r != null) {
      r.close();
    }
    super.stop();
  }
}
