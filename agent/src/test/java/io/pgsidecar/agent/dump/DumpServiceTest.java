package io.pgsidecar.agent.dump;

import io.pgsidecar.core.job.JobException;
import io.pgsidecar.agent.postgres.PgTool;
import io.pgsidecar.agent.postgres.PgConnection;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.pgsidecar.core.codec.Pipelines;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.storage.MemoryStorage;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class DumpServiceTest {

  final List<Runnable> queued = new ArrayList<>();
  final MemoryStorage storage = new MemoryStorage();

  DumpService service(PgsidecarConfig.Dump config, Optional<String> backup) {
    return new DumpService(storage, Pipelines.plain(), new RepositoryLayout("", "c1"),
        new PgTool(Path.of("/nonexistent")), new PgConnection("h", 5432, "u", "", Optional.empty(),
        Map.of()), config, queued::add,
        Clock.fixed(Instant.parse("2026-11-22T02:15:00Z"), ZoneOffset.UTC), () -> backup);
  }

  @Test
  void aSecondDumpIsRefusedWithTheRunningId() throws Exception {
    DumpService service = service(new PgsidecarConfig.Dump(List.of(), List.of(), false),
        Optional.empty());
    DumpService.Started first = service.start(List.of(), "first");
    assertEquals("20261122T021500Z", first.status().id());
    assertEquals(DumpStatus.State.RUNNING, service.show("20261122T021500Z").orElseThrow().state());

    JobException e = assertThrows(JobException.class,
        () -> service.create(List.of(), "second"));
    assertEquals(JobException.Kind.CONFLICT, e.kind());
    assertEquals("dump 20261122T021500Z is running; one dump runs at a time, retry after it has"
        + " finished", e.getMessage());
    assertEquals("20261122T021500Z", e.details().get("runningId"));
    JobException delete = assertThrows(JobException.class,
        () -> service.delete("20261122T021500Z"));
    assertEquals("dump 20261122T021500Z is still running; delete it once it has finished",
        delete.getMessage());
  }

  @Test
  void aRunningBaseBackupBlocksADumpUnlessOverlapIsAllowed() throws Exception {
    JobException e = assertThrows(JobException.class, () ->
        service(new PgsidecarConfig.Dump(List.of(), List.of(), false), Optional.of("20261122T020000Z"))
            .start(List.of(), ""));
    assertEquals("base backup 20261122T020000Z is running and dump.allow-overlap-with-backup is"
        + " false; retry after it has finished", e.getMessage());

    service(new PgsidecarConfig.Dump(List.of(), List.of(), true), Optional.of("20261122T020000Z"))
        .start(List.of(), "");
    assertEquals(1, queued.size());
  }

  @Test
  void selectionHonoursRequestThenIncludeThenExclude() {
    List<String> available = List.of("app", "postgres", "reports");
    DumpService all = service(new PgsidecarConfig.Dump(List.of(), List.of("postgres"), false),
        Optional.empty());
    assertEquals(List.of("app", "reports"), all.select(List.of(), available));
    assertEquals(List.of("postgres"), all.select(List.of("postgres"), available));
    DumpService only = service(new PgsidecarConfig.Dump(List.of("reports", "gone"), List.of(),
        false), Optional.empty());
    assertEquals(List.of("reports"), only.select(List.of(), available));

    IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
        () -> all.select(List.of("nope"), available));
    assertEquals("database nope does not exist on u@h:5432/ or does not allow connections;"
        + " connectable databases: [app, postgres, reports]", missing.getMessage());
  }

  @Test
  void databaseNamesBecomeKeySafeObjectNames() {
    assertEquals("shop_2024-v1.x", DumpService.objectName("shop_2024-v1.x"));
    assertEquals("a%2Fb%20c", DumpService.objectName("a/b c"));
    assertEquals("%2E.", DumpService.objectName(".."));
    assertEquals("caf%C3%A9", DumpService.objectName("café"));
  }

  @Test
  void idsThatCouldEscapeTheDumpFolderAreRefused() {
    DumpService service = service(new PgsidecarConfig.Dump(List.of(), List.of(), false),
        Optional.empty());
    JobException e = assertThrows(JobException.class, () -> service.show("../base"));
    assertEquals(JobException.Kind.INVALID_INPUT, e.kind());
    assertEquals("'../base' is not a dump id (expected like 20261122T021500Z or"
        + " 20261122T021500Z-1; see 'pgsidecar dump list')", e.getMessage());
  }
}
