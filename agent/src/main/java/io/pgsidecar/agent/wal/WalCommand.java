package io.pgsidecar.agent.wal;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pgsidecar.agent.cli.support.ClusterOption;
import io.pgsidecar.agent.cli.support.CommandContext;
import io.pgsidecar.agent.cli.support.OutputOption;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.repo.ArchiveCatalog;
import io.pgsidecar.core.repo.BackupManifest;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.storage.factory.StorageFactory;
import java.io.PrintWriter;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code pgsidecar wal list}: what the archive holds, read straight from storage (no agent
 * needed): segment count, first and last segment, timelines, and the recoverable window.
 */
@Command(name = "wal", mixinStandardHelpOptions = true, synopsisSubcommandLabel = "COMMAND",
    description = "Look at the WAL archive.", subcommands = {WalCommand.ListCommand.class})
public final class WalCommand {

  @Command(name = "list", mixinStandardHelpOptions = true,
      description = "Archived segments (count, first, last) and the recoverable window.")
  static final class ListCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Mixin OutputOption output;

    @Mixin ClusterOption cluster;

    @Override
    public Integer call() throws Exception {
      PgsidecarConfig config = CommandContext.of(spec).config();
      RepositoryLayout layout = new RepositoryLayout(config.storage().prefix(),
          cluster.of(config));
      PrintWriter out = spec.commandLine().getOut();
      try (Storage storage = StorageFactory.open(config.storage())) {
        ArchiveCatalog catalog = new ArchiveCatalog(storage, layout);
        List<ArchiveCatalog.WalEntry> segments = catalog.segments();
        List<BackupManifest> backups = catalog.backups();
        Optional<ArchiveCatalog.Window> window = ArchiveCatalog.window(backups, segments);
        List<Long> timelines = segments.stream().map(s -> s.name().timeline()).distinct().toList();
        String first = segments.isEmpty() ? null : segments.getFirst().name().name();
        String last = segments.isEmpty() ? null : segments.getLast().name().name();
        if (output.json()) {
          ObjectNode n = BackupManifest.mapper().createObjectNode();
          n.put("archive", catalog.describe());
          n.put("segments", segments.size());
          n.put("first", first);
          n.put("last", last);
          n.putPOJO("timelines", timelines);
          n.put("backups", backups.size());
          window.ifPresentOrElse(w -> {
            ObjectNode wn = n.putObject("window");
            wn.put("firstTime", w.firstTime().toString());
            wn.put("firstLsn", w.firstLsn().toString());
            wn.put("firstBackup", w.firstBackup());
            wn.put("lastTime", w.lastTime().toString());
            wn.put("lastLsn", w.lastLsn().toString());
            wn.put("lastSegment", w.lastSegment());
          }, () -> n.putNull("window"));
          out.println(BackupManifest.mapper().writeValueAsString(n));
        } else {
          out.println("archive " + catalog.describe() + ": " + segments.size() + " segments"
              + (segments.isEmpty() ? "" : ", first " + first + ", last " + last
                  + ", timelines " + timelines) + "; " + backups.size() + " complete backups");
          out.println(window.map(w -> "recoverable " + w.describe()).orElse(
              "nothing recoverable yet: a point-in-time restore needs a complete base backup and"
                  + " its WAL"));
        }
      }
      return 0;
    }
  }
}
