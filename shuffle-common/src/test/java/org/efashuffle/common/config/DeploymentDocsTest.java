package org.efashuffle.common.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The deployment documents (README.md, everything under conf/) name only real settings, with values that parse. */
class DeploymentDocsTest {
  private static final Path ROOT = Path.of("..");

  @Test
  void everySettingTheDocumentsUseExistsAndItsValuesParse() throws IOException {
    List<Path> documents = new ArrayList<>(List.of(ROOT.resolve("README.md")));
    try (Stream<Path> conf = Files.walk(ROOT.resolve("conf"))) {
      conf.filter(Files::isRegularFile).sorted().forEach(documents::add);
    }
    List<String> problems = new ArrayList<>();
    int mentions = 0;
    for (Path d : documents) {
      String text = Files.readString(d);
      mentions += text.split("spark\\.shuffle\\.efa\\.", -1).length - 1;
      problems.addAll(ConfigMentions.problems(ROOT.relativize(d).toString(), text));
    }
    assertEquals(List.of(), problems);
    assertTrue(mentions > 20, "the documents mention efa-shuffle's settings only " + mentions + " times");
    assertTrue(documents.stream().anyMatch(d -> d.endsWith("conf/kubernetes/executor-pod-template.yaml")),
        "the Kubernetes pod template is missing: " + documents);
  }

  @Test
  void aWrongKeyOrValueIsFound() {
    assertEquals(List.of("doc.sh: spark.shuffle.efa.timeot is not a setting of efa-shuffle"),
        ConfigMentions.problems("doc.sh", "--conf spark.shuffle.efa.timeot=5s \\\n  `spark.shuffle.efa.*` all"));
    List<String> bad = ConfigMentions.problems("spark-defaults.conf",
        "spark.shuffle.efa.memory.stagingBytes   12k\n# spark.shuffle.efa.transport rdma\n");
    assertEquals(2, bad.size(), bad.toString());
    assertTrue(bad.get(0).contains("spark.shuffle.efa.memory.stagingBytes"), bad.toString());
    assertTrue(bad.get(1).contains("spark.shuffle.efa.transport"), bad.toString());
    List<String> code = ConfigMentions.problems("job.scala", ".set(\"spark.shuffle.efa.subnet\", \"10.0.0.0\")");
    assertEquals(1, code.size(), code.toString());
    assertEquals(List.of(), ConfigMentions.problems("ok.conf",
        "spark.shuffle.efa.provider efa,tcp;ofi_rxm\n--conf spark.shuffle.efa.subnet=\"$SUBNET\" `spark.shuffle.efa.domain`."));
  }
}
