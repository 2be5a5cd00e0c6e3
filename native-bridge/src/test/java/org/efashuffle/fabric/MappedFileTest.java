package org.efashuffle.fabric;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** A file's pages mapped read-only and registered: peers read the file's bytes with no copy of them. */
@ExtendWith(NoNativeLeaks.class)
class MappedFileTest {
  /** Not a whole number of pages: the last page is partly past the file's end. */
  private static final int SIZE = (3 << 20) + 17;

  @TempDir
  Path dir;

  static Stream<TestProviders.Provider> providers() {
    return TestProviders.all();
  }

  private Path patternFile(int size) throws IOException {
    byte[] bytes = new byte[size];
    for (int i = 0; i < size; i++) {
      bytes[i] = Patterns.at(i);
    }
    return Files.write(dir.resolve("data"), bytes);
  }

  @ParameterizedTest
  @MethodSource("providers")
  void aPeerReadsTheFileByteForByteEvenAfterItIsDeleted(TestProviders.Provider p) throws Exception {
    Path file = patternFile(SIZE);
    try (FabricDomain targetDomain = FabricDomain.open(p.name(), p.domain());
         FabricDomain readerDomain = FabricDomain.open(p.name(), p.domain());
         RegisteredMemory mapped = RegisteredMemory.readOnly(targetDomain, NativeMemory.mapFile(file, SIZE));
         RegisteredMemory buffer = RegisteredMemory.allocateLocal(readerDomain, SIZE)) {
      FabricEndpoint target = targetDomain.openEndpoint(EndpointConfig.defaults());
      FabricEndpoint reader = readerDomain.openEndpoint(EndpointConfig.defaults());
      long peer = reader.insertPeer(target.address());
      Files.delete(file); // Spark removes a shuffle's files while a read of them may be under way
      long[][] ranges = {{0, SIZE}, {SIZE - 1, 1}, {4095, 8193}, {(2 << 20) + 3, 65536}};
      for (long[] range : ranges) {
        long length = range[1];
        assertEquals(length, reader.read(buffer.region(), 0, length, peer, mapped.region().remoteAddress(range[0]),
            mapped.region().key()).get(10, TimeUnit.SECONDS));
        assertEquals(-1, Patterns.firstMismatch(buffer.memory(), 0, range[0], length),
            "read of " + length + " bytes at " + range[0]);
      }
    }
  }

  @Test
  void theMappingIsReadOnly() throws Exception {
    Path file = patternFile(8192);
    try (NativeMemory memory = NativeMemory.mapFile(file, 8192)) {
      assertTrue(memory.byteBuffer(0, 8192).isReadOnly());
      assertEquals(Patterns.at(4097), memory.getByte(4097));
      IllegalStateException e = assertThrows(IllegalStateException.class, () -> memory.put(0, new byte[1], 0, 1));
      assertTrue(e.getMessage().contains("read-only"), e.getMessage());
    }
    assertEquals(Patterns.at(100), Files.readAllBytes(file)[100]); // and the file is untouched
  }

  @Test
  void aFileShorterThanAskedOrMissingIsRefusedNamingIt() throws Exception {
    Path file = patternFile(4096);
    FabricException shorter = assertThrows(FabricException.class, () -> NativeMemory.mapFile(file, 4097));
    assertTrue(shorter.getMessage().contains(file.toString()), shorter.getMessage());
    Path missing = dir.resolve("missing");
    FabricException absent = assertThrows(FabricException.class, () -> NativeMemory.mapFile(missing, 10));
    assertTrue(absent.getMessage().contains(missing.toString()), absent.getMessage());
  }
}
