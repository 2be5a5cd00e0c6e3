package org.efashuffle.spark;

import java.io.File;
import java.nio.file.Path;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.SparkConf;
import org.apache.spark.shuffle.IndexShuffleBlockResolver;

/** Map output files as the tests write them: Spark's file layout in one directory, and the bytes they hold. */
final class MapOutputFiles {
  private MapOutputFiles() {}

  /** Byte {@code i} of map {@code mapId}'s data file: differs between maps, so a misplaced read shows. */
  static byte expected(long mapId, long i) {
    return (byte) (((i + 1) * 0x9E3779B97F4A7C15L + mapId * 0x632BE59BD9B4E019L) >>> 56);
  }

  /** Our resolver with Spark's names (shuffle_S_M_0.data and .index), all in {@code dir}. */
  static EfaShuffleBlockResolver resolverIn(Path dir) {
    SparkConf conf = new SparkConf(false);
    return new EfaShuffleBlockResolver(conf, new IndexShuffleBlockResolver(conf, null, new ConcurrentHashMap<>())) {
      @Override
      public File getDataFile(int shuffleId, long mapId) {
        return dir.resolve("shuffle_" + shuffleId + "_" + mapId + "_0.data").toFile();
      }

      @Override
      public File getIndexFile(int shuffleId, long mapId, scala.Option<String[]> dirs) {
        return dir.resolve("shuffle_" + shuffleId + "_" + mapId + "_0.index").toFile();
      }
    };
  }
}
