package org.efashuffle.spark;

import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;
import org.efashuffle.common.protocol.BlockRef;
import org.efashuffle.transport.BlockSource;
import org.efashuffle.transport.PinnedPool;
import org.efashuffle.fabric.UseCount;

/**
 * Map outputs copied into registered memory when they are committed, so that peers read them
 * one-sidedly with no disk I/O and no copy on this executor: the committed data file, whole, with
 * its partition offsets. Outputs that do not fit the pool's budget stay only on disk (and are
 * staged per read by {@link MapOutputBlocks}).
 *
 * <p>Ownership: this class owns every piece it took from the pool. A published block is a lease
 * on its output's piece; an output removed while leased (its shuffle unregistered during a read)
 * is freed when its last lease closes, so a peer never reads memory that was reused.
 */
final class PinnedMapOutputs implements AutoCloseable {
  private static final int COPY_CHUNK = 1 << 30;

  private record Key(int shuffleId, long mapId) {}

  private static final class Output {
    final PinnedPool.Piece piece;
    final long[] offsets; // partition p is [offsets[p], offsets[p + 1])
    int leases;
    boolean removed;

    Output(PinnedPool.Piece piece, long[] offsets) {
      this.piece = piece;
      this.offsets = offsets;
    }
  }

  private final PinnedPool pool;
  private final TransportMetrics metrics;
  private final Map<Key, Output> outputs = new HashMap<>();
  /** Pins copying now: {@link #close()} waits for them before it frees their memory. */
  private final UseCount pins = new UseCount(() -> "pinned map outputs");
  private boolean closed;

  PinnedMapOutputs(PinnedPool pool, TransportMetrics metrics) {
    this.pool = pool;
    this.metrics = metrics;
  }

  /**
   * Copies a committed map output into registered memory if the budget allows; returns whether it
   * did. {@code lengths} are the committed partition lengths (Spark's resolver replaces them with
   * an earlier attempt's when that attempt's output won).
   */
  boolean pin(int shuffleId, long mapId, File data, long[] lengths) throws IOException {
    if (!pins.tryEnter()) {
      return false; // closed
    }
    try {
      return pinWhileOpen(shuffleId, mapId, data, lengths);
    } finally {
      pins.exit();
    }
  }

  private boolean pinWhileOpen(int shuffleId, long mapId, File data, long[] lengths) throws IOException {
    long[] offsets = new long[lengths.length + 1];
    for (int p = 0; p < lengths.length; p++) {
      offsets[p + 1] = offsets[p] + lengths[p];
    }
    long total = offsets[lengths.length];
    if (total == 0) {
      return false;
    }
    // Not under this object's lock: a new slab's registration takes a while (it pins pages on
    // EFA), and the progress thread publishes under this lock. A closed pool allocates nothing.
    PinnedPool.Piece piece = pool.allocate(total);
    if (piece == null) {
      return false;
    }
    try (FileChannel channel = FileChannel.open(data.toPath(), StandardOpenOption.READ)) {
      if (channel.size() != total) {
        throw new IOException("data file " + data + " has " + channel.size() + " bytes, its index says " + total);
      }
      for (long done = 0; done < total; ) {
        ByteBuffer target = piece.slab().view(piece.offset() + done, (int) Math.min(COPY_CHUNK, total - done));
        while (target.hasRemaining()) {
          if (channel.read(target, done + target.position()) < 0) {
            throw new IOException("data file " + data + " ended early");
          }
        }
        done += target.capacity();
      }
    } catch (IOException | RuntimeException e) {
      synchronized (this) {
        freePiece(piece);
      }
      throw e;
    }
    synchronized (this) {
      if (closed) {
        freePiece(piece);
        return false;
      }
      Output previous = outputs.put(new Key(shuffleId, mapId), new Output(piece, offsets));
      if (previous != null) {
        retire(previous);
      }
      updateGauges();
    }
    return true;
  }

  /** A lease on the block's bytes, or null when that output is not pinned (then read it from disk). */
  synchronized BlockSource.PublishedBlock publish(BlockRef ref) {
    Output output = outputs.get(new Key(ref.shuffleId(), ref.mapId()));
    if (output == null || ref.endReduceId() >= output.offsets.length || ref.startReduceId() > ref.endReduceId()) {
      return null;
    }
    long start = output.offsets[ref.startReduceId()];
    long length = output.offsets[ref.endReduceId()] - start;
    output.leases++;
    return BlockSource.PublishedBlock.of(output.piece.remoteAddress(start), length, output.piece.key(),
        () -> endLease(output));
  }

  private synchronized void endLease(Output output) {
    output.leases--;
    if (output.removed && output.leases == 0) {
      freePiece(output.piece);
    }
  }

  /** Forgets a map output (its shuffle was unregistered or its files removed). */
  synchronized void remove(int shuffleId, long mapId) {
    Output output = outputs.remove(new Key(shuffleId, mapId));
    if (output != null) {
      retire(output);
    }
  }

  private void retire(Output output) {
    output.removed = true;
    if (output.leases == 0) {
      freePiece(output.piece);
    }
  }

  private void freePiece(PinnedPool.Piece piece) {
    pool.free(piece);
    updateGauges();
  }

  private void updateGauges() {
    metrics.pinnedBytes.set(pool.pinnedBytes());
    metrics.peakPinnedBytes.accumulateAndGet(pool.peakPinnedBytes(), Math::max);
  }

  synchronized int pinnedOutputs() {
    return outputs.size();
  }

  /**
   * Refuses new pins, waits for those copying (not under this object's lock: they take it to
   * publish), frees every output (a leased one when its lease closes) and closes the pool.
   */
  @Override
  public void close() {
    pins.close();
    synchronized (this) {
      if (!closed) {
        closed = true;
        outputs.values().forEach(this::retire);
        outputs.clear();
        pool.close();
        updateGauges();
      }
    }
  }
}
