package org.efashuffle.transport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.logging.Logger;
import org.efashuffle.common.protocol.BlockLocation;
import org.efashuffle.common.protocol.BlockRef;
import org.efashuffle.fabric.FabricDomain;
import org.efashuffle.fabric.FabricEndpoint;
import org.efashuffle.fabric.FabricOperation;

/**
 * Reads blocks into the caller's {@link BlockSinks} in pieces of at most {@link #PIECE_BYTES}
 * through the receive pool, so that a block of any size (over 2 GiB too) crosses the fabric with
 * a few MiB of registered memory: per block two pieces in flight, the next read while the last is
 * written. It runs on its own threads, since writing a sink blocks and the progress thread must
 * not. A piece's memory goes back to the pool only once its read has settled, so a late
 * completion never writes into memory that another read reuses.
 */
final class BlockDownloader implements AutoCloseable {
  static final long PIECE_BYTES = 4L << 20;
  /** The most bytes one in-memory block may have: one ByteBuffer's. */
  static final long MAX_IN_MEMORY = Integer.MAX_VALUE;
  private static final int WINDOW = 2;
  private static final int THREADS = 4;
  private static final Logger LOG = Logger.getLogger(BlockDownloader.class.getName());

  /**
   * One answer's blocks split between memory and the sinks: {@link #inMemory} is the answer with
   * the blocks bound for sinks, and those too large for memory without a sink, marked UNAVAILABLE
   * (the latter stay so: their reader uses its fallback path).
   */
  record Split(List<BlockLocation> inMemory, List<Integer> toSinks) {}

  private final FabricDomain domain;
  private final PinnedPool pool;
  private final FabricEndpoint endpoint;
  private final ExecutorService threads = Executors.newFixedThreadPool(THREADS, r -> {
    Thread t = new Thread(r, "efa-shuffle-download");
    t.setDaemon(true);
    return t;
  });

  BlockDownloader(FabricDomain domain, PinnedPool pool, FabricEndpoint endpoint) {
    this.domain = domain;
    this.pool = pool;
    this.endpoint = endpoint;
  }

  /** With sinks, every served block of non-zero length goes to a sink; without, a block too large for memory is refused. */
  static Split split(List<BlockRef> refs, List<BlockLocation> locations, BlockSinks sinks) {
    List<BlockLocation> inMemory = new ArrayList<>(locations);
    List<Integer> toSinks = new ArrayList<>();
    for (int i = 0; i < locations.size(); i++) {
      BlockLocation l = locations.get(i);
      if (l.status() != BlockLocation.Status.OK || l.length() == 0) {
        continue;
      }
      if (sinks != null) {
        toSinks.add(i);
      } else if (l.length() > MAX_IN_MEMORY) {
        LOG.warning(refs.get(i) + " has " + l.length() + " bytes, more than one in-memory buffer holds, and its fetch "
            + "has no file to read it into; it is fetched over the fallback path");
      } else {
        continue;
      }
      inMemory.set(i, BlockLocation.failed(BlockLocation.Status.UNAVAILABLE));
    }
    return new Split(inMemory, toSinks);
  }

  /** Reads the split's sink-bound blocks one after another; completes once all are written and their memory is back. */
  CompletableFuture<Void> download(long server, List<BlockRef> refs, List<BlockLocation> locations, Split split,
      BlockSinks sinks) {
    if (split.toSinks().isEmpty()) {
      return CompletableFuture.completedFuture(null);
    }
    try {
      return CompletableFuture.runAsync(() -> {
        for (int i : split.toSinks()) {
          try {
            downloadOne(server, refs.get(i), locations.get(i), sinks);
          } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + refs.get(i) + " into its sink", e);
          }
        }
      }, threads);
    } catch (RejectedExecutionException e) {
      return CompletableFuture.failedFuture(new IllegalStateException("fabric transport closed", e));
    }
  }

  /** The fetched blocks with those that went to sinks marked so. */
  static List<FetchedBlock> merge(List<FetchedBlock> fetched, List<BlockRef> refs, List<BlockLocation> locations,
      Split split) {
    for (int i : split.toSinks()) {
      fetched.set(i, FetchedBlock.inSink(refs.get(i), locations.get(i).length()));
    }
    return fetched;
  }

  private void downloadOne(long server, BlockRef ref, BlockLocation at, BlockSinks sinks) throws IOException {
    WritableByteChannel out = sinks.open(ref, at.length()); // the caller's: it closes it
    long length = at.length();
    long pieceSize = Math.min(PIECE_BYTES, length);
    long pieces = (length + pieceSize - 1) / pieceSize;
    ReceivedBatch[] buffers = new ReceivedBatch[WINDOW];
    FabricOperation[] reads = new FabricOperation[WINDOW];
    try {
      for (int w = 0; w < WINDOW && w < pieces; w++) {
        buffers[w] = ReceivedBatch.take(pool, domain, pieceSize, 1);
      }
      reads[0] = readPiece(server, at, 0, pieceSize, buffers[0]);
      for (long k = 0; k < pieces; k++) {
        int slot = (int) (k % WINDOW);
        long n = Math.min(pieceSize, length - k * pieceSize);
        reads[slot].join();
        reads[slot].settled().join();
        reads[slot] = null;
        if (k + 1 < pieces) {
          int next = (int) ((k + 1) % WINDOW);
          reads[next] = readPiece(server, at, (k + 1) * pieceSize, pieceSize, buffers[next]);
        }
        ByteBuffer bytes = buffers[slot].view(0, (int) n);
        while (bytes.hasRemaining()) {
          out.write(bytes);
        }
      }
    } catch (CompletionException e) {
      throw e.getCause() instanceof RuntimeException r ? r : e;
    } finally {
      for (FabricOperation read : reads) {
        if (read != null) {
          read.settled().join(); // the buffer goes back only once libfabric is done with it
        }
      }
      for (ReceivedBatch buffer : buffers) {
        if (buffer != null) {
          buffer.release();
        }
      }
    }
  }

  private FabricOperation readPiece(long server, BlockLocation at, long from, long pieceSize, ReceivedBatch into) {
    long n = Math.min(pieceSize, at.length() - from);
    return endpoint.read(into.region(), into.regionOffset(0), n, server, at.remoteAddress() + from, at.key());
  }

  /** Stops taking downloads; one still running fails on the closed endpoint and gives its memory back. */
  @Override
  public void close() {
    threads.shutdown();
  }
}
