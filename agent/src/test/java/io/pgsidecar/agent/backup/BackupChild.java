package io.pgsidecar.agent.backup;

import io.pgsidecar.core.codec.Pipelines;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.storage.fs.FsStorage;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;

/**
 * A stand-in agent process: runs one base backup into an FsStorage, prints {@code STARTED <id>},
 * and at the end {@code FINISHED <id> peak RSS <n> kB}. Tests kill it mid-stream, or run it in a
 * small heap to show that memory does not grow with the database.
 * Arguments: storage root, PostgreSQL port, PostgreSQL bin directory.
 */
public final class BackupChild {
  public static void main(String[] args) throws Exception {
    var service = new BackupService(BackupFixtures.LAYOUT, new FsStorage(Path.of(args[0])),
        Pipelines.zstd(1), new PgsidecarConfig.Postgres("127.0.0.1", Integer.parseInt(args[1]),
            "postgres", "postgres", Optional.empty(), Path.of(args[2])),
        new PgsidecarConfig.Backup(Duration.ofSeconds(60), Duration.ofSeconds(1)),
        Clock.systemUTC());
    RunningBackup b = service.start("killed");
    System.out.println("STARTED " + b.id());
    System.out.flush();
    b.result().get();
    String hwm = java.nio.file.Files.readAllLines(Path.of("/proc/self/status")).stream()
        .filter(l -> l.startsWith("VmHWM:")).findFirst().orElse("VmHWM: ?");
    System.out.println("FINISHED " + b.id() + " peak RSS " + hwm.substring(6).trim());
    System.exit(0);
  }
}
