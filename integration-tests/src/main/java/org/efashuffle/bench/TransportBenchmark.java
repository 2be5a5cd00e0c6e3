package org.efashuffle.bench;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.efashuffle.fabric.EndpointConfig;
import org.efashuffle.fabric.FabricDomain;
import org.efashuffle.fabric.FabricEndpoint;
import org.efashuffle.fabric.MemoryRegion;
import org.efashuffle.fabric.NativeMemory;

/**
 * One-sided read throughput and latency through the Java API, beside the project's raw C
 * {@code fi_read} benchmark run on the same provider in the same run.
 *
 * <p>Both sides are measured the same way: a target process serving a 16 MiB registered region,
 * an initiator keeping WINDOW reads in flight; per-read latency is post to completion, throughput
 * is bytes over the time after a 10% warm-up; each figure is the median of {@link #ROUNDS} rounds. The C target busy-polls. The Java target runs
 * twice: as in production (its progress thread blocks when idle, as it must on a 2-core host),
 * and busy-polling like the C one, which isolates what the Java API itself costs.
 *
 * <p>Usage: TransportBenchmark C_BENCH_PATH [provider[@domain] ...]
 */
public final class TransportBenchmark {
  static final long SOURCE_SIZE = 16L << 20;
  static final long[] SIZES = {4096, 65536, 1 << 20, 4 << 20};
  static final int[] WINDOWS = {1, 16};
  /** Each figure is the median of this many rounds: one round on 2 shared cores is noisy. */
  static final int ROUNDS = 3;

  private TransportBenchmark() {}

  /** The byte at offset i of the target's region (C benchmark: same formula). */
  static byte expected(long i) {
    return (byte) (i * 31 + 7);
  }

  record Result(double gbps, double medianMicros) {
    /** The round with the median throughput (its latency comes with it). */
    static Result median(List<Result> rounds) {
      List<Result> sorted = new ArrayList<>(rounds);
      sorted.sort(Comparator.comparingDouble(Result::gbps));
      return sorted.get(sorted.size() / 2);
    }
  }

  public static void main(String[] args) throws Exception {
    Path cBench = Paths.get(args[0]);
    List<String> providers = args.length > 1
        ? Arrays.asList(args).subList(1, args.length) : List.of("shm", "tcp;ofi_rxm@lo");
    PrintStream out = System.out;
    out.printf("efa-shuffle transport benchmark: fi_read through the Java API vs raw C, same run%n");
    out.printf("GB/s: throughput; µs: median per read; J/C: Java over C; Δ: Java minus C.%n");
    out.printf("'Java' = production target (blocks when idle); 'busy' = Java target polling like C's.%n");
    out.printf("%-12s %7s %3s | %6s %6s %5s %6s %5s | %7s %7s %6s %7s %6s%n", "provider", "size", "win",
        "C", "Java", "J/C", "busy", "b/C", "C µs", "Java µs", "Δ", "busy µs", "Δ");
    for (String spec : providers) {
      String provider = spec.contains("@") ? spec.substring(0, spec.indexOf('@')) : spec;
      String domain = spec.contains("@") ? spec.substring(spec.indexOf('@') + 1) : "";
      Map<String, List<Result>> cRounds = new LinkedHashMap<>();
      for (int round = 0; round < ROUNDS; round++) {
        runC(cBench, provider, domain).forEach((k, v) -> cRounds.computeIfAbsent(k, x -> new ArrayList<>()).add(v));
      }
      Map<String, Result> c = new LinkedHashMap<>();
      cRounds.forEach((k, v) -> c.put(k, Result.median(v)));
      Map<String, Result> java = runJava(provider, domain, false);
      Map<String, Result> busy = runJava(provider, domain, true);
      for (long size : SIZES) {
        for (int window : WINDOWS) {
          String key = size + "/" + window;
          Result cr = c.get(key);
          Result jr = java.get(key);
          Result br = busy.get(key);
          out.printf("%-12s %7s %3d | %6.2f %6.2f %5.2f %6.2f %5.2f | %7.1f %7.1f %6.1f %7.1f %6.1f%n",
              provider, human(size), window, cr.gbps, jr.gbps, jr.gbps / cr.gbps, br.gbps, br.gbps / cr.gbps,
              cr.medianMicros, jr.medianMicros, jr.medianMicros - cr.medianMicros,
              br.medianMicros, br.medianMicros - cr.medianMicros);
        }
      }
    }
  }

  private static String human(long size) {
    return size >= 1 << 20 ? (size >> 20) + " MiB" : (size >> 10) + " KiB";
  }

  private static String csv(long[] values) {
    StringBuilder sb = new StringBuilder();
    for (long v : values) {
      sb.append(sb.length() == 0 ? "" : ",").append(v);
    }
    return sb.toString();
  }

  private static Map<String, Result> runC(Path cBench, String provider, String domain) throws Exception {
    if (!Files.isExecutable(cBench)) {
      throw new IllegalArgumentException("C benchmark not found at " + cBench + " (build native-bridge first)");
    }
    Process p = new ProcessBuilder(cBench.toString(), provider, domain, csv(SIZES),
        csv(Arrays.stream(WINDOWS).asLongStream().toArray()))
        .redirectError(ProcessBuilder.Redirect.INHERIT).start();
    Map<String, Result> results = new LinkedHashMap<>();
    try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) {
        if (!line.startsWith("RESULT ")) {
          continue;
        }
        Map<String, String> kv = new LinkedHashMap<>();
        for (String part : line.substring(7).split(" ")) {
          kv.put(part.substring(0, part.indexOf('=')), part.substring(part.indexOf('=') + 1));
        }
        results.put(kv.get("size") + "/" + kv.get("window"),
            new Result(Double.parseDouble(kv.get("gbps")), Double.parseDouble(kv.get("median_us"))));
      }
    }
    if (p.waitFor() != 0 || results.size() != SIZES.length * WINDOWS.length) {
      throw new IllegalStateException("C benchmark for " + provider + " failed (exit " + p.exitValue() + ")");
    }
    return results;
  }

  private static Map<String, Result> runJava(String provider, String domain, boolean busyTarget) throws Exception {
    List<String> command = List.of(Paths.get(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), TransportTargetMain.class.getName(), provider, domain,
        busyTarget ? "busy" : "production");
    Process target = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    Map<String, Result> results = new LinkedHashMap<>();
    try (BufferedReader r = new BufferedReader(new InputStreamReader(target.getInputStream(), StandardCharsets.UTF_8))) {
      String ready = r.readLine();
      if (ready == null || !ready.startsWith("READY ")) {
        throw new IllegalStateException("Java target for " + provider + " did not start: " + ready);
      }
      String[] parts = ready.split(" ");
      long remoteBase = Long.parseLong(parts[2]);
      long key = Long.parseLong(parts[3]);
      long maxSize = Arrays.stream(SIZES).max().getAsLong();
      int maxWindow = Arrays.stream(WINDOWS).max().getAsInt();
      try (NativeMemory local = NativeMemory.allocate(maxSize * maxWindow);
           FabricDomain d = FabricDomain.open(provider, domain.isEmpty() ? null : domain)) {
        MemoryRegion region = d.register(local);
        FabricEndpoint endpoint = d.openEndpoint(EndpointConfig.defaults());
        long peer = endpoint.insertPeer(HexFormat.of().parseHex(parts[1]));
        for (long size : SIZES) {
          for (int window : WINDOWS) {
            List<Result> rounds = new ArrayList<>();
            for (int round = 0; round < ROUNDS; round++) {
              rounds.add(measure(endpoint, region, local, peer, remoteBase, key, size, window));
            }
            results.put(size + "/" + window, Result.median(rounds));
          }
        }
      }
    } finally {
      target.getOutputStream().close();
      if (!target.waitFor(30, TimeUnit.SECONDS)) {
        target.destroyForcibly();
      }
    }
    return results;
  }

  /**
   * WINDOW chains of reads: each completion (on the progress thread) records its latency and posts
   * the chain's next read, as the C benchmark's loop does.
   */
  private static Result measure(FabricEndpoint endpoint, MemoryRegion region, NativeMemory local, long peer,
      long remoteBase, long key, long size, int window) throws Exception {
    int reads = (int) Math.max(200, Math.min(20000, (256L << 20) / size));
    int warmup = reads / 10;
    int total = reads + warmup;
    long slotsInSource = SOURCE_SIZE / size;
    long[] latencies = new long[reads];
    long[] measuredFrom = new long[1];
    AtomicInteger posted = new AtomicInteger();
    AtomicInteger completed = new AtomicInteger();
    CompletableFuture<Void> done = new CompletableFuture<>();

    class Chain {
      final int slot;

      Chain(int slot) {
        this.slot = slot;
      }

      void next() {
        int n = posted.getAndIncrement();
        if (n >= total) {
          return;
        }
        long remote = remoteBase + (n % slotsInSource) * size;
        long start = System.nanoTime();
        endpoint.read(region, slot * size, size, peer, remote, key).whenComplete((len, error) -> {
          long end = System.nanoTime();
          if (error != null) {
            done.completeExceptionally(error);
            return;
          }
          int c = completed.getAndIncrement();
          if (c == 0 && local.getByte(slot * size + size - 1) != expected(size - 1)) {
            done.completeExceptionally(new IllegalStateException("read returned wrong data"));
            return;
          }
          if (c == warmup - 1) {
            measuredFrom[0] = end;
          } else if (c >= warmup) {
            latencies[c - warmup] = end - start;
          }
          if (c == total - 1) {
            done.complete(null);
          } else {
            next();
          }
        });
      }
    }

    long begin = System.nanoTime();
    for (int i = 0; i < window; i++) {
      new Chain(i).next();
    }
    done.get(10, TimeUnit.MINUTES);
    long elapsed = System.nanoTime() - (warmup > 0 ? measuredFrom[0] : begin);
    Arrays.sort(latencies);
    return new Result((double) reads * size / elapsed, latencies[reads / 2] / 1e3);
  }
}
