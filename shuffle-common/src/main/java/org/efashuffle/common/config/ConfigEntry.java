package org.efashuffle.common.config;

import java.util.Map;
import java.util.function.Function;

/**
 * One typed {@code spark.shuffle.efa.*} setting: its key, default, documentation, the version it
 * appeared in, and how a string becomes a value. A bad value fails with a message that names the
 * key and what it accepts.
 */
public final class ConfigEntry<T> {
  private final String key;
  private final String defaultValue;
  private final String accepted;
  private final String doc;
  private final String since;
  private final Function<String, T> parser;

  ConfigEntry(String key, String defaultValue, String accepted, String doc, String since, Function<String, T> parser) {
    this.key = key;
    this.defaultValue = defaultValue;
    this.accepted = accepted;
    this.doc = doc;
    this.since = since;
    this.parser = parser;
    parse(defaultValue); // a default that does not parse is a bug here, not a user error
  }

  public String key() {
    return key;
  }

  public String defaultValue() {
    return defaultValue;
  }

  /** What values are accepted, in words (e.g. "auto, fabric or tcp"). */
  public String accepted() {
    return accepted;
  }

  public String doc() {
    return doc;
  }

  public String since() {
    return since;
  }

  /** The value in {@code settings}, or the default when absent. */
  public T get(Map<String, String> settings) {
    String raw = settings.get(key);
    return parse(raw == null ? defaultValue : raw);
  }

  private T parse(String raw) {
    try {
      return parser.apply(raw.trim());
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(
          "invalid value '" + raw + "' for " + key + ": expected " + accepted
              + (e.getMessage() == null ? "" : " (" + e.getMessage() + ")"), e);
    }
  }
}
