package org.efashuffle.fabric;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The progress thread polls after activity only where the JVM has cores to spare. */
class EndpointConfigTest {
  @Test
  void progressThreadsPollAfterActivityOnlyWithFourOrMoreProcessors() {
    assertEquals(Duration.ZERO, EndpointConfig.defaultSpin(1));
    assertEquals(Duration.ZERO, EndpointConfig.defaultSpin(2));
    assertEquals(Duration.ZERO, EndpointConfig.defaultSpin(3));
    assertEquals(Duration.ofMillis(1), EndpointConfig.defaultSpin(4));
    assertEquals(Duration.ofMillis(1), EndpointConfig.defaultSpin(96));
    assertEquals(EndpointConfig.defaultSpin(Runtime.getRuntime().availableProcessors()),
        EndpointConfig.defaults().spin());
  }
}
