package org.efashuffle.spark;

import java.io.IOException;
import java.lang.reflect.Field;
import java.nio.channels.WritableByteChannel;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.SparkEnv;
import org.apache.spark.network.buffer.ManagedBuffer;
import org.apache.spark.network.shuffle.BlockFetchingListener;
import org.apache.spark.network.shuffle.BlockStoreClient;
import org.apache.spark.network.shuffle.DownloadFile;
import org.apache.spark.network.shuffle.DownloadFileManager;
import org.apache.spark.network.shuffle.DownloadFileWritableChannel;
import org.apache.spark.network.util.MapConfigProvider;
import org.apache.spark.network.util.TransportConf;
import org.efashuffle.common.protocol.BlockRef;
import org.efashuffle.transport.BlockSinks;
import org.efashuffle.transport.FetchedBlock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Spark's fetch-to-disk on the fabric: for a request Spark's fetch iterator wants on disk (it
 * passes a {@link DownloadFileManager} for requests over spark.network.maxRemoteBlockSizeFetchToMem)
 * each block is read over the fabric, in bounded pieces, into a download file that the manager
 * creates, and handed to Spark as that file, as Spark's own OneForOneBlockFetcher does. One
 * instance per fabric fetch. It owns the files it created until it hands them to Spark (which
 * then deletes them with its temp files) or deletes them itself when the fetch fails.
 */
final class DownloadFiles implements BlockSinks {
  private static final Logger LOG = LoggerFactory.getLogger(DownloadFiles.class);

  private record Download(DownloadFile file, DownloadFileWritableChannel channel) {}

  private final DownloadFileManager manager;
  private final TransportConf transportConf;
  private final Map<BlockRef, Download> downloads = new ConcurrentHashMap<>();

  private DownloadFiles(DownloadFileManager manager, TransportConf transportConf) {
    this.manager = manager;
    this.transportConf = transportConf;
  }

  /** Sinks for a request Spark wants on disk, or null when it passed no manager (the blocks go to memory). */
  static DownloadFiles forRequest(DownloadFileManager manager, BlockStoreClient netty) {
    return manager == null ? null : new DownloadFiles(manager, transportConf(netty));
  }

  @Override
  public WritableByteChannel open(BlockRef ref, long length) throws IOException {
    DownloadFile file = manager.createTempFile(transportConf);
    DownloadFileWritableChannel channel;
    try {
      channel = file.openForWriting();
    } catch (IOException | RuntimeException e) {
      file.delete();
      throw e;
    }
    downloads.put(ref, new Download(file, channel));
    return channel;
  }

  /**
   * Hands a block the fabric wrote into its file to Spark's listener; false (file deleted) when the
   * file cannot be read back, so the caller fetches the block another way.
   */
  boolean deliver(String blockId, FetchedBlock block, BlockFetchingListener listener) {
    Download download = downloads.remove(block.ref());
    if (download == null) {
      throw new IllegalStateException(block.ref() + " came back as read into a file that was never opened");
    }
    ManagedBuffer data;
    try {
      data = download.channel().closeAndRead();
    } catch (IOException | RuntimeException e) {
      LOG.warn("cannot read back the download file {} of {}; fetching it over Netty", download.file().path(),
          blockId, e);
      download.file().delete();
      return false;
    }
    listener.onBlockFetchSuccess(blockId, data);
    // As Spark's OneForOneBlockFetcher: Spark deletes registered files with the task's temp files.
    if (!manager.registerTempFileToClean(download.file())) {
      download.file().delete();
    }
    return true;
  }

  /** Closes and deletes every file not handed to Spark (the fetch failed, or some blocks were not served). */
  void discard() {
    for (BlockRef ref : downloads.keySet()) {
      Download d = downloads.remove(ref);
      if (d != null) {
        try {
          d.channel().close();
        } catch (IOException | RuntimeException e) {
          LOG.debug("closing download file {}", d.file().path(), e);
        }
        d.file().delete();
      }
    }
  }

  /** The transport settings of Spark's shuffle client (a download file needs them), else the shuffle module's from SparkConf. */
  private static TransportConf transportConf(BlockStoreClient netty) {
    try {
      Field field = BlockStoreClient.class.getDeclaredField("transportConf");
      field.setAccessible(true);
      TransportConf conf = (TransportConf) field.get(netty);
      if (conf != null) {
        return conf;
      }
    } catch (ReflectiveOperationException | RuntimeException e) {
      LOG.debug("Spark's shuffle client keeps no transport settings where expected; building them", e);
    }
    // The shuffle module's settings as SparkConf has them (SparkTransportConf.fromSparkConf's
    // parameters differ between Spark lines; a download file reads only plain io settings).
    Map<String, String> sparkSettings = EfaShuffleManager.settings(SparkEnv.get().conf(), "spark.");
    return new TransportConf("shuffle", new MapConfigProvider(sparkSettings));
  }
}
