package io.pgsidecar.agent.verify;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.pgsidecar.agent.cli.support.CliText;
import io.pgsidecar.agent.cli.support.ClusterOption;
import io.pgsidecar.agent.cli.support.CommandContext;
import io.pgsidecar.agent.cli.support.ExitCodes;
import io.pgsidecar.agent.cli.support.OutputOption;
import io.pgsidecar.agent.cli.support.ProgressLine;
import io.pgsidecar.agent.cli.support.ProgressStorage;
import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.codec.Pipelines;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.job.JobException;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.storage.factory.StorageFactory;
import io.pgsidecar.core.verify.WalReport;
import io.pgsidecar.core.verify.WalVerifier;
import java.io.PrintWriter;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code pgsidecar backup verify ID [--restore]}, {@code pgsidecar dump verify ID [--restore]}
 * and {@code pgsidecar wal verify}: run in this process, reading storage with the configuration
 * (no agent needed), so they work wherever the repository and PostgreSQL's programs are. Exit
 * codes ({@link ExitCodes}): 0 verified, 5 the stored data is wrong, 4 no such backup or dump,
 * 3 storage cannot be read, 2 usage or configuration, 1 the verification could not run.
 */
public final class VerifyCommand {

  static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private VerifyCommand() {}

  /** What every verify command opens from the configuration. */
  abstract static class Base implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Mixin OutputOption output;

    @Mixin ClusterOption cluster;

    @Option(names = "--progress", defaultValue = "auto", description = "backup and dump verify:"
        + " auto (redrawn on a terminal, a line every 10 s otherwise), always (redrawn) or never;"
        + " on stderr, stdout holds the result.")
    ProgressLine.Mode progress;

    abstract String what();

    abstract Object run(Storage storage, RepositoryLayout layout, CodecPipeline pipeline,
        VerifySettings settings) throws Exception;

    abstract void print(PrintWriter out, Object result);

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      try {
        PgsidecarConfig config = CommandContext.of(spec).config();
        RepositoryLayout layout = new RepositoryLayout(config.storage().prefix(),
            cluster.of(config));
        CodecPipeline pipeline = Pipelines.forConfig(config.compression(), config.encryption());
        try (Storage storage = StorageFactory.open(config.storage())) {
          Object result = run(storage, layout, pipeline, VerifySettings.of(config));
          if (output.json()) {
            out.println(JSON.writeValueAsString(result instanceof WalReport r ? walJson(r) : result));
          } else {
            print(out, result);
          }
          return result instanceof WalReport r && !r.ok() ? ExitCodes.VERIFICATION_FAILED
              : ExitCodes.OK;
        }
      } catch (Exception e) {
        int code = ExitCodes.of(e);
        err.println("pgsidecar " + what() + ": " + e.getMessage());
        if (output.json() && e instanceof JobException j) {
          out.println(toJson(Map.of("error", Map.of("kind", j.kind().name(), "message",
              j.getMessage(), "details", j.details()))));
        }
        return code;
      } finally {
        out.flush();
        err.flush();
      }
    }
  }

  /** The JSON of {@code wal verify} (also in {@code /v1/status}'s drill part). */
  static Map<String, Object> walJson(WalReport r) {
    Map<String, Object> m = new java.util.LinkedHashMap<>();
    m.put("archive", r.archive());
    m.put("ok", r.ok());
    m.put("segmentSize", r.segmentSize());
    m.put("segmentSizeSource", r.segmentSizeSource());
    m.put("fromBackup", r.from().orElse(null));
    m.put("timelines", r.timelines());
    m.put("missingSegments", r.missingSegments());
    m.put("problems", r.problems());
    m.put("newestSegment", r.newestSegment());
    m.put("newestArchivedAt", r.newestArchivedAt().map(Object::toString).orElse(null));
    return m;
  }

  static String toJson(Object o) {
    try {
      return JSON.writeValueAsString(o);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @Command(name = "verify", mixinStandardHelpOptions = true,
      description = "Read a base backup back and prove it: every recorded checksum,"
          + " pg_verifybackup with its WAL from the archive; with --restore, restore it to a"
          + " scratch directory, start PostgreSQL there to consistency and run the probe query."
          + " Exit 5 when the backup is damaged.")
  public static final class Backup extends Base {
    @Parameters(paramLabel = "ID", description = "The backup (pgsidecar backup list).")
    String id;

    @Option(names = "--restore", description = "Also restore and start it (verify.work-dir).")
    boolean restore;

    @Override
    String what() {
      return "backup verify";
    }

    @Override
    Object run(Storage storage, RepositoryLayout layout, CodecPipeline pipeline,
        VerifySettings settings) {
      return new BackupVerifier(new ProgressStorage(storage, "backup verify " + id,
          ProgressLine.of(progress, spec.commandLine().getErr())), layout, pipeline, settings).verify(id, restore);
    }

    @Override
    void print(PrintWriter out, Object result) {
      BackupVerification v = (BackupVerification) result;
      out.println("backup " + v.backupId() + " verified in " + v.durationMillis() + " ms");
      out.println("  data       " + v.dataKey() + ": " + CliText.size(v.storedSize())
          + " stored, " + CliText.size(v.plainSize()) + " tar");
      v.checks().forEach(c -> out.println("             " + c));
      out.println("  WAL        " + v.walSegments().getFirst()
          + (v.walSegments().size() > 1 ? ".." + v.walSegments().getLast() : "") + " ("
          + v.walSegments().size() + (v.walSegments().size() == 1 ? " segment" : " segments")
          + ", checksums match)");
      out.println("  manifest   pg_verifybackup: " + v.pgVerifybackup());
      if (v.restored()) {
        out.println("  restore    started to consistency on a private socket; probe: "
            + v.probe());
      }
      out.println("  steps      " + v.stepsMillis().entrySet().stream()
          .map(e -> e.getKey() + " " + e.getValue() + " ms").collect(Collectors.joining(", ")));
    }
  }

  @Command(name = "verify", mixinStandardHelpOptions = true,
      description = "Read a dump back: every recorded checksum, pg_restore --list on each"
          + " database archive; with --restore, restore it into a scratch server. Exit 5 when"
          + " the dump is damaged.")
  public static final class Dump extends Base {
    @Parameters(paramLabel = "ID", description = "The dump (pgsidecar dump list).")
    String id;

    @Option(names = "--restore", description = "Also restore it into a scratch server"
        + " (verify.work-dir).")
    boolean restore;

    @Override
    String what() {
      return "dump verify";
    }

    @Override
    Object run(Storage storage, RepositoryLayout layout, CodecPipeline pipeline,
        VerifySettings settings) {
      return new DumpVerifier(new ProgressStorage(storage, "dump verify " + id,
          ProgressLine.of(progress, spec.commandLine().getErr())), layout, pipeline, settings).verify(id, restore);
    }

    @Override
    void print(PrintWriter out, Object result) {
      DumpVerification v = (DumpVerification) result;
      out.println("dump " + v.dumpId() + " verified in " + v.durationMillis() + " ms");
      for (DumpVerification.DumpObject o : v.objects()) {
        out.println("  " + o.name() + ": " + o.key() + ", " + CliText.size(o.plainSize())
            + (o.tocEntries() > 0 ? ", " + o.tocEntries() + " entries listed by pg_restore" : "")
            + "; " + String.join(", ", o.checks()));
      }
      if (v.restored()) {
        v.tables().forEach((db, n) -> out.println("  restored " + db + " into a scratch server: "
            + n + " tables"));
      }
    }
  }

  @Command(name = "verify", mixinStandardHelpOptions = true,
      description = "Check that every WAL segment is archived from the oldest backup's start to"
          + " the newest segment, per timeline, following .history files; names each gap."
          + " Exit 5 when there is a gap.")
  public static final class Wal extends Base {
    @Override
    String what() {
      return "wal verify";
    }

    @Override
    Object run(Storage storage, RepositoryLayout layout, CodecPipeline pipeline,
        VerifySettings settings) {
      return new WalVerifier(storage, layout, pipeline).verify();
    }

    @Override
    void print(PrintWriter out, Object result) {
      WalReport r = (WalReport) result;
      out.println("archive " + r.archive() + ": " + CliText.size(r.segmentSize())
          + " segments (" + r.segmentSizeSource() + "), checked from "
          + r.from().map(b -> "the start of backup " + b).orElse("the oldest archived segment"));
      for (WalReport.Timeline t : r.timelines()) {
        out.println("  timeline " + t.timeline() + ": " + t.first() + ".." + t.last() + ", "
            + t.present() + " present, " + t.missing() + " missing");
      }
      if (r.ok()) {
        out.println("no gap");
      } else {
        r.problems().forEach(out::println);
      }
    }
  }
}
