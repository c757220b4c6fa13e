package io.pgsidecar.agent.restore;

import io.pgsidecar.agent.cli.support.CommandContext;
import io.pgsidecar.agent.cli.support.ExitCodes;
import io.pgsidecar.core.job.JobException;
import io.pgsidecar.core.codec.Pipelines;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.storage.StorageFactory;
import io.pgsidecar.restoreinit.RestoreJob;
import io.pgsidecar.restoreinit.Restorer;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code pgsidecar restore --to DIR}: point-in-time restore into a directory, by hand, on any
 * machine that reaches the repository. The same engine as the restore-init container; options
 * given here replace the {@code restore.*} settings of the configuration. Exit codes as every
 * command's ({@link ExitCodes}): 0 restored, 1 the restore failed or the archive does not cover
 * the target, 2 usage error, 3 storage cannot be reached.
 */
@Command(name = "restore", mixinStandardHelpOptions = true,
    description = "Restore a base backup into an empty directory and write the recovery settings"
        + " (point-in-time recovery); PostgreSQL then replays WAL through wal-archiver fetch.")
public final class RestoreCommand implements Callable<Integer> {

  @Spec CommandSpec spec;

  @Option(names = "--to", required = true, paramLabel = "DIR",
      description = "Data directory to restore into: empty, or holding an unfinished restore.")
  Path to;

  @Option(names = "--backup", paramLabel = "ID|latest",
      description = "Backup to restore (default: the newest that ends before the target).")
  String backup;

  @Option(names = "--target-time", paramLabel = "TIME", description = "Stop at this moment (no offset = UTC).")
  String targetTime;

  @Option(names = "--target-lsn", paramLabel = "LSN", description = "Stop at this WAL position.")
  String targetLsn;

  @Option(names = "--target-xid", paramLabel = "XID", description = "Stop at this transaction's commit.")
  String targetXid;

  @Option(names = "--target-name", paramLabel = "NAME", description = "Stop at this restore point.")
  String targetName;

  @Option(names = "--target-immediate", description = "Stop as soon as the backup is consistent.")
  boolean targetImmediate;

  @Option(names = "--target-exclusive", description = "Stop just before the target, not after it.")
  boolean targetExclusive;

  @Option(names = "--target-action", paramLabel = "promote|pause|shutdown",
      description = "What PostgreSQL does at the target (default promote).")
  String targetAction;

  @Option(names = "--target-timeline", paramLabel = "latest|current|N",
      description = "Timeline to follow (default latest).")
  String targetTimeline;

  @Option(names = {"--cluster", "--from-cluster"}, paramLabel = "NAME",
      description = "Restore another cluster's archive (WAL is fetched from it too).")
  String fromCluster;

  @Option(names = "--wal-archiver", paramLabel = "PATH",
      description = "wal-archiver as the restored PostgreSQL sees it, for restore_command (default:"
          + " restore.wal-archiver, /pgsidecar/bin/wal-archiver, or when that does not exist here"
          + " the client installed beside this pgsidecar).")
  String walArchiver;

  @Option(names = "--socket", paramLabel = "PATH",
      description = "The agent's socket, passed to wal-archiver --socket in restore_command.")
  String socket;

  @Override
  public Integer call() throws Exception {
    PgsidecarConfig config = CommandContext.of(spec).config();
    PgsidecarConfig.Restore r = options(config.restore());
    PrintWriter out = spec.commandLine().getOut();
    Restorer.Result res;
    try (Storage storage = StorageFactory.open(config.storage())) {
      res = RestoreJob.run(config, r, to, storage,
          Pipelines.forConfig(config.compression(), config.encryption()));
    } catch (java.io.IOException | IllegalArgumentException | JobException e) {
      // a target the archive does not cover, a backup that is not there: the engine's own words
      spec.commandLine().getErr().println("pgsidecar restore: " + e.getMessage());
      return e instanceof IllegalArgumentException ? ExitCodes.FAILED : ExitCodes.of(e);
    }
    out.println("restored backup " + res.backup().id() + " (taken " + res.backup().startTime()
        + ", ends at LSN " + res.backup().stopLsn() + ") from "
        + RestoreJob.source(config, r).root() + " into " + to.toAbsolutePath().normalize());
    out.println("  " + res.files() + " files, " + res.bytes() + " bytes in "
        + String.format(java.util.Locale.ROOT, "%.1f", res.duration().toMillis() / 1000.0) + " s");
    out.println("  recovery target: " + RestoreJob.target(r).describe());
    out.println("  the archive covers " + res.window().describe());
    out.println("next step: start PostgreSQL on " + to.toAbsolutePath().normalize()
        + "; it replays WAL through " + r.walArchiver() + " fetch (the agent must be running"
        + " and reach the repository)");
    return ExitCodes.OK;
  }

  /** The configured restore settings with every option given here put in their place. */
  PgsidecarConfig.Restore options(PgsidecarConfig.Restore c) {
    long targets = Stream.of(targetTime, targetLsn, targetXid, targetName)
        .filter(s -> s != null).count() + (targetImmediate ? 1 : 0);
    if (targets > 1) {
      throw new CommandLine.ParameterException(spec.commandLine(), "give at most one of --target-time,"
          + " --target-lsn, --target-xid, --target-name, --target-immediate");
    }
    boolean given = targets == 1;
    if (targetAction != null && !targetAction.matches("promote|pause|shutdown")) {
      throw new CommandLine.ParameterException(spec.commandLine(),
          "--target-action '" + targetAction + "': expected promote, pause or shutdown");
    }
    return new PgsidecarConfig.Restore(true, or(backup, c.backup()),
        given ? Optional.ofNullable(targetTime) : c.targetTime(),
        given ? Optional.ofNullable(targetLsn) : c.targetLsn(),
        given ? Optional.ofNullable(targetXid) : c.targetXid(),
        given ? Optional.ofNullable(targetName) : c.targetName(),
        given ? targetImmediate : c.targetImmediate(),
        targetExclusive || c.targetExclusive(), or(targetAction, c.targetAction()),
        or(targetTimeline, c.targetTimeline()),
        fromCluster != null ? Optional.of(fromCluster) : c.fromCluster(),
        walArchiver != null ? walArchiver : LocalWalClient.choose(c.walArchiver()),
        socket != null ? Optional.of(socket) : c.socket());
  }

  private static String or(String given, String configured) {
    return given != null ? given : configured;
  }
}
