package org.efashuffle.spark;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;

/** Spark's wire encryption keeps the (unencrypted) fabric off unless the user accepts it. */
class EncryptionRefusalTest {
  @Test
  void wireEncryptionTurnsTheFabricOffUnlessAllowed() {
    assertNull(EfaExecutorRuntime.encryptionRefusal(new SparkConf(false), Map.of()));
    for (String key : new String[] {"spark.network.crypto.enabled", "spark.ssl.rpc.enabled"}) {
      SparkConf encrypted = new SparkConf(false).set(key, "true");
      String refusal = EfaExecutorRuntime.encryptionRefusal(encrypted, Map.of());
      assertTrue(refusal != null && refusal.contains(key) && refusal.contains("spark.shuffle.efa.allowUnencrypted"),
          String.valueOf(refusal));
      assertNull(EfaExecutorRuntime.encryptionRefusal(encrypted, Map.of("spark.shuffle.efa.allowUnencrypted", "true")));
    }
  }
}
