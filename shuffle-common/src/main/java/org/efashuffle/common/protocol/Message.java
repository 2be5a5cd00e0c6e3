package org.efashuffle.common.protocol;

import java.util.List;

/**
 * The fabric path's control messages (rendezvous read). A reducer sends a {@link FetchRequest}
 * naming blocks; the mapper answers with a {@link FetchAnswer} giving each block's location in
 * registered memory; the reducer reads them with fi_read and sends {@link FetchDone}, after which
 * the mapper may reuse any staging memory it used. All three carry the reducer's request id.
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

  /** One location per requested block, in the request's order. */
  record FetchAnswer(long requestId, List<BlockLocation> locations) implements Message {
    public FetchAnswer {
      locations = List.copyOf(locations);
    }
  }

  record FetchDone(long requestId) implements Message {}
}
