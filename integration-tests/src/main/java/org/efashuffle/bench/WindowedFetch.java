package org.efashuffle.bench;

import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32;
import org.apache.spark.network.buffer.ManagedBuffer;
import org.apache.spark.network.shuffle.BlockFetchingListener;
import org.apache.spark.network.shuffle.BlockStoreClient;

/**
 * Fetches blocks of one peer through a {@link BlockStoreClient} as Spark's fetch iterator does:
 * requests of a few blocks each, at most a fixed number of blocks in flight, each delivered
 * buffer handed to the fetching (task) thread, which releases it and issues the next request.
 *
 * <p>Buffers: a client releases what it passes to {@code onBlockFetchSuccess} once the call
 * returns (Netty's chunk handler and efa-shuffle's client alike); the listener here retains each
 * one, and the fetching thread releases it after reading its size (and checksum when asked).
 */
final class WindowedFetch {
  /** How long one block may take before the measurement fails (a lost block, not a slow one). */
  private static final long BLOCK_TIMEOUT_SECONDS = 120;

  private final BlockStoreClient client;
  private final String host;
  private final int port;
  private final String execId;

  WindowedFetch(BlockStoreClient client, String host, int port, String execId) {
    this.client = client;
    this.host = host;
    this.port = port;
    this.execId = execId;
  }

  /**
   * @param bytes bytes delivered
   * @param nanos from the first request to the last block released
   * @param latencies per block, from its request's issue to its delivery (ns), in delivery order
   * @param checksums CRC32 of each block's bytes by block id (empty unless asked)
   */
  record Measurement(long bytes, long nanos, long[] latencies, Map<String, Long> checksums) {}

  private record Delivery(String blockId, ManagedBuffer buffer, long issuedAt, long deliveredAt, Throwable error) {}

  /**
   * Fetches {@code fetches} blocks, cycling over {@code blockIds}, {@code perRequest} to a
   * request, with at most {@code inFlight} blocks requested and not yet delivered.
   */
  Measurement run(String[] blockIds, int fetches, int inFlight, int perRequest, boolean checksum)
      throws InterruptedException {
    if (perRequest < 1 || inFlight < perRequest) {
      throw new IllegalArgumentException("blocks in flight (" + inFlight + ") must be at least the blocks per request ("
          + perRequest + "), at least 1");
    }
    BlockingQueue<Delivery> delivered = new LinkedBlockingQueue<>();
    long[] latencies = new long[fetches];
    Map<String, Long> checksums = new HashMap<>();
    int issued = 0;
    int done = 0;
    int outstanding = 0;
    long bytes = 0;
    long start = System.nanoTime();
    try {
      while (done < fetches) {
        while (issued < fetches && outstanding + Math.min(perRequest, fetches - issued) <= inFlight) {
          int n = Math.min(perRequest, fetches - issued);
          String[] ids = new String[n];
          for (int i = 0; i < n; i++) {
            ids[i] = blockIds[(issued + i) % blockIds.length];
          }
          issued += n;
          outstanding += n;
          client.fetchBlocks(host, port, execId, ids, listener(delivered, System.nanoTime()), null);
        }
        Delivery d = delivered.poll(BLOCK_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        if (d == null) {
          throw new IllegalStateException("no block delivered by " + client.getClass().getSimpleName() + " from executor "
              + execId + " within " + BLOCK_TIMEOUT_SECONDS + " s (" + done + " of " + fetches + " delivered)");
        }
        if (d.error != null) {
          throw new IllegalStateException(client.getClass().getSimpleName() + " failed to fetch " + d.blockId
              + " from executor " + execId, d.error);
        }
        try {
          latencies[done] = d.deliveredAt - d.issuedAt;
          bytes += d.buffer.size();
          if (checksum) {
            checksums.put(d.blockId, crc32(d.buffer));
          }
        } finally {
          d.buffer.release();
        }
        outstanding--;
        done++;
      }
      return new Measurement(bytes, System.nanoTime() - start, latencies, checksums);
    } finally {
      // On failure, blocks still to come (at most issued - done) are released as they arrive.
      drainLater(delivered, issued - done);
    }
  }

  /** CRC32 of a buffer's bytes (reads a view; the buffer's own position is untouched). */
  static long crc32(ManagedBuffer buffer) {
    try {
      ByteBuffer bytes = buffer.nioByteBuffer();
      CRC32 crc = new CRC32();
      crc.update(bytes);
      return crc.getValue();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static BlockFetchingListener listener(BlockingQueue<Delivery> delivered, long issuedAt) {
    return new BlockFetchingListener() {
      @Override
      public void onBlockFetchSuccess(String blockId, ManagedBuffer data) {
        long now = System.nanoTime();
        data.retain(); // released by the fetching thread
        delivered.add(new Delivery(blockId, data, issuedAt, now, null));
      }

      @Override
      public void onBlockFetchFailure(String blockId, Throwable exception) {
        delivered.add(new Delivery(blockId, null, issuedAt, System.nanoTime(), exception));
      }
    };
  }

  /** After a failed measurement: releases the {@code pending} deliveries still to come, off this thread. */
  private static void drainLater(BlockingQueue<Delivery> delivered, int pending) {
    if (pending <= 0) {
      return;
    }
    Thread t = new Thread(() -> {
      for (int left = pending; left > 0; left--) {
        try {
          Delivery d = delivered.poll(BLOCK_TIMEOUT_SECONDS, TimeUnit.SECONDS);
          if (d == null) {
            return;
          }
          if (d.buffer != null) {
            d.buffer.release();
          }
        } catch (InterruptedException e) {
          return;
        }
      }
    }, "block-fetch-benchmark-drain");
    t.setDaemon(true);
    t.start();
  }
}
