package org.efashuffle.common.protocol;

import java.util.List;

/**
 * The fabric path's control messages (rendezvous read). A reducer sends a {@link FetchRequest}
 * naming blocks; the mapper answers with a {@link FetchAnswer} giving each block's location in
 * registered memory; the reducer reads them with fi_read and sends {@link FetchDone}, after which
 * the mapper may reuse any staging memory it used. All three carry the reducer's request id; a
 * request id names one lease at the mapper. Small blocks may come inside the answer instead
 * ({@link BlockLocation.Status#INLINE}): one round trip, and no lease for them.
 */
public sealed interface Message {
  long requestId();

  /**
   * @param replyAddress the reducer's fabric address, to answer to
   * @param inlineBytes the most block bytes the answer may carry inline (0: none, every block is
   *     to be read with fi_read)
   */
  record FetchRequest(long requestId, byte[] replyAddress, List<BlockRef> blocks, int inlineBytes)
      implements Message {
    public FetchRequest {
      blocks = List.copyOf(blocks);
      replyAddress = replyAddress.clone();
      if (inlineBytes < 0) {
        throw new IllegalArgumentException("negative inline byte budget " + inlineBytes);
      }
    }

    /** A request whose blocks are all to be read with fi_read. */
    public FetchRequest(long requestId, byte[] replyAddress, List<BlockRef> blocks) {
      this(requestId, replyAddress, blocks, 0);
    }
  }

  /**
   * One location per requested block, in the request's order.
   *
   * @param serverAddress the answering mapper's fabric address, for the done message (also when
   *     the reducer stopped waiting: a late answer still holds a lease)
   * @param inline the bytes of the {@link BlockLocation.Status#INLINE} blocks, one after another
   *     in the locations' order
   * @throws IllegalArgumentException when the blocks' lengths add up past a long, or the inline
   *     blocks' lengths are not the inline bytes'
   */
  record FetchAnswer(long requestId, byte[] serverAddress, List<BlockLocation> locations, byte[] inline)
      implements Message {
    public FetchAnswer {
      serverAddress = serverAddress.clone();
      locations = List.copyOf(locations);
      inline = inline.clone();
      long total = 0;
      long inlined = 0;
      for (BlockLocation l : locations) {
        total += l.length();
        if (total < 0) {
          throw new IllegalArgumentException("block lengths overflow a long");
        }
        if (l.status() == BlockLocation.Status.INLINE) {
          inlined += l.length();
        }
      }
      if (inlined != inline.length) {
        throw new IllegalArgumentException("inline blocks of " + inlined + " bytes with " + inline.length
            + " inline bytes");
      }
    }

    /** An answer with no block inline. */
    public FetchAnswer(long requestId, byte[] serverAddress, List<BlockLocation> locations) {
      this(requestId, serverAddress, locations, new byte[0]);
    }

    /** Whether the server holds a lease for this answer: some block is to be read from its memory. */
    public boolean leased() {
      return locations.stream().anyMatch(l -> l.status() == BlockLocation.Status.OK);
    }
  }

  record FetchDone(long requestId) implements Message {}
}
