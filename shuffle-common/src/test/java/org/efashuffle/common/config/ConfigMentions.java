package org.efashuffle.common.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The {@code spark.shuffle.efa.*} settings a document names, and what is wrong with them: a key
 * that is not a setting, or a value the setting does not accept. Values are recognised where a
 * document assigns them: {@code key=value} (spark-submit's --conf, -D), {@code key value} at the
 * start of a line of a spark-defaults file (commented or not), and {@code "key" -> "value"} or
 * {@code "key", "value"} in code.
 */
final class ConfigMentions {
  private static final String KEY = "spark\\.shuffle\\.efa\\.[A-Za-z][A-Za-z0-9.]*[A-Za-z0-9]";
  private static final Pattern MENTION = Pattern.compile("(" + KEY + ")(\\.?\\*)?");
  private static final Pattern ASSIGNED = Pattern.compile("(" + KEY + ")=([^\\s\"'\\\\`]*)");
  private static final Pattern DEFAULTS_LINE = Pattern.compile("(?m)^[ \\t]*#?[ \\t]*(" + KEY + ")[ \\t]*(.*?)[ \\t]*$");
  private static final Pattern IN_CODE = Pattern.compile("\"(" + KEY + ")\"\\s*(?:->|,)\\s*\"([^\"]*)\"");

  private ConfigMentions() {}

  /** One line per problem, naming the document; empty when every mention is right. */
  static List<String> problems(String document, String text) {
    List<String> problems = new ArrayList<>();
    Matcher m = MENTION.matcher(text);
    while (m.find()) {
      if (m.group(2) == null && entry(m.group(1)) == null) {
        problems.add(document + ": " + m.group(1) + " is not a setting of efa-shuffle");
      }
    }
    List<Matcher> assignments = new ArrayList<>(List.of(ASSIGNED.matcher(text), IN_CODE.matcher(text)));
    if (document.endsWith(".conf") || document.endsWith(".conf.template")) {
      assignments.add(DEFAULTS_LINE.matcher(text));
    }
    for (Matcher a : assignments) {
      while (a.find()) {
        ConfigEntry<?> entry = entry(a.group(1));
        if (entry != null) {
          try {
            entry.get(Map.of(entry.key(), a.group(2)));
          } catch (IllegalArgumentException e) {
            problems.add(document + ": " + e.getMessage());
          }
        }
      }
    }
    return problems;
  }

  private static ConfigEntry<?> entry(String key) {
    return EfaShuffleConfig.entries().stream().filter(e -> e.key().equals(key)).findFirst().orElse(null);
  }
}
