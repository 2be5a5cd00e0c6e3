package org.efashuffle.transport;

import java.io.IOException;
import java.nio.channels.WritableByteChannel;
import org.efashuffle.common.protocol.BlockRef;

/**
 * Where a fetch puts blocks that are not to be held in memory (Spark's fetch-to-disk: a download
 * file per block). A fetch given sinks reads every served block of non-zero length into the sink
 * opened for it, in bounded pieces, so a block of any size needs a few MiB of registered memory.
 */
public interface BlockSinks {
  /**
   * Opens the sink for one block of {@code length} bytes; called once per such block, on a
   * download thread (it may block). The caller owns what it returns and closes it: on success
   * after the fetch's future has completed, and also when the fetch fails (some sinks may then
   * hold part of their block).
   */
  WritableByteChannel open(BlockRef ref, long length) throws IOException;
}
