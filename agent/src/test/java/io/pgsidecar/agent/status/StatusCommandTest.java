package io.pgsidecar.agent.status;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgsidecar.agent.support.ArchivingPod;
import io.pgsidecar.testkit.Waits;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code pgsidecar status} on a real pod ({@link ArchivingPod}: PostgreSQL 15 archiving through
 * bin/wal-archiver, the real agent, a filesystem repository): after a base backup and a dump it
 * names them, the last archived segment and the recoverable window, and counts what storage holds
 * per kind exactly as the files on disk are; with the agent stopped it still answers from storage
 * and exits 3.
 */
class StatusCommandTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path work;

  @Test
  void afterABackupAndADumpStatusNamesThemTheWindowAndTheStorageUsedPerKind() throws Exception {
    try (ArchivingPod pod = ArchivingPod.filesystem(work).start()) {
      ArchivingPod.Cli empty = pod.cli("status", "--output", "json");
      assertEquals(0, empty.code(), empty.out() + empty.err());
      JsonNode before = JSON.readTree(empty.out());
      assertTrue(before.path("agent").path("reachable").asBoolean(), empty.out());
      assertTrue(before.path("recoverable").isNull(), empty.out());
      assertTrue(before.path("backups").path("last").isNull(), empty.out());
      assertEquals(0, before.path("storage").path("baseBackups").path("objects").asLong());

      pod.postgres().sql("CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g");
      ArchivingPod.Cli backup = pod.cli("backup", "create", "--wait", "--output", "json");
      assertEquals(0, backup.code(), backup.out() + backup.err());
      String backupId = JSON.readTree(backup.out()).path("id").asText();
      ArchivingPod.Cli dump = pod.cli("dump", "create", "--wait", "--output", "json");
      assertEquals(0, dump.code(), dump.out() + dump.err());
      String dumpId = JSON.readTree(dump.out()).path("id").asText();
      pod.postgres().sql("INSERT INTO t SELECT g FROM generate_series(1, 1000) g");
      String last = pod.postgres().switchWal();
      pod.postgres().awaitArchived(last, Duration.ofSeconds(120));

      // the agent counts .ready files every 5 s: the backlog falls to 0 once archiving caught up
      Waits.until(Duration.ofSeconds(60), Duration.ofMillis(500), () -> JSON.readTree(
          pod.cli("status", "--output", "json").out()).path("wal").path("readyBacklog").asInt(-1) == 0);
      ArchivingPod.Cli r = pod.cli("status", "--output", "json");
      assertEquals(0, r.code(), r.out() + r.err());
      JsonNode doc = JSON.readTree(r.out());
      assertEquals("db1", doc.path("cluster").asText());
      assertEquals(last, doc.path("wal").path("lastArchivedSegment").asText(), r.out());
      assertEquals("agent", doc.path("wal").path("source").asText());
      assertTrue(doc.path("wal").path("lastArchivedAgeSeconds").asLong() < 3600, r.out());
      assertEquals(0, doc.path("wal").path("readyBacklog").asInt(-1), r.out());
      assertEquals(backupId, doc.path("backups").path("last").path("id").asText(), r.out());
      assertEquals("success", doc.path("backups").path("last").path("result").asText());
      assertEquals(1, doc.path("backups").path("complete").asInt());
      assertEquals(dumpId, doc.path("dumps").path("last").path("id").asText(), r.out());
      assertEquals("success", doc.path("dumps").path("last").path("result").asText(), r.out());
      assertEquals(backupId, doc.path("recoverable").path("firstBackup").asText(), r.out());
      assertEquals(last, doc.path("recoverable").path("lastSegment").asText(), r.out());
      // storage used per kind: exactly the objects on disk (not the driver's hidden metadata)
      Path root = work.resolve("repo/prod/db1");
      for (String[] kind : new String[][] {{"baseBackups", "base"}, {"dumps", "dumps"},
          {"wal", "wal"}}) {
        List<Path> files = objects(root.resolve(kind[1]));
        JsonNode u = doc.path("storage").path(kind[0]);
        assertEquals(files.size(), u.path("objects").asLong(), kind[0] + ": " + files);
        assertEquals(size(files), u.path("bytes").asLong(), kind[0]);
      }
      assertEquals(2, doc.path("storage").path("baseBackups").path("objects").asLong());
      assertEquals(List.of(root.resolve("cluster.json")), objects(root).stream()
          .filter(p -> p.getParent().equals(root)).toList());
      assertEquals(1, doc.path("storage").path("other").path("objects").asLong());

      ArchivingPod.Cli text = pod.cli("status");
      System.out.println(text.out());
      assertEquals(0, text.code(), text.err());
      List<String> lines = text.out().lines().toList();
      assertEquals("cluster       db1 in file://" + work.resolve("repo") + "/prod/db1/", lines.get(0));
      assertEquals("agent         answers on " + work.resolve("admin.sock"), lines.get(1));
      assertTrue(lines.get(2).startsWith("wal           last archived " + last + " at "), lines.get(2));
      assertTrue(lines.get(2).endsWith(" ago); 0 segments waiting (.ready)"), lines.get(2));
      assertTrue(lines.get(3).startsWith("base backup   last " + backupId + " success at "),
          lines.get(3));
      assertTrue(lines.get(3).endsWith(" stored); 1 complete in storage"), lines.get(3));
      assertTrue(lines.get(4).startsWith("dump          last " + dumpId + " success at "),
          lines.get(4));
      assertEquals("retention     off: no retention.* rule is set, nothing is removed",
          lines.get(5));
      assertEquals("restore drill none recorded", lines.get(6));
      assertTrue(lines.get(7).startsWith("recoverable   from "), lines.get(7));
      assertTrue(lines.get(7).contains(" (end of backup " + backupId + ") to "), lines.get(7));
      assertTrue(lines.get(8).startsWith("storage used  base backups "), lines.get(8));
      assertEquals("errors        none since the agent started", lines.get(9));

      // another cluster's repository: storage only, the agent is not asked
      ArchivingPod.Cli other = pod.cli("status", "--cluster", "db2");
      assertEquals(0, other.code(), other.out() + other.err());
      assertEquals("agent         not asked: the agent serves cluster 'db1' only",
          other.out().lines().toList().get(1));
      assertTrue(other.out().contains("\nwal           nothing archived yet; "), other.out());

      // the agent stopped: status answers from storage, counts .ready itself, and exits 3
      pod.stopAgent();
      ArchivingPod.Cli down = pod.cli("status", "--output", "json");
      assertEquals(3, down.code(), down.out() + down.err());
      JsonNode d = JSON.readTree(down.out());
      assertTrue(!d.path("agent").path("reachable").asBoolean(), down.out());
      assertTrue(d.path("agent").path("error").asText().endsWith(" (is the agent running, and is"
          + " http.admin-socket right?)"), down.out());
      assertEquals("storage", d.path("wal").path("source").asText(), down.out());
      assertEquals(last, d.path("wal").path("lastArchivedSegment").asText(), down.out());
      assertTrue(d.path("wal").path("readyBacklog").isInt(), down.out());
      assertEquals(backupId, d.path("backups").path("last").path("id").asText());
      assertEquals("storage", d.path("backups").path("last").path("source").asText());
      assertEquals(dumpId, d.path("dumps").path("last").path("id").asText());
      ArchivingPod.Cli downText = pod.cli("status");
      assertEquals(3, downText.code());
      assertTrue(downText.out().lines().toList().get(1).startsWith("agent         NOT REACHABLE: "),
          downText.out());
    }
  }

  /** The objects under {@code dir}: regular files, without FsStorage's hidden ones. */
  private static List<Path> objects(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> s = Files.walk(dir)) {
      return s.filter(Files::isRegularFile)
          .filter(p -> !p.getFileName().toString().startsWith(".")).sorted().toList();
    }
  }

  private static long size(List<Path> files) throws IOException {
    long total = 0;
    for (Path p : files) {
      total += Files.size(p);
    }
    return total;
  }
}
