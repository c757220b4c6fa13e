package io.pgsidecar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.codec.Pipelines;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.azure.AzureStorage;
import io.pgsidecar.testkit.Azurite;
import io.pgsidecar.testkit.Waits;
import io.pgsidecar.testkit.WalLikeData;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 14's memory budget: the real agent ({@code bin/pgsidecar} with its launcher's flags,
 * {@code -XX:+ExitOnOutOfMemoryError} among them, and a 64 MiB heap, below its default 80 MiB)
 * prefetching 4 segments at once from Azurite over HTTPS with the default 8 MiB blocks, while the real {@code wal-archiver fetch} asks for one segment
 * after the other as PostgreSQL's restore_command does. Every fetched file must have the
 * archived SHA-256, and the agent must still be alive at the end. Before the read budget, the
 * agent ran out of heap here (one 8 MiB range buffer per stream and range ahead, 4 streams).
 *
 * <p>Prints the figures the change is judged by: fetch throughput, the agent's peak RSS and the
 * largest heap occupancy before and after a collection (its GC log). {@code
 * -Dpgsidecar.prefetchMemory.segments=64} for the benchmark run (default 12), {@code
 * -Dpgsidecar.prefetchMemory.heap=80m} for the launcher's own heap.
 */
class PrefetchMemoryTest {

  static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  static final RepositoryLayout LAYOUT = new RepositoryLayout("prod", "db1");
  static final int SEGMENT = 16 << 20;
  /** Below the launcher's 80 MiB: the old read-ahead (up to 16 MiB per stream) does not fit. */
  static final String HEAP = System.getProperty("pgsidecar.prefetchMemory.heap", "64m");

  @TempDir
  Path tmp;

  Process agent;

  @AfterEach
  void stopAgent() throws InterruptedException {
    if (agent != null) {
      agent.descendants().forEach(ProcessHandle::destroy);
      agent.destroy();
      if (!agent.waitFor(30, TimeUnit.SECONDS)) {
        agent.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void agentWithASixtyFourMibHeapPrefetchesFourSegmentsAtOnceOverHttpsAndServesEachIntact()
      throws Exception {
    int count = Integer.getInteger("pgsidecar.prefetchMemory.segments", 12);
    long seed = Long.getLong("pgsidecar.fuzz.seed", 14L);
    System.out.println("PrefetchMemoryTest: " + count + " segments, seed " + seed);
    Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path work = postgresOwned(tmp.resolve("work"));
    Path pgWal = postgresOwned(work.resolve("pg_wal"));
    try (Azurite azurite = Azurite.launchHttps()) {
      List<String> names = new ArrayList<>();
      List<String> sums = new ArrayList<>();
      long stored = archive(azurite, count, seed, names, sums);
      startAgent(work, azurite);

      long start = System.nanoTime();
      for (int i = 0; i < count; i++) {
        Path into = pgWal.resolve("RECOVERYXLOG");
        Files.deleteIfExists(into);
        int exit = fetch(work, pgWal, names.get(i));
        assertEquals(0, exit, "fetch of " + names.get(i) + " exited " + exit + "\n" + agentLog(work));
        assertEquals(sums.get(i), sha256(into), "fetched " + names.get(i) + " differs from the archive");
        assertTrue(agent.isAlive(), "the agent died after " + names.get(i) + "\n" + agentLog(work));
      }
      double seconds = (System.nanoTime() - start) / 1e9;

      assertTrue(agent.isAlive(), "the agent died\n" + agentLog(work));
      String log = agentLog(work);
      assertTrue(!log.contains("OutOfMemoryError"), log);
      long[] heap = heapPeaks(work.resolve("gc.log"));
      Files.copy(work.resolve("gc.log"), Path.of("target", "PrefetchMemoryTest-gc.log"),
          java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      System.out.printf("PrefetchMemoryTest: %d segments (%.1f MiB stored) fetched in %.2f s:"
          + " %.1f MiB/s of WAL; agent peak RSS %d MiB; heap (-Xmx%s) before a collection at most"
          + " %d MiB, after one at most %d MiB, live after a full collection at most %d MiB (%d"
          + " full collections)%n", count, stored / 1048576.0, seconds, count * 16.0 / seconds,
          peakRssKib(agent) / 1024, HEAP, heap[0] / 1024, heap[1] / 1024, heap[2] / 1024, heap[3]);
    }
  }

  /**
   * cluster.json and {@code count} segments, zstd level 1 as the agent stores WAL: WAL-like
   * content (about 40 % stored, one range) with every other segment random (incompressible,
   * two 8 MiB ranges), so streams with ranges ahead are exercised too.
   */
  private static long archive(Azurite azurite, int count, long seed, List<String> names,
      List<String> sums) throws Exception {
    CodecPipeline zstd = Pipelines.zstd(1);
    long stored = 0;
    try (AzureStorage storage = new AzureStorage(azurite.containerClient(azurite.container()))) {
      byte[] json = "{}".getBytes(StandardCharsets.UTF_8);
      String jsonSha = hex(MessageDigest.getInstance("SHA-256").digest(json));
      storage.create(LAYOUT.clusterJson(), new ByteArrayInputStream(json),
          () -> new ObjectMetadata(jsonSha, json.length, "", ""));
      Random random = new Random(seed);
      for (int i = 1; i <= count; i++) {
        String name = "00000001000000000000%04X".formatted(i);
        byte[] plain;
        if (i % 2 == 0) {
          plain = new byte[SEGMENT];
          random.nextBytes(plain);
        } else {
          plain = WalLikeData.bytes(SEGMENT, seed + i);
        }
        String sha = hex(MessageDigest.getInstance("SHA-256").digest(plain));
        var encoded = new ByteArrayOutputStream();
        try (OutputStream out = zstd.encode(encoded)) {
          out.write(plain);
        }
        stored += encoded.size();
        storage.create(LAYOUT.walKey(name, zstd.suffix()), new ByteArrayInputStream(encoded.toByteArray()),
            () -> new ObjectMetadata(sha, SEGMENT, zstd.name(), ""));
        names.add(name);
        sums.add(sha);
      }
    }
    return stored;
  }

  /** bin/pgsidecar agent as postgres, its launcher's flags with a {@link #HEAP} heap, prefetch 4. */
  private void startAgent(Path work, Azurite azurite) throws Exception {
    Path socket = work.resolve("agent.sock");
    Path pgdata = postgresOwned(work.resolve("pgdata"));
    Path spool = postgresOwned(work.resolve("spool"));
    Path key = azurite.writeKeyFile(work.resolve("account.key"));
    chown(key);
    int pgPort;
    try (ServerSocket s = new ServerSocket(0)) {
      pgPort = s.getLocalPort(); // nothing listens: fetch does not need PostgreSQL
    }
    Path yaml = Files.writeString(work.resolve("pgsidecar.yaml"), """
        cluster: db1
        pgdata: %s
        socket: %s
        http:
          admin-socket: %s
        postgres:
          host: 127.0.0.1
          port: %d
        storage:
          type: azure
          prefix: prod
          azure:
            auth: shared-key
            endpoint: %s
            account: %s
            key-file: %s
            container: %s
        wal:
          spool-dir: %s
          prefetch-count: 4
        metrics:
          port: 0
        """.formatted(pgdata, socket, work.resolve("admin.sock"), pgPort, azurite.endpoint(),
        azurite.account(), key, azurite.container(), spool));
    Files.setPosixFilePermissions(yaml, PosixFilePermissions.fromString("rw-r--r--"));
    ProcessBuilder pb = new ProcessBuilder("runuser", "-u", "postgres", "--",
        ROOT.resolve("bin/pgsidecar").toString(), "--config", yaml.toString(), "agent")
        .redirectErrorStream(true).redirectOutput(work.resolve("agent.log").toFile())
        .directory(work.toFile());
    pb.environment().keySet().removeIf(k -> k.startsWith("PGSIDECAR_") || k.startsWith("PG"));
    // the launcher's own flags; the trust store, a smaller heap and a GC log are added
    pb.environment().put("PGSIDECAR_JAVA_OPTS", "-Djavax.net.ssl.trustStore=" + azurite.trustStore()
        + " -Djavax.net.ssl.trustStorePassword=changeit -Xmx" + HEAP + " -Xlog:gc:file=" + work.resolve("gc.log"));
    agent = pb.start();
    try {
      Waits.until(Duration.ofSeconds(90), Duration.ofMillis(50), () -> Files.exists(socket),
          "the agent exited", () -> !agent.isAlive());
    } catch (RuntimeException e) {
      throw new AssertionError("the agent did not open " + socket + ":\n" + agentLog(work), e);
    }
  }

  /** wal-archiver fetch as restore_command runs it (as postgres, in pg_wal). */
  private static int fetch(Path work, Path pgWal, String name) throws Exception {
    Process fetch = new ProcessBuilder("runuser", "-u", "postgres", "--",
        ROOT.resolve("bin/wal-archiver").toString(), "--socket", work.resolve("agent.sock").toString(),
        "fetch", name, "RECOVERYXLOG").directory(pgWal.toFile())
        .redirectErrorStream(true).redirectOutput(work.resolve("fetch.log").toFile()).start();
    assertTrue(fetch.waitFor(180, TimeUnit.SECONDS), "wal-archiver fetch of " + name + " did not exit");
    return fetch.exitValue();
  }

  /** VmHWM of the agent's JVM (the launcher execs java under runuser). */
  private static long peakRssKib(Process runuser) throws IOException {
    long max = 0;
    for (ProcessHandle p : runuser.descendants().toList()) {
      Path status = Path.of("/proc", Long.toString(p.pid()), "status");
      if (!Files.exists(status)) {
        continue;
      }
      for (String line : Files.readAllLines(status)) {
        if (line.startsWith("VmHWM:")) {
          max = Math.max(max, Long.parseLong(line.replaceAll("[^0-9]", "")));
        }
      }
    }
    return max;
  }

  /**
   * From {@code -Xlog:gc}, KiB: the largest heap occupancy before and after any collection, the
   * largest after a full one (the live heap: with the serial collector a young collection leaves
   * the old generation's garbage in place), and the number of full collections.
   */
  private static long[] heapPeaks(Path gcLog) throws IOException {
    Matcher m = Pattern.compile("Pause (\\w+).*?(\\d+)([KMG])->(\\d+)([KMG])\\(")
        .matcher(Files.readString(gcLog));
    long before = 0;
    long after = 0;
    long live = 0;
    long full = 0;
    while (m.find()) {
      before = Math.max(before, kib(m.group(2), m.group(3)));
      long a = kib(m.group(4), m.group(5));
      after = Math.max(after, a);
      if (m.group(1).equals("Full")) {
        live = Math.max(live, a);
        full++;
      }
    }
    return new long[] {before, after, live, full};
  }

  private static long kib(String n, String unit) {
    long v = Long.parseLong(n);
    return switch (unit) {
      case "K" -> v;
      case "M" -> v * 1024;
      default -> v * 1024 * 1024;
    };
  }

  private static String agentLog(Path work) {
    try {
      List<String> lines = Files.readAllLines(work.resolve("agent.log"));
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
    } catch (IOException e) {
      return "(no agent log: " + e + ")";
    }
  }

  private static String sha256(Path file) throws Exception {
    return hex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
  }

  private static String hex(byte[] b) {
    return HexFormat.of().formatHex(b);
  }

  private static Path postgresOwned(Path dir) throws IOException {
    Files.createDirectories(dir);
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    chown(dir);
    return dir;
  }

  private static void chown(Path p) throws IOException {
    Files.setOwner(p, p.getFileSystem().getUserPrincipalLookupService()
        .lookupPrincipalByName("postgres"));
  }
}
