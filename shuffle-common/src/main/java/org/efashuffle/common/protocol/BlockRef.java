package org.efashuffle.common.protocol;

/**
 * A shuffle block as a reducer names it: map output {@code mapId} of shuffle {@code shuffleId},
 * reduce partitions [startReduceId, endReduceId) — one partition, or a contiguous batch (Spark's
 * ShuffleBlockId and ShuffleBlockBatchId).
 */
public record BlockRef(int shuffleId, long mapId, int startReduceId, int endReduceId) {
  public BlockRef {
    if (shuffleId < 0 || mapId < 0 || startReduceId < 0 || endReduceId <= startReduceId) {
      throw new IllegalArgumentException("invalid block " + shuffleId + "/" + mapId + "/["
          + startReduceId + "," + endReduceId + ")");
    }
  }

  public static BlockRef of(int shuffleId, long mapId, int reduceId) {
    return new BlockRef(shuffleId, mapId, reduceId, reduceId + 1);
  }

  @Override
  public String toString() {
    return endReduceId == startReduceId + 1
        ? "shuffle_" + shuffleId + "_" + mapId + "_" + startReduceId
        : "shuffle_" + shuffleId + "_" + mapId + "_" + startReduceId + "_" + endReduceId;
  }
}
