package org.efashuffle.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.efashuffle.common.protocol.BlockLocation;
import org.efashuffle.common.protocol.BlockRef;
import org.efashuffle.fabric.EndpointConfig;
import org.efashuffle.fabric.Fabric;
import org.efashuffle.fabric.MemoryRegion;
import org.efashuffle.fabric.NativeMemory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Fetches whose blocks go into files (Spark's fetch-to-disk) rather than memory: read in bounded
 * pieces, every byte in place, leases released; and a block over 2 GiB, which no in-memory buffer
 * holds, arrives in its file whole, while a fetch with no file to put it in refuses it (its
 * reader falls back) instead of handing over a block that fails when read.
 */
class BlockSinksTest {
  @TempDir
  Path dir;

  @AfterEach
  void nothingLeaks() {
    assertTrue(Fabric.openObjects().isZero(), "native objects still open: " + Fabric.openObjects());
  }

  /** Files, one per block, that the test owns and closes. */
  final class Files1 implements BlockSinks, AutoCloseable {
    final Map<BlockRef, FileChannel> open = new ConcurrentHashMap<>();

    @Override
    public FileChannel open(BlockRef ref, long length) throws IOException {
      FileChannel channel = FileChannel.open(dir.resolve(ref.shuffleId() + "_" + ref.mapId() + "_" + ref.startReduceId()
          + "_" + ref.endReduceId()), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, StandardOpenOption.READ);
      open.put(ref, channel);
      return channel;
    }

    @Override
    public void close() throws IOException {
      for (FileChannel c : open.values()) {
        c.close();
      }
    }
  }

  @ParameterizedTest
  @MethodSource("org.efashuffle.transport.FabricTransportTest#providers")
  void blocksGoIntoTheirFilesInPiecesWithEveryByte(String provider, String domain) throws Exception {
    long poolBytes = 16L << 20;
    try (FabricTransportTest.MapOutputs outputs = new FabricTransportTest.MapOutputs(new Random(11));
         FabricTransport server = FabricTransport.open(provider, domain, EndpointConfig.defaults(), d -> outputs);
         FabricTransport client = FabricTransport.open(provider, domain,
             TransportOptions.of(EndpointConfig.defaults()).withReceivePoolBytes(poolBytes), d -> b -> null);
         Files1 files = new Files1()) {
      outputs.region = server.domain().register(outputs.memory);
      int published = 0;
      for (int m = 0; m < FabricTransportTest.MAPS; m += 4) {
        List<BlockRef> refs = new ArrayList<>();
        for (int p = 0; p + 3 <= FabricTransportTest.PARTITIONS; p += 3) {
          refs.add(new BlockRef(0, m, p, p + 3)); // up to 3 MiB: several pieces when large
        }
        refs.add(BlockRef.of(0, FabricTransportTest.MAPS + 1, 0)); // not on the server
        List<FetchedBlock> blocks = client.fetch(server.address(), refs, files).get(120, TimeUnit.SECONDS);
        for (int i = 0; i < refs.size(); i++) {
          BlockRef ref = refs.get(i);
          FetchedBlock b = blocks.get(i);
          if (ref.mapId() >= FabricTransportTest.MAPS) {
            assertEquals(BlockLocation.Status.NOT_FOUND, b.status());
            continue;
          }
          published++;
          long start = outputs.offsets[m][ref.startReduceId()];
          long length = outputs.offsets[m][ref.endReduceId() - 1] + outputs.sizes[m][ref.endReduceId() - 1] - start;
          assertEquals(BlockLocation.Status.OK, b.status(), ref.toString());
          assertEquals(length, b.length(), ref.toString());
          if (length == 0) {
            assertEquals(0, b.data().remaining());
            continue;
          }
          assertTrue(b.inSink(), ref + " went to its file");
          FileChannel file = files.open.get(ref);
          ByteBuffer bytes = ByteBuffer.allocate((int) file.size());
          file.read(bytes, 0);
          FabricTransportTest.MapOutputs.assertBytes(bytes.flip(), start, length, ref);
        }
        blocks.forEach(FetchedBlock::release);
        assertTrue(client.receivePoolBytes() <= poolBytes, "receive pool " + client.receivePoolBytes());
      }
      assertTrue(outputs.closed.tryAcquire(published, 30, TimeUnit.SECONDS), "server released every lease");
      assertEquals(0, server.leasedBlocks());
    }
  }

  /** 2 GiB + 4 MiB + 5 bytes: more than one ByteBuffer, and a last piece shorter than the rest. */
  static final long HUGE = (2L << 30) + (4L << 20) + 5;

  /** The byte at i: byte (i % 8) of the little-endian word i / 8 (each word different: a misplaced piece shows). */
  static long word(long w) {
    return w * 0x9E3779B97F4A7C15L + 0x632BE59BD9B4E019L;
  }

  /**
   * tcp;ofi_rxm only (its target checks keys and bounds as EFA does; one provider keeps the test's
   * 2 GiB of registered memory and 2 GiB file to one run).
   */
  @Test
  void aBlockOverTwoGibArrivesWholeInItsFileAndIsRefusedWithoutOne() throws Exception {
    String provider = "tcp;ofi_rxm";
    String domain = "lo";
    BlockRef ref = BlockRef.of(0, 0, 0);
    java.util.concurrent.Semaphore released = new java.util.concurrent.Semaphore(0);
    try (NativeMemory memory = NativeMemory.allocate(HUGE)) {
      fill(memory);
      // The server serves map 0, reduce 0 as the whole region, and counts released leases.
      try (FabricTransport server = FabricTransport.open(provider, domain, EndpointConfig.defaults(), d -> {
             MemoryRegion region = d.register(memory);
             return r -> BlockSource.PublishedBlock.of(region.remoteAddress(0), HUGE, region.key(), released::release);
           });
           FabricTransport client = FabricTransport.open(provider, domain, EndpointConfig.defaults(), d -> b -> null)) {
        List<FetchedBlock> refused = client.fetch(server.address(), List.of(ref)).get(120, TimeUnit.SECONDS);
        assertEquals(BlockLocation.Status.UNAVAILABLE, refused.get(0).status(),
            "without a file the block is refused, not handed over to fail when read");
        refused.forEach(FetchedBlock::release);

        try (Files1 files = new Files1()) {
          List<FetchedBlock> blocks = client.fetch(server.address(), List.of(ref), files).get(600, TimeUnit.SECONDS);
          assertEquals(BlockLocation.Status.OK, blocks.get(0).status());
          assertTrue(blocks.get(0).inSink());
          assertEquals(HUGE, blocks.get(0).length());
          blocks.forEach(FetchedBlock::release);
          FileChannel file = files.open.get(ref);
          assertEquals(HUGE, file.size());
          check(file);
        }
        assertTrue(client.receivePoolBytes() <= TransportOptions.DEFAULT_RECEIVE_POOL_BYTES);
        assertTrue(released.tryAcquire(2, 30, TimeUnit.SECONDS), "the server released both leases");
        assertEquals(0, server.leasedBlocks());
      }
    }
  }

  private static void fill(NativeMemory memory) {
    for (long from = 0; from < HUGE; from += 1L << 30) {
      int n = (int) Math.min(1L << 30, memory.size() - from);
      ByteBuffer view = memory.byteBuffer(from, n).order(ByteOrder.LITTLE_ENDIAN);
      for (int k = 0; k + 8 <= n; k += 8) {
        view.putLong(k, word((from + k) / 8));
      }
    }
  }

  private static void check(FileChannel file) throws IOException {
    long full = HUGE / 8 * 8;
    for (long from = 0; from < full; from += 1L << 30) {
      long n = Math.min(1L << 30, full - from);
      ByteBuffer view = file.map(FileChannel.MapMode.READ_ONLY, from, n).order(ByteOrder.LITTLE_ENDIAN);
      for (int k = 0; k < n; k += 8) {
        if (view.getLong(k) != word((from + k) / 8)) {
          throw new AssertionError("wrong bytes at " + (from + k));
        }
      }
    }
    ByteBuffer tail = ByteBuffer.allocate((int) (HUGE - full));
    file.read(tail, full);
    long last = word(full / 8);
    for (int k = 0; k < tail.capacity(); k++) {
      assertEquals((byte) (last >>> (8 * k)), tail.get(k), "tail byte " + k);
    }
  }
}
