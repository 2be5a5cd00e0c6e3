package org.efashuffle.fabric;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Runtime;

/**
 * Loads the shim: from {@value #PATH_PROPERTY} when set, else extracted from this jar's
 * {@code META-INF/native/linux-ARCH/libefafabric.so} into {@value #WORKDIR_PROPERTY} (default
 * {@code java.io.tmpdir}) and deleted once loaded. Loading is eager: every symbol is bound now,
 * so a missing one fails here with one clear cause, not at first call.
 */
final class NativeLibrary {
  static final String PATH_PROPERTY = "efashuffle.native.library";
  static final String WORKDIR_PROPERTY = "efashuffle.native.workdir";
  static final String LIBRARY_NAME = "libefafabric.so";
  static final String X86ASM_PROPERTY = "jnr.ffi.x86asm.enabled";

  final LibFabricShim.Api shim;
  final Runtime runtime;

  private NativeLibrary(LibFabricShim.Api shim) {
    this.shim = shim;
    this.runtime = Runtime.getRuntime(shim);
  }

  static NativeLibrary load() {
    String configured = System.getProperty(PATH_PROPERTY);
    if (configured != null && !configured.isEmpty()) {
      Path path = Paths.get(configured);
      if (!Files.isRegularFile(path)) {
        throw new IllegalStateException(
            "native library " + path + " (from -D" + PATH_PROPERTY + ") does not exist");
      }
      return bind(path);
    }
    Path extracted = extract();
    try {
      return bind(extracted);
    } finally {
      try {
        Files.deleteIfExists(extracted);
      } catch (IOException ignored) {
        // the mapping stays valid; the file is removed on the next reboot of tmp at worst
      }
    }
  }

  static String resourcePath() {
    String os = System.getProperty("os.name").toLowerCase(Locale.ROOT);
    if (!os.contains("linux")) {
      throw new IllegalStateException("efa-shuffle's native bridge runs on Linux only, not " + os);
    }
    return "META-INF/native/linux-" + System.getProperty("os.arch") + "/" + LIBRARY_NAME;
  }

  private static Path extract() {
    String resource = resourcePath();
    Path dir = Paths.get(System.getProperty(WORKDIR_PROPERTY, System.getProperty("java.io.tmpdir")));
    try (InputStream in = NativeLibrary.class.getClassLoader().getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException(
            resource + " is not on the class path: this jar was built for another platform");
      }
      Path file = Files.createTempFile(dir, "libefafabric", ".so");
      Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
      return file;
    } catch (IOException e) {
      throw new IllegalStateException(
          "cannot extract " + resource + " into " + dir + " (set -D" + WORKDIR_PROPERTY
              + " to a writable directory): " + e, e);
    }
  }

  private static NativeLibrary bind(Path path) {
    // jnr-ffi 2.2.17's generated x86-64 stubs pass a wrong sixth argument (efab_send's context
    // came back as garbage); its plain jffi invokers are correct. Must be set before jnr loads.
    if (System.getProperty(X86ASM_PROPERTY) == null) {
      System.setProperty(X86ASM_PROPERTY, "false");
    }
    keepJvmSignalHandlers();
    try {
      LibFabricShim.Api shim = LibraryLoader.create(LibFabricShim.Api.class)
          .failImmediately()
          .load(path.toAbsolutePath().toString());
      return new NativeLibrary(shim);
    } catch (UnsatisfiedLinkError e) {
      throw new IllegalStateException(explain(path, String.valueOf(e.getMessage())), e);
    }
  }

  /** The part of libc used before libfabric loads. */
  public interface LibC {
    int setenv(String name, String value, int overwrite);
  }

  /**
   * Debian's libfabric links libinfinipath (for the psm provider), whose constructor replaces the
   * SIGSEGV handler with one that prints a backtrace and exits, unless IPATH_NO_BACKTRACE is set.
   * The JVM raises SIGSEGV on purpose (implicit null checks, safepoint polls), so that handler
   * kills the JVM at random. Set the variable in this process before libfabric is loaded.
   */
  private static void keepJvmSignalHandlers() {
    LibC libc = LibraryLoader.create(LibC.class).failImmediately().load("c");
    if (libc.setenv("IPATH_NO_BACKTRACE", "1", 0) != 0) {
      throw new IllegalStateException("setenv(IPATH_NO_BACKTRACE) failed");
    }
  }

  private static String explain(Path path, String error) {
    if (error.contains("libfabric.so")) {
      return "libfabric is not installed or not on the library path (Debian: apt-get install "
          + "libfabric1; EFA hosts: LD_LIBRARY_PATH=/opt/amazon/efa/lib): " + error;
    }
    if (error.contains("failed to map segment") || error.contains("Operation not permitted")) {
      return "cannot map " + path + ": its directory may be mounted noexec (set -D"
          + WORKDIR_PROPERTY + " to another directory): " + error;
    }
    return "cannot load " + path + ": " + error;
  }
}
