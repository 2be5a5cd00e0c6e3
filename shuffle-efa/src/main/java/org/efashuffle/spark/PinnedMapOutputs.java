package org.efashuffle.spark;

import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.efashuffle.common.protocol.BlockRef;
import org.efashuffle.fabric.FabricDomain;
import org.efashuffle.fabric.NativeMemory;
import org.efashuffle.fabric.RegisteredMemory;
import org.efashuffle.fabric.UseCount;
import org.efashuffle.transport.BlockSource;
import org.efashuffle.transport.PinnedPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Map outputs held in registered memory from the moment they are committed, so that peers read
 * them one-sidedly with no disk I/O and no copy on this executor: the committed data file, whole,
 * with its partition offsets. Where the domain allows it ({@code mapOnto} not null) the file's own
 * page-cache pages are mapped read-only and registered (nothing copied, nothing held twice);
 * otherwise, or once a provider refuses such a registration, the file is copied into the pool's
 * registered slabs. Either way the bytes count against the pool's budget; outputs past it stay
 * only on disk (and are staged per read by {@link MapOutputBlocks}).
 *
 * <p>Ownership: this class owns every piece it took from the pool and every mapping it made. A
 * published block is a lease on its output's memory; an output removed while leased (its shuffle
 * unregistered during a read) is freed when its last lease closes, so a peer never reads memory
 * that was reused.
 */
final class PinnedMapOutputs implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(PinnedMapOutputs.class);
  private static final int COPY_CHUNK = 1 << 30;

  private record Key(int shuffleId, long mapId) {}

  /** One output's bytes: a piece of the pool (copied), or a mapping of its file (reserved against the pool's budget). */
  private static final class Output {
    final PinnedPool.Piece piece;
    final RegisteredMemory mapped;
    final long[] offsets; // partition p is [offsets[p], offsets[p + 1])
    int leases;
    boolean removed;

    Output(PinnedPool.Piece piece, RegisteredMemory mapped, long[] offsets) {
      this.piece = piece;
      this.mapped = mapped;
      this.offsets = offsets;
    }

    long remoteAddress(long within) {
      return piece != null ? piece.remoteAddress(within) : mapped.region().remoteAddress(within);
    }

    long key() {
      return piece != null ? piece.key() : mapped.region().key();
    }

    ByteBuffer view(long within, long length) {
      return piece != null ? piece.slab().view(piece.offset() + within, Math.toIntExact(length))
          : mapped.memory().byteBuffer(within, Math.toIntExact(length));
    }
  }

  private final PinnedPool pool;
  /** The domain that map output files are registered with; null once mapping is off (then outputs are copied). */
  private volatile FabricDomain mapOnto;
  private final TransportMetrics metrics;
  private final Map<Key, Output> outputs = new HashMap<>();
  /** Pins copying now: {@link #close()} waits for them before it frees their memory. */
  private final UseCount pins = new UseCount(() -> "pinned map outputs");
  private boolean closed;

  /** {@code mapOnto}: the domain to register mapped output files with, or null to copy every output. */
  PinnedMapOutputs(PinnedPool pool, FabricDomain mapOnto, TransportMetrics metrics) {
    this.pool = pool;
    this.mapOnto = mapOnto;
    this.metrics = metrics;
  }

  /**
   * Holds a committed map output in registered memory if the budget allows; returns whether it
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
    long fileSize = data.length();
    if (fileSize != total) {
      throw new IOException("data file " + data + " has " + fileSize + " bytes, its index says " + total);
    }
    // Not under this object's lock: a registration takes a while (it pins pages on EFA), and the
    // progress thread publishes under this lock. A closed pool allocates and reserves nothing.
    Output output = map(data, total, offsets);
    if (output == null) {
      output = copy(data, total, offsets);
    }
    if (output == null) {
      return false;
    }
    Output replaced = null;
    boolean refused;
    synchronized (this) {
      refused = closed;
      if (!refused) {
        Output previous = outputs.put(new Key(shuffleId, mapId), output);
        replaced = previous != null && retire(previous) ? previous : null;
      }
    }
    // Deregistration (ibv_dereg_mr on EFA) outside the lock that the progress thread publishes under.
    if (refused) {
      freeOutput(output);
      return false;
    }
    if (replaced != null) {
      freeOutput(replaced);
    }
    updateGauges();
    return true;
  }

  /**
   * The file's pages mapped and registered; null when mapping is off or the budget is spent. A
   * provider that refuses the registration turns mapping off for good (logged once); a file that
   * cannot be mapped is an IOException, as it would be to copy.
   */
  private Output map(File data, long total, long[] offsets) throws IOException {
    FabricDomain domain = mapOnto;
    if (domain == null || !pool.reserve(total)) {
      return null;
    }
    NativeMemory memory;
    try {
      memory = NativeMemory.mapFile(data.toPath(), total);
    } catch (RuntimeException e) {
      pool.unreserve(total);
      throw new IOException("cannot map data file " + data + ": " + e.getMessage(), e);
    }
    try {
      return new Output(null, RegisteredMemory.readOnly(domain, memory), offsets);
    } catch (RuntimeException e) {
      pool.unreserve(total);
      if (mapOnto != null) {
        mapOnto = null;
        LOG.warn("efa-shuffle: {} refused to register a mapped map output file ({}): {}; map outputs are "
            + "copied into registered memory from now on", domain, data, e.getMessage());
      }
      return null;
    }
  }

  /** The file copied into a piece of the pool; null when the budget is spent. */
  private Output copy(File data, long total, long[] offsets) throws IOException {
    PinnedPool.Piece piece = pool.allocate(total);
    if (piece == null) {
      return null;
    }
    try (FileChannel channel = FileChannel.open(data.toPath(), StandardOpenOption.READ)) {
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
      pool.free(piece);
      updateGauges();
      throw e;
    }
    return new Output(piece, null, offsets);
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
    return BlockSource.PublishedBlock.of(output.remoteAddress(start), length, output.key(),
        () -> output.view(start, length), () -> endLease(output));
  }

  private void endLease(Output output) {
    synchronized (this) {
      output.leases--;
      if (!output.removed || output.leases > 0) {
        return;
      }
    }
    freeOutput(output);
  }

  /** Forgets a map output (its shuffle was unregistered or its files removed). */
  void remove(int shuffleId, long mapId) {
    Output output;
    synchronized (this) {
      output = outputs.remove(new Key(shuffleId, mapId));
      if (output == null || !retire(output)) {
        return;
      }
    }
    freeOutput(output);
  }

  /**
   * Marks a forgotten output removed, under this object's lock; returns whether no lease holds it,
   * and so whether the caller frees it now (outside the lock). Else its last lease frees it.
   */
  private boolean retire(Output output) {
    output.removed = true;
    return output.leases == 0;
  }

  private void freeOutput(Output output) {
    if (output.piece != null) {
      pool.free(output.piece);
    } else {
      output.mapped.close();
      pool.unreserve(output.offsets[output.offsets.length - 1]);
    }
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
    List<Output> free = new ArrayList<>();
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      for (Output output : outputs.values()) {
        if (retire(output)) {
          free.add(output);
        }
      }
      outputs.clear();
    }
    free.forEach(this::freeOutput);
    pool.close();
    updateGauges();
  }
}
