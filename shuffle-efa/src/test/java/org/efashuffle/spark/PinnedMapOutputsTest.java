package org.efashuffle.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.efashuffle.common.protocol.BlockLocation;
import org.efashuffle.common.protocol.BlockRef;
import org.efashuffle.fabric.EndpointConfig;
import org.efashuffle.fabric.Fabric;
import org.efashuffle.fabric.FabricDomain;
import org.efashuffle.transport.BlockSource;
import org.efashuffle.transport.FabricTransport;
import org.efashuffle.transport.FetchedBlock;
import org.efashuffle.transport.PinnedPool;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Map output files pinned into registered memory within a budget, read by a peer transport with
 * fi_read: what fits is read byte for byte from memory, what does not is refused (its reader
 * goes to disk or Netty), pinned bytes never pass the budget, and nothing stays registered.
 */
class PinnedMapOutputsTest {
  private static final int OUTPUTS = 16;
  private static final int PARTITIONS = 24;
  private static final long SLAB = 1L << 20;
  private static final long BUDGET = 4 * SLAB;

  @TempDir
  Path dir;

  /** How outputs are held: their files mapped and registered, copied, or mapped with the registration refused. */
  enum Holding { MAPPED, COPIED, MAPPING_REFUSED }

  static Stream<Arguments> providers() {
    return Stream.of(Holding.values()).flatMap(h -> Stream.of(Arguments.of("shm", null, h),
        Arguments.of("tcp;ofi_rxm", "lo", h)));
  }

  @AfterEach
  void nothingLeaks() {
    assertTrue(Fabric.openObjects().isZero(), "native objects still open: " + Fabric.openObjects());
  }


  /** A data file of random partition lengths adding up to about half a slab to a slab and a half. */
  private long[] writeOutput(Random random, long mapId, File data) throws Exception {
    long[] lengths = new long[PARTITIONS];
    long total = 0;
    for (int p = 0; p < PARTITIONS; p++) {
      lengths[p] = random.nextInt(5) == 0 ? 0 : random.nextInt((int) SLAB / PARTITIONS * 3);
      total += lengths[p];
    }
    byte[] bytes = new byte[(int) total];
    for (int i = 0; i < bytes.length; i++) {
      bytes[i] = MapOutputFiles.expected(mapId, i);
    }
    Files.write(data.toPath(), bytes);
    return lengths;
  }

  @ParameterizedTest
  @MethodSource("providers")
  void outputsWithinTheBudgetAreReadFromRegisteredMemoryAndNothingStaysPinned(String provider, String domain,
      Holding holding) throws Exception {
    Random random = new Random(11);
    PinnedMapOutputs[] pinned = new PinnedMapOutputs[1];
    PinnedPool[] pool = new PinnedPool[1];
    FabricDomain refusing = FabricDomain.open(provider, domain);
    refusing.close(); // registers nothing: a provider that refuses read-only pages
    try (FabricTransport server = FabricTransport.open(provider, domain, EndpointConfig.defaults(), d -> {
          pool[0] = PinnedPool.shrinking(d, BUDGET, SLAB);
          FabricDomain mapOnto = switch (holding) {
            case MAPPED -> d;
            case COPIED -> null;
            case MAPPING_REFUSED -> refusing;
          };
          pinned[0] = new PinnedMapOutputs(pool[0], mapOnto, TransportMetrics.get());
          return ref -> pinned[0].publish(ref);
        });
         FabricTransport client = FabricTransport.open(provider, domain, EndpointConfig.defaults(), d -> b -> null);
         PinnedMapOutputs outputs = pinned[0]) {
      long[][] lengths = new long[OUTPUTS][];
      boolean[] isPinned = new boolean[OUTPUTS];
      long totalBytes = 0;
      for (int m = 0; m < OUTPUTS; m++) {
        File data = dir.resolve("shuffle_0_" + m + "_0.data").toFile();
        lengths[m] = writeOutput(random, m, data);
        totalBytes += data.length();
        isPinned[m] = outputs.pin(0, m, data, lengths[m]);
        assertTrue(pool[0].pinnedBytes() <= BUDGET, "pinned " + pool[0].pinnedBytes() + " > budget " + BUDGET);
      }
      assertTrue(totalBytes >= 4 * BUDGET, "the outputs are 4x the budget: " + totalBytes);
      int pinnedCount = outputs.pinnedOutputs();
      assertTrue(pinnedCount >= 2 && pinnedCount < OUTPUTS, "outputs pinned: " + pinnedCount);
      assertTrue(pool[0].peakPinnedBytes() <= BUDGET);
      long copiedBytes = pool[0].usedBytes();
      assertEquals(holding == Holding.MAPPED, copiedBytes == 0, holding + ": bytes copied into slabs: " + copiedBytes);

      for (int m = 0; m < OUTPUTS; m++) {
        List<BlockRef> refs = new ArrayList<>();
        for (int p = 0; p < PARTITIONS; p += 3) {
          refs.add(p + 2 <= PARTITIONS && m % 2 == 0 ? new BlockRef(0, m, p, p + 2) : BlockRef.of(0, m, p));
        }
        List<FetchedBlock> blocks = client.fetch(server.address(), refs).get(60, TimeUnit.SECONDS);
        for (int i = 0; i < blocks.size(); i++) {
          FetchedBlock b = blocks.get(i);
          BlockRef ref = refs.get(i);
          if (!isPinned[m]) {
            assertEquals(BlockLocation.Status.NOT_FOUND, b.status(), ref + " is not pinned");
            continue;
          }
          long start = 0;
          for (int p = 0; p < ref.startReduceId(); p++) {
            start += lengths[m][p];
          }
          long length = 0;
          for (int p = ref.startReduceId(); p < ref.endReduceId(); p++) {
            length += lengths[m][p];
          }
          ByteBuffer bytes = b.data();
          assertEquals(length, bytes.remaining(), ref.toString());
          for (int k = 0; k < length; k++) {
            if (bytes.get(k) != MapOutputFiles.expected(m, start + k)) {
              throw new AssertionError(ref + ": wrong byte at " + k);
            }
          }
        }
        blocks.forEach(FetchedBlock::release);
      }

      // A shuffle removed while a peer still reads one of its outputs keeps that memory until the read is done.
      int first = firstPinned(isPinned);
      BlockSource.PublishedBlock lease = outputs.publish(BlockRef.of(0, first, 0));
      assertNotNull(lease);
      for (int m = 0; m < OUTPUTS; m++) {
        outputs.remove(0, m);
      }
      assertNull(outputs.publish(BlockRef.of(0, first, 0)), "a removed output is not published again");
      assertTrue(pool[0].pinnedBytes() > 0, "the leased output's slab is still registered");
      lease.close();
      lease.close(); // a second close frees nothing twice
      assertEquals(0, pool[0].pinnedBytes(), "every slab deregistered once no output is left");
      assertFalse(outputs.pin(0, 99, dir.resolve("none.data").toFile(), new long[PARTITIONS]),
          "an empty output is not pinned");
    }
  }

  private static int firstPinned(boolean[] isPinned) {
    for (int m = 0; m < isPinned.length; m++) {
      if (isPinned[m]) {
        return m;
      }
    }
    throw new AssertionError("no output pinned");
  }
}
