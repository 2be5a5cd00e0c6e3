package org.efashuffle.common.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EfaShuffleConfigTest {
  private static final Path ROOT = Paths.get("..");

  @Test
  void defaultsAreWhatTheDocsSay() {
    Map<String, String> none = Map.of();
    assertEquals(EfaShuffleConfig.Transport.AUTO, EfaShuffleConfig.TRANSPORT.get(none));
    assertEquals(List.of("efa"), EfaShuffleConfig.PROVIDER.get(none));
    assertEquals(List.of(), EfaShuffleConfig.DOMAIN.get(none));
    assertEquals(128L << 20, EfaShuffleConfig.STAGING_BYTES.get(none));
    assertEquals(1L << 30, EfaShuffleConfig.MAP_OUTPUT_BYTES.get(none));
    assertEquals(120_000L, EfaShuffleConfig.TIMEOUT_MILLIS.get(none));
    assertEquals(java.util.Optional.empty(), EfaShuffleConfig.SUBNET.get(none));
    EfaShuffleConfig.validate(none);
  }

  @Test
  void aSubnetIsParsedAndABadOneNamed() {
    assertEquals(org.efashuffle.common.Subnet.parse("10.0.0.0/20"),
        EfaShuffleConfig.SUBNET.get(Map.of("spark.shuffle.efa.subnet", " 10.0.7.9/20")).orElseThrow());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> EfaShuffleConfig.validate(Map.of("spark.shuffle.efa.subnet", "10.0.0.0")));
    assertTrue(e.getMessage().contains("spark.shuffle.efa.subnet") && e.getMessage().contains("ADDRESS/PREFIX"),
        e.getMessage());
  }

  @Test
  void valuesAreParsed() {
    Map<String, String> s = Map.of(
        "spark.shuffle.efa.transport", "TCP",
        "spark.shuffle.efa.provider", "shm, tcp;ofi_rxm",
        "spark.shuffle.efa.domain", "rdmap16s27-rdm, rdmap32s27-rdm,",
        "spark.shuffle.efa.memory.stagingBytes", "2g",
        "spark.shuffle.efa.timeout", "500ms");
    assertEquals(EfaShuffleConfig.Transport.TCP, EfaShuffleConfig.TRANSPORT.get(s));
    assertEquals(List.of("shm", "tcp;ofi_rxm"), EfaShuffleConfig.PROVIDER.get(s));
    assertEquals(List.of("rdmap16s27-rdm", "rdmap32s27-rdm"), EfaShuffleConfig.DOMAIN.get(s));
    assertEquals(2L << 30, EfaShuffleConfig.STAGING_BYTES.get(s));
    assertEquals(500L, EfaShuffleConfig.TIMEOUT_MILLIS.get(s));
  }

  @Test
  void aBadValueNamesTheKeyAndWhatItAccepts() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> EfaShuffleConfig.validate(Map.of("spark.shuffle.efa.transport", "rdma")));
    assertTrue(e.getMessage().contains("spark.shuffle.efa.transport") && e.getMessage().contains("auto, fabric or tcp"),
        e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> EfaShuffleConfig.validate(Map.of("spark.shuffle.efa.memory.stagingBytes", "12k")));
    assertTrue(e.getMessage().contains("stagingBytes") && e.getMessage().contains("minimum"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> EfaShuffleConfig.validate(Map.of("spark.shuffle.efa.transprot", "tcp")));
    assertTrue(e.getMessage().contains("unknown setting spark.shuffle.efa.transprot"), e.getMessage());
  }

  @Test
  void readmeCarriesTheGeneratedTable() throws Exception {
    String readme = Files.readString(ROOT.resolve("README.md"));
    String start = "<!-- config-table:start -->\n";
    String end = "<!-- config-table:end -->";
    int from = readme.indexOf(start);
    int to = readme.indexOf(end);
    assertTrue(from >= 0 && to > from, "README.md has no config table markers");
    assertEquals(EfaShuffleConfig.docTable(), readme.substring(from + start.length(), to),
        "README's settings table differs from the definitions; paste EfaShuffleConfig.docTable()");
  }

  @Test
  void theSparkDefaultsTemplateMentionsEverySetting() throws Exception {
    String template = Files.readString(ROOT.resolve("conf/spark-defaults.conf.template"));
    for (ConfigEntry<?> e : EfaShuffleConfig.entries()) {
      assertTrue(template.contains(e.key() + " "), "conf/spark-defaults.conf.template lacks " + e.key());
    }
  }
}
