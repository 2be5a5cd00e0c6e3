package org.efashuffle.fabric;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/** After each test: every native object the bridge opened (domains, endpoints, registrations, memory) is closed. */
final class NoNativeLeaks implements AfterEachCallback {
  @Override
  public void afterEach(ExtensionContext context) {
    Fabric.OpenObjects open = Fabric.openObjects();
    assertTrue(open.isZero(), "native objects still open after " + context.getDisplayName() + ": " + open);
  }
}
