package org.efashuffle.spark;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import org.apache.spark.shuffle.IndexShuffleBlockResolver;
import org.efashuffle.common.protocol.BlockRef;
import org.efashuffle.fabric.FabricDomain;
import org.efashuffle.transport.BlockSource;
import org.efashuffle.transport.PinnedPool;
import org.efashuffle.transport.RegisteredArena;
import org.efashuffle.fabric.UseCount;

/**
 * Serves this executor's map outputs to fabric readers: from registered memory where the output
 * was pinned at commit ({@link PinnedMapOutputs}, within {@code spark.shuffle.efa.memory.mapOutputBytes}),
 * else staged from Spark's data and index files into the bounded staging arena for the time of
 * one read. A block that does not fit the staging arena at the moment is refused, and its reader
 * fetches it over Netty. Owns the pinned outputs and the staging arena; closes both.
 */
final class MapOutputBlocks implements BlockSource, AutoCloseable {
  /** Registration unit of the map-output pool; a larger output gets a registration of its own. */
  private static final long SLAB_BYTES = 32L << 20;

  private final IndexShuffleBlockResolver resolver;
  private final RegisteredArena arena;
  private final PinnedMapOutputs pinned;
  private final TransportMetrics metrics = TransportMetrics.get();
  /** Stagings writing into the arena now: {@link #close()} waits for them before it frees the arena. */
  private final UseCount staging = new UseCount(() -> "staging of map output blocks");

  MapOutputBlocks(IndexShuffleBlockResolver resolver, FabricDomain domain, MapOutputMemory memory) {
    this.resolver = resolver;
    this.arena = new RegisteredArena(domain, memory.stagingBytes(), RegisteredArena.Access.REMOTE_READ);
    long pinnedBytes = memory.pinnedBytes();
    this.pinned = new PinnedMapOutputs(PinnedPool.shrinking(domain, pinnedBytes, Math.min(SLAB_BYTES, pinnedBytes)),
        memory.mapFiles() ? domain : null, metrics);
  }

  PinnedMapOutputs pinned() {
    return pinned;
  }

  @Override
  public PublishedBlock publishFromMemory(BlockRef block) {
    PublishedBlock fromMemory = pinned.publish(block);
    if (fromMemory != null) {
      metrics.servedPinned.incrementAndGet();
    }
    return fromMemory;
  }

  @Override
  public PublishedBlock publish(BlockRef block) {
    if (!staging.tryEnter()) {
      throw new IllegalStateException("closed: " + block + " is not staged");
    }
    PublishedBlock staged;
    try {
      staged = stage(block);
    } finally {
      staging.exit();
    }
    if (staged != null) {
      metrics.servedStaged.incrementAndGet();
    }
    return staged;
  }

  private PublishedBlock stage(BlockRef block) {
    File index = resolver.getIndexFile(block.shuffleId(), block.mapId(), scala.Option.empty());
    File data = resolver.getDataFile(block.shuffleId(), block.mapId());
    if (!index.exists() || !data.exists()) {
      return null;
    }
    try (FileChannel indexChannel = FileChannel.open(index.toPath(), StandardOpenOption.READ);
         FileChannel dataChannel = FileChannel.open(data.toPath(), StandardOpenOption.READ)) {
      ByteBuffer offsets = ByteBuffer.allocate(16);
      long numOffsets = indexChannel.size() / 8;
      if (block.endReduceId() >= numOffsets) {
        return null;
      }
      long start = readLong(indexChannel, 8L * block.startReduceId(), offsets);
      long end = readLong(indexChannel, 8L * block.endReduceId(), offsets);
      long length = end - start;
      if (length < 0 || end > dataChannel.size()) {
        throw new IllegalStateException("index " + index + " gives [" + start + ", " + end + ") for "
            + block + " but the data file has " + dataChannel.size() + " bytes");
      }
      if (length > Integer.MAX_VALUE) {
        throw new IllegalStateException(block + " has " + length + " bytes, more than one staging read");
      }
      long offset = arena.allocate(Math.max(1, length));
      if (offset < 0) {
        throw new IllegalStateException("staging memory full (" + arena.used() + " of "
            + arena.capacity() + " bytes in use)");
      }
      try {
        ByteBuffer target = arena.view(offset, (int) length);
        while (target.hasRemaining()) {
          if (dataChannel.read(target, start + target.position()) < 0) {
            throw new IOException("data file " + data + " ended early");
          }
        }
      } catch (IOException | RuntimeException e) {
        arena.free(offset, Math.max(1, length));
        throw e;
      }
      long size = Math.max(1, length);
      return PublishedBlock.of(arena.remoteAddress(offset), length, arena.key(),
          () -> arena.view(offset, (int) length), () -> arena.free(offset, size));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot stage " + block, e);
    }
  }

  /**
   * Frees the pinned outputs and the staging arena, once the stagings and pins under way are done.
   * The transport closes it after its endpoint (no peer reads any more) and before its domain.
   * Idempotent.
   */
  @Override
  public void close() {
    staging.close();
    try {
      pinned.close();
    } finally {
      arena.close();
    }
  }

  private static long readLong(FileChannel channel, long position, ByteBuffer buf) throws IOException {
    buf.clear().limit(8);
    while (buf.hasRemaining()) {
      if (channel.read(buf, position + buf.position()) < 0) {
        throw new IOException("index file ended early");
      }
    }
    return buf.getLong(0);
  }
}
