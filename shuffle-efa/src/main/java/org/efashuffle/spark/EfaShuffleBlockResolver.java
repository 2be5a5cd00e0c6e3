package org.efashuffle.spark;

import java.io.File;
import java.io.IOException;
import org.apache.spark.SparkConf;
import org.apache.spark.shuffle.IndexShuffleBlockResolver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Spark's index-file resolver (so local reads, Netty, checksum diagnosis and decommissioning see
 * Spark's standard files), which also copies each committed map output into registered memory
 * when the executor's fabric is up and its budget allows, and forgets it when Spark removes the
 * output's files. Every shuffle writer commits through this class: {@link EfaShuffleDataIO} hands
 * it to them.
 */
public class EfaShuffleBlockResolver extends IndexShuffleBlockResolver {
  private static final Logger LOG = LoggerFactory.getLogger(EfaShuffleBlockResolver.class);

  private volatile PinnedMapOutputs pinned;

  /**
   * Takes over the task ids of each shuffle's map outputs that Spark's own resolver keeps. The map
   * is handed from Spark's resolver to Spark's constructor unnamed: its type differs between Spark
   * lines (java.util.Map in 3.5 and 4.0, ConcurrentMap from 4.1), so this compiles on every line.
   */
  EfaShuffleBlockResolver(SparkConf conf, IndexShuffleBlockResolver sparks) {
    super(conf, null, sparks.taskIdMapsForShuffle());
  }

  /** Where committed outputs are pinned from now on (null: nowhere). */
  void pinInto(PinnedMapOutputs outputs) {
    this.pinned = outputs;
  }

  @Override
  public void writeMetadataFileAndCommit(int shuffleId, long mapId, long[] lengths, long[] checksums, File dataTmp) {
    super.writeMetadataFileAndCommit(shuffleId, mapId, lengths, checksums, dataTmp);
    PinnedMapOutputs outputs = pinned;
    if (outputs != null) {
      try {
        outputs.pin(shuffleId, mapId, getDataFile(shuffleId, mapId), lengths);
      } catch (IOException | RuntimeException e) {
        // The output is committed on disk: peers read it staged, or over Netty.
        LOG.warn("efa-shuffle: could not pin map output {} of shuffle {}; it is served from disk", mapId, shuffleId, e);
      }
    }
  }

  @Override
  public void removeDataByMap(int shuffleId, long mapId) {
    PinnedMapOutputs outputs = pinned;
    if (outputs != null) {
      outputs.remove(shuffleId, mapId);
    }
    super.removeDataByMap(shuffleId, mapId);
  }
}
