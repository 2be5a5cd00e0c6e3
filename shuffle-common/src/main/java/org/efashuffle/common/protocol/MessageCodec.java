package org.efashuffle.common.protocol;

import java.nio.BufferOverflowException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Binary form of {@link Message}s: a header (magic, version, type, request id) and the body.
 * Big-endian, fixed-width fields; every length and field is checked on decode (and the message
 * must fill its bytes exactly) so a corrupt, foreign or hostile message is refused with a
 * {@link ProtocolException}, never misread.
 */
public final class MessageCodec {
  static final int MAGIC = 0xEFA5_0001;
  static final byte VERSION = 3; // 2: an answer carries the server's address; 3: inline blocks
  static final int HEADER_SIZE = 4 + 1 + 1 + 8;
  static final int BLOCK_REF_SIZE = 4 + 8 + 4 + 4;
  static final int LOCATION_SIZE = 1 + 8 + 8 + 8;
  static final int MAX_ADDRESS = 1024;

  private static final byte FETCH_REQUEST = 1;
  private static final byte FETCH_ANSWER = 2;
  private static final byte FETCH_DONE = 3;

  private MessageCodec() {}

  /**
   * How many blocks one request may name so that it and its answer (with no block inline) fit
   * {@code maxMessage} bytes, each carrying an address of {@code addressLength} bytes.
   */
  public static int maxBlocksPerRequest(int maxMessage, int addressLength) {
    int forRequest = (maxMessage - HEADER_SIZE - 2 - addressLength - 4 - 4) / BLOCK_REF_SIZE;
    int forAnswer = (maxMessage - answerSize(addressLength, 0, 0)) / LOCATION_SIZE;
    return Math.min(forRequest, forAnswer);
  }

  /** The encoded size of an answer with {@code locations} locations and {@code inlineBytes} bytes inline. */
  public static int answerSize(int addressLength, int locations, int inlineBytes) {
    return HEADER_SIZE + 2 + addressLength + 4 + locations * LOCATION_SIZE + 4 + inlineBytes;
  }

  /** Writes the message at the buffer's position; returns its length. */
  public static int encode(Message message, ByteBuffer out) {
    int start = out.position();
    try {
      out.putInt(MAGIC).put(VERSION);
      if (message instanceof Message.FetchRequest r) {
        out.put(FETCH_REQUEST).putLong(r.requestId());
        out.putShort((short) r.replyAddress().length).put(r.replyAddress());
        out.putInt(r.inlineBytes());
        out.putInt(r.blocks().size());
        for (BlockRef b : r.blocks()) {
          out.putInt(b.shuffleId()).putLong(b.mapId()).putInt(b.startReduceId()).putInt(b.endReduceId());
        }
      } else if (message instanceof Message.FetchAnswer a) {
        out.put(FETCH_ANSWER).putLong(a.requestId());
        out.putShort((short) a.serverAddress().length).put(a.serverAddress());
        out.putInt(a.locations().size());
        for (BlockLocation l : a.locations()) {
          out.put((byte) l.status().ordinal()).putLong(l.remoteAddress()).putLong(l.length()).putLong(l.key());
        }
        out.putInt(a.inline().length).put(a.inline());
      } else if (message instanceof Message.FetchDone d) {
        out.put(FETCH_DONE).putLong(d.requestId());
      }
    } catch (BufferOverflowException e) {
      throw new IllegalArgumentException("message does not fit " + (out.limit() - start) + " bytes: " + message, e);
    }
    return out.position() - start;
  }

  /** Reads one message from the buffer's remaining bytes, which it must fill exactly. */
  public static Message decode(ByteBuffer in) {
    try {
      Message message = decodeMessage(in);
      if (in.hasRemaining()) {
        throw new ProtocolException(in.remaining() + " bytes after the message");
      }
      return message;
    } catch (BufferUnderflowException e) {
      throw new ProtocolException("truncated message");
    } catch (IllegalArgumentException e) {
      throw new ProtocolException("invalid message: " + e.getMessage());
    }
  }

  private static Message decodeMessage(ByteBuffer in) {
    int magic = in.getInt();
    if (magic != MAGIC) {
      throw new ProtocolException("not an efa-shuffle message (magic 0x" + Integer.toHexString(magic) + ")");
    }
    byte version = in.get();
    if (version != VERSION) {
      throw new ProtocolException("protocol version " + version + " from peer, this executor speaks " + VERSION);
    }
    byte type = in.get();
    long requestId = in.getLong();
    switch (type) {
      case FETCH_REQUEST: {
        byte[] address = address(in, "reply");
        int inlineBytes = in.getInt();
        if (inlineBytes < 0) {
          throw new ProtocolException("a negative inline byte budget " + inlineBytes);
        }
        int count = count(in, BLOCK_REF_SIZE);
        List<BlockRef> blocks = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
          blocks.add(new BlockRef(in.getInt(), in.getLong(), in.getInt(), in.getInt()));
        }
        return new Message.FetchRequest(requestId, address, blocks, inlineBytes);
      }
      case FETCH_ANSWER: {
        byte[] address = address(in, "server");
        int count = count(in, LOCATION_SIZE);
        List<BlockLocation> locations = new ArrayList<>(count);
        BlockLocation.Status[] statuses = BlockLocation.Status.values();
        for (int i = 0; i < count; i++) {
          int status = in.get();
          if (status < 0 || status >= statuses.length) {
            throw new ProtocolException("unknown block status " + status);
          }
          locations.add(new BlockLocation(statuses[status], in.getLong(), in.getLong(), in.getLong()));
        }
        int inlineBytes = count(in, 1);
        byte[] inline = new byte[inlineBytes];
        in.get(inline);
        return new Message.FetchAnswer(requestId, address, locations, inline);
      }
      case FETCH_DONE:
        return new Message.FetchDone(requestId);
      default:
        throw new ProtocolException("unknown message type " + type);
    }
  }

  private static byte[] address(ByteBuffer in, String whose) {
    int length = in.getShort() & 0xffff;
    if (length == 0 || length > MAX_ADDRESS) {
      throw new ProtocolException("a " + whose + " address of " + length + " bytes");
    }
    byte[] address = new byte[length];
    in.get(address);
    return address;
  }

  private static int count(ByteBuffer in, int entrySize) {
    int count = in.getInt();
    if (count < 0 || (long) count * entrySize > in.remaining()) {
      throw new ProtocolException("message claims " + count + " entries but holds " + in.remaining() + " bytes");
    }
    return count;
  }
}
