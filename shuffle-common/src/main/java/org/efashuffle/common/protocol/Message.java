package org.efashuffle.common.protocol;

import java.util.List;

/**
 * The fabric path's control messages (rendezvous read). A reducer sends a {@link FetchRequest}
 * naming blocks; the mapper answers with a {@link FetchAnswer} giving each block's location in
 * registered memory; the reducer reads them with fi_read and sends {@link FetchDone}, after which
 * the mapper may reuse any staging memory it used. All three carry the reducer's request id; a
 * request id names one lease at the mapper.
 */
public sealed interface Message {
  long requestId();

  /** @param replyAddress the reducer's fabric address, to answer to */
  record FetchRequest(long requestId, byte[] replyAddress, List<BlockRef> blocks) implements Message {
    public FetchRequest {
      blocks = List.copyOf(blocks);
      replyAddress = replyAddress.clone();
    }
  }

  /**
   * One location per requested block, in the request's order.
   *
   * @param serverAddress the answering mapper's fabric address, for the done message (also when
   *     the reducer stopped waiting: a late answer still holds a lease)
   * @throws IllegalArgumentException when the blocks' lengths add up past a long
   */
  record FetchAnswer(long requestId, byte[] serverAddress, List<BlockLocation> locations) implements Message {
    public FetchAnswer {
      serverAddress = serverAddress.clone();
      locations = List.copyOf(locations);
      long total = 0;
      for (BlockLocation l : locations) {
        total += l.length();
        if (total < 0) {
          throw new IllegalArgumentException("block lengths overflow a long");
        }
      }
    }
  }

  record FetchDone(long requestId) implements Message {}
}
