package org.efashuffle.spark;

import java.util.List;
import java.util.function.Supplier;

/**
 * Which domain (EFA device, tcp interface) an executor opens, so that the executors of a multi-NIC
 * host spread over its devices ({@code spark.shuffle.efa.domain}). Pure functions of their inputs.
 */
final class DomainChoice {
  private static final String EFA = "efa";

  private DomainChoice() {}

  /**
   * The domains to spread over: the configured list; when none is configured, for efa every
   * domain of the efa fabric ({@code efaDomains}, asked only then), for other providers none (the
   * provider's first: on tcp other interfaces are other subnets, whose executors would not pair).
   */
  static List<String> candidates(String provider, List<String> configured, Supplier<List<String>> efaDomains) {
    if (!configured.isEmpty()) {
      return configured;
    }
    return provider.equals(EFA) ? efaDomains.get() : List.of();
  }

  /**
   * The entry of {@code domains} for this executor, or null for none (the provider's first): a
   * numeric id takes the entry at id mod size (executors 1, 2, 3, 4 on four devices take one each),
   * another id the entry its String hash (stable across JVMs) picks.
   */
  static String forExecutor(String executorId, List<String> domains) {
    if (domains.isEmpty()) {
      return null;
    }
    long key;
    try {
      key = Long.parseLong(executorId);
    } catch (NumberFormatException notNumeric) {
      key = executorId.hashCode();
    }
    return domains.get((int) Math.floorMod(key, (long) domains.size()));
  }
}
