package io.pgsidecar.agent.wal.push;

import io.pgsidecar.agent.support.Await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pgsidecar.agent.support.UnixHttp;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What a push, or the look-ahead, refuses: names that are not WAL, paths outside pg_wal or
 * PGDATA, another cluster, files PostgreSQL did not mark ready, and links, directories and FIFOs
 * planted in pg_wal. Each refusal is a 400 naming the file, nothing is stored, and it is
 * reported once.
 */
class WalPushRefusalTest extends WalPushFixture {

  @Test
  void nameThatIsNotAWalFileIs400WithTheAcceptedForms() throws Exception {
    UnixHttp.Response r = push("../x");
    assertEquals(400, r.status());
    assertEquals("'x' is not a WAL file name: expected 24 hex digits (segment), XXXXXXXX.history,"
        + " <segment>.partial or <segment>.XXXXXXXX.backup (upper-case hex)",
        new JsonObject(r.text()).getString("error"));
    UnixHttp.Response ready = push("pg_wal/archive_status/" + SEG1 + ".ready");
    assertEquals(400, ready.status());
  }

  @Test
  void pushIntoAnotherClusterIs400() throws Exception {
    pg.readyWal(SEG1, 100, 1);
    UnixHttp.Response r = UnixHttp.post(config.socket(), "/v1/wal/push",
        new JsonObject().put("path", "pg_wal/" + SEG1).put("cluster", "db2").encode());
    assertEquals(400, r.status());
    assertEquals("this agent archives only into cluster 'db1', not 'db2'; push without --cluster"
        + " (it is for fetching another cluster's WAL)", new JsonObject(r.text()).getString("error"));
    UnixHttp.Response own = UnixHttp.post(config.socket(), "/v1/wal/push",
        "{\"path\":\"pg_wal/" + SEG1 + "\",\"cluster\":null}");
    assertEquals(200, own.status(), own.text());
  }

  @Test
  void pathLeavingPgdataIs400() throws Exception {
    UnixHttp.Response r = push("pg_wal/../../elsewhere/" + SEG1);
    assertEquals(400, r.status());
    assertEquals("path 'pg_wal/../../elsewhere/" + SEG1 + "' leaves PGDATA (" + pg.root()
        + "); send archive_command's %p, a path inside the data directory",
        new JsonObject(r.text()).getString("error"));
    UnixHttp.Response abs = push("/etc/" + SEG1);
    assertEquals(400, abs.status());
    assertEquals("path '/etc/" + SEG1 + "' is absolute; send archive_command's %p, which is"
        + " relative to the data directory (the agent sees PGDATA at " + pg.root() + ")",
        new JsonObject(abs.text()).getString("error"));
  }

  @Test
  void symbolicLinkOutOfPgdataIs400AndNothingIsStored() throws Exception {
    Path outside = Files.createDirectories(work.resolve("outside"));
    Files.write(outside.resolve(SEG2), new byte[] {1, 2, 3});
    Files.createSymbolicLink(pg.root().resolve("pg_wal/" + SEG2), outside.resolve(SEG2));
    pg.ready(SEG2);
    UnixHttp.Response r = push("pg_wal/" + SEG2);
    assertEquals(400, r.status());
    assertEquals(refusal(SEG2, "is a symbolic link"), new JsonObject(r.text()).getString("error"));
    assertEquals(List.of(), keys("prod/db1/wal/"));
    assertEquals(List.of("pg_wal/" + SEG2), events.refused);
    // the next push starts a look-ahead scan, which still sees SEG2's .ready: the push already
    // reported that refusal, so the look-ahead does not read the link nor report it again
    pg.readyWal(SEG1, 100, 1);
    assertEquals(200, push("pg_wal/" + SEG1).status());
    Thread.sleep(300);
    assertEquals(List.of(KEY1), keys("prod/db1/wal/"));
    assertEquals(List.of("pg_wal/" + SEG2), events.refused);
  }

  @Test
  void aLinkToAFileInsidePgdataADirectoryAndAFifoAreRefusedToo() throws Exception {
    // a link that stays inside PGDATA was archived before: pg_control, a key file, anything
    Files.createSymbolicLink(pg.root().resolve("pg_wal/" + SEG1), pg.root().resolve("global/pg_control"));
    Files.createDirectory(pg.root().resolve("pg_wal/" + SEG2));
    String seg3 = "000000010000000000000003";
    assertEquals(0, new ProcessBuilder("mkfifo", pg.root().resolve("pg_wal/" + seg3).toString())
        .start().waitFor());
    for (String n : List.of(SEG1, SEG2, seg3)) {
      pg.ready(n);
    }
    assertEquals(refusal(SEG1, "is a symbolic link"), errorOf(push("pg_wal/" + SEG1), 400));
    assertEquals(refusal(SEG2, "is a directory"), errorOf(push("pg_wal/" + SEG2), 400));
    assertEquals(refusal(seg3, "is not a regular file (a FIFO, socket or device)"),
        errorOf(push("pg_wal/" + seg3), 400));
    assertEquals(List.of(), keys("prod/db1/wal/"));
    // each push reports its refusal (the look-ahead a push starts may report it too)
    assertEquals(List.of("pg_wal/" + SEG1, "pg_wal/" + SEG2, "pg_wal/" + seg3),
        events.refused.stream().distinct().sorted().toList());
  }

  @Test
  void aPushOfAFileWithoutItsReadyIsRefused() throws Exception {
    pg.wal(SEG1, 100, 1);
    assertEquals("refusing to archive " + SEG1 + ": PostgreSQL has not marked it ready ("
        + pg.root().resolve("pg_wal/archive_status/" + SEG1 + ".ready") + " does not exist);"
        + " archive_command is only called for files PostgreSQL marked ready, so something else"
        + " asked for it. Archive WAL only through archive_command",
        errorOf(push("pg_wal/" + SEG1), 400));
    assertEquals(List.of(), keys("prod/db1/wal/"));
    assertEquals(List.of("pg_wal/" + SEG1), events.refused);
    pg.ready(SEG1);
    assertEquals(200, push("pg_wal/" + SEG1).status());
  }

  @Test
  void aFileOutsidePgWalOrOnTimelineZeroIsRefused() throws Exception {
    Files.write(pg.root().resolve(SEG1), new byte[] {1});
    pg.ready(SEG1);
    assertEquals("path '" + SEG1 + "' is not directly in pg_wal; the agent archives only"
        + " pg_wal/<name>, which is what archive_command's %p gives", errorOf(push(SEG1), 400));
    String tli0 = "000000000000000000000001";
    pg.readyWal(tli0, 100, 1);
    assertEquals("'" + tli0 + "' is not a WAL file name: timeline 00000000 does not exist"
        + " (PostgreSQL's timelines start at 00000001)", errorOf(push("pg_wal/" + tli0), 400));
    assertEquals(List.of(), keys("prod/db1/wal/"));
  }

  @Test
  void lookAheadReadsOnlyRegularFilesPostgresWouldArchiveAndReportsEachRefusalOnce() throws Exception {
    Path outside = Files.createDirectories(work.resolve("outside"));
    Files.writeString(outside.resolve("secret"), "PGPASSWORD=hunter2\n");
    String link = "000000010000000000000002";
    String dir = "000000010000000000000003";
    String fifo = "000000010000000000000004";
    String tli0 = "000000000000000000000005";
    String good = "000000010000000000000006";
    pg.readyWal(SEG1, 100, 1);
    Files.createSymbolicLink(pg.root().resolve("pg_wal/" + link), outside.resolve("secret"));
    Files.createDirectory(pg.root().resolve("pg_wal/" + dir));
    assertEquals(0, new ProcessBuilder("mkfifo", pg.root().resolve("pg_wal/" + fifo).toString())
        .start().waitFor());
    pg.wal(tli0, 100, 5);
    pg.readyWal(good, 100, 6);
    for (String n : List.of(link, dir, fifo, tli0)) {
      pg.ready(n);
    }
    assertEquals(200, push("pg_wal/" + SEG1).status());
    Await.quietly(Duration.ofSeconds(10),
        () -> keys("prod/db1/wal/").size() >= 2 && events.refused.size() >= 4);
    // a second push triggers another scan: refusals are not reported again
    assertEquals(200, push("pg_wal/" + good).status());
    Thread.sleep(300);
    assertEquals(List.of(KEY1, "prod/db1/wal/0000000100000000/" + good + ".xor"), keys("prod/db1/wal/"));
    assertEquals(List.of("pg_wal/" + tli0, "pg_wal/" + link, "pg_wal/" + dir, "pg_wal/" + fifo),
        events.refused.stream().sorted().toList());
  }
}
