package org.efashuffle.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.apache.spark.SparkConf;
import org.efashuffle.bench.BlockFetchBenchmark;
import org.junit.jupiter.api.Test;

/**
 * The block-fetch benchmark end to end on a tiny setting (tcp;ofi_rxm on loopback, two executor
 * JVMs): figures for both paths from the same blocks, every block's bytes equal through both and
 * to the holder's copy, the fabric path read over the fabric; and a path that returns wrong bytes
 * (efa-shuffle's test fault flips a bit in each block's first fabric read) is reported, per block.
 */
class BlockFetchBenchmarkTest {
  private static final String[] TINY = {"--providers", "tcp;ofi_rxm@lo", "--sizes", "4k,64k", "--in-flight", "4",
      "--rounds", "1", "--bytes", "256k"};

  private static SparkConf cluster() {
    return LocalClusters.conf("local-cluster[2,1,1024]");
  }

  @Test
  void measuresBothPathsOnTheSameBytes() {
    BlockFetchBenchmark.Result result = BlockFetchBenchmark.run(BlockFetchBenchmark.Options.parse(TINY), cluster());

    assertEquals(List.of(), result.failures());
    List<BlockFetchBenchmark.Row> rows = result.rows();
    assertEquals(List.of(4096L, 65536L), rows.stream().map(BlockFetchBenchmark.Row::size).toList());
    for (BlockFetchBenchmark.Row r : rows) {
      assertEquals(4, r.inFlight(), r.toString());
      assertTrue(r.verifiedBlocks() > 0 && r.fabricPathFabricBlocks() > 0, r.toString());
      assertTrue(Math.abs(r.blockBytes() - r.size()) < 64, "block of about the size asked: " + r);
      assertTrue(r.fabric().megabytesPerSecond() > 0 && r.netty().megabytesPerSecond() > 0, r.toString());
      assertTrue(r.fabric().p50Micros() > 0 && r.netty().p99Micros() >= r.netty().p50Micros(), r.toString());
    }
  }

  @Test
  void reportsEveryBlockAPathReturnedWrong() {
    String[] args = {"--providers", "tcp;ofi_rxm@lo", "--sizes", "4k", "--in-flight", "4", "--rounds", "1",
        "--bytes", "256k"};
    BlockFetchBenchmark.Result result = BlockFetchBenchmark.run(BlockFetchBenchmark.Options.parse(args),
        cluster().set("spark.shuffle.efa.test.corruptFabricBlocks", "true"));

    List<String> failures = result.failures();
    int blocks = result.rows().get(0).verifiedBlocks();
    assertTrue(blocks > 0, result.rows().toString());
    assertEquals(blocks, failures.size(), failures.toString());
    for (String f : failures) {
      assertTrue(f.matches("tcp;ofi_rxm@lo 4 KiB: shuffle_\\d+_\\d+_\\d+: CRC32 on executor \\d+ (\\p{XDigit}{8}), "
          + "through the fabric client (?!\\1)\\p{XDigit}{8}, through Netty \\1 \\(one at a time, before the timed rounds\\)"), f);
    }
  }
}
