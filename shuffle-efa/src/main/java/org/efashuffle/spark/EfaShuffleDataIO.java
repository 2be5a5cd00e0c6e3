package org.efashuffle.spark;

import java.io.IOException;
import java.util.Map;
import java.util.Optional;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkEnv;
import org.apache.spark.shuffle.ShuffleManager;
import org.apache.spark.shuffle.api.ShuffleDataIO;
import org.apache.spark.shuffle.api.ShuffleDriverComponents;
import org.apache.spark.shuffle.api.ShuffleExecutorComponents;
import org.apache.spark.shuffle.api.ShuffleMapOutputWriter;
import org.apache.spark.shuffle.api.SingleSpillShuffleMapOutputWriter;
import org.apache.spark.shuffle.sort.io.LocalDiskShuffleDataIO;
import org.apache.spark.shuffle.sort.io.LocalDiskShuffleExecutorComponents;

/**
 * Spark's local-disk shuffle storage, with every map output committed through the shuffle
 * manager's {@link EfaShuffleBlockResolver} (Spark's own components make a resolver of their own).
 * {@link EfaShuffleManager} sets {@code spark.shuffle.sort.io.plugin.class} to this class unless
 * the user chose another.
 */
public class EfaShuffleDataIO implements ShuffleDataIO {
  private final SparkConf conf;

  public EfaShuffleDataIO(SparkConf conf) {
    this.conf = conf;
  }

  @Override
  public ShuffleDriverComponents driver() {
    return new LocalDiskShuffleDataIO(conf).driver();
  }

  @Override
  public ShuffleExecutorComponents executor() {
    return new ExecutorComponents(conf);
  }

  private static final class ExecutorComponents implements ShuffleExecutorComponents {
    private final SparkConf conf;
    private ShuffleExecutorComponents localDisk;

    ExecutorComponents(SparkConf conf) {
      this.conf = conf;
    }

    @Override
    public void initializeExecutor(String appId, String execId, Map<String, String> extraConfigs) {
      ShuffleManager manager = SparkEnv.get().shuffleManager();
      if (manager instanceof EfaShuffleManager efa) {
        localDisk = new LocalDiskShuffleExecutorComponents(conf, SparkEnv.get().blockManager(),
            efa.shuffleBlockResolver());
      } else {
        localDisk = new LocalDiskShuffleExecutorComponents(conf);
        localDisk.initializeExecutor(appId, execId, extraConfigs);
      }
    }

    @Override
    public ShuffleMapOutputWriter createMapOutputWriter(int shuffleId, long mapTaskId, int numPartitions)
        throws IOException {
      return localDisk.createMapOutputWriter(shuffleId, mapTaskId, numPartitions);
    }

    @Override
    public Optional<SingleSpillShuffleMapOutputWriter> createSingleFileMapOutputWriter(int shuffleId, long mapId)
        throws IOException {
      return localDisk.createSingleFileMapOutputWriter(shuffleId, mapId);
    }
  }
}
