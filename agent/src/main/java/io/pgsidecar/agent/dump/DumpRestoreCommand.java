package io.pgsidecar.agent.dump;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgsidecar.agent.cli.support.CliText;
import io.pgsidecar.agent.cli.support.ExitCodes;
import io.pgsidecar.agent.cli.support.OutputOption;
import io.pgsidecar.agent.postgres.PgConnection;
import io.pgsidecar.core.job.JobException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code pgsidecar dump restore ID}: one database of a dump into a server, with pg_restore, in
 * this process ({@link DumpRestorer} reads storage with the configuration), which is what moving a
 * database to a new server needs. {@code --list} prints the archive's table of contents.
 */
@Command(name = "restore", description = "Restore one database of a dump into a server with"
    + " pg_restore (runs here, reading storage directly); --list prints the archive's table of"
    + " contents for --use-list.")
final class DumpRestoreCommand implements Callable<Integer> {

  private static final ObjectMapper JSON = new ObjectMapper();

  @ParentCommand
  DumpCommand dump;

  @Spec
  CommandSpec spec;

  @Parameters(paramLabel = "ID")
  String id;

  @Option(names = "--db", paramLabel = "NAME",
      description = "Database of the dump (may be left out when the dump holds one).")
  String database;

  @Option(names = "--target", paramLabel = "URL", description = "postgresql://user@host:port/"
      + "maintenance-db (password: PGPASSWORD or PGPASSFILE rather than the URL).")
  String target;

  @Option(names = "--list", description = "Print the table of contents and restore nothing.")
  boolean list;

  @Option(names = "--as", paramLabel = "NEWNAME", description = "Create NEWNAME and restore"
      + " into it.")
  String as;

  @Option(names = "--globals", description = "First recreate roles (with their password"
      + " hashes) and tablespaces; roles that exist on the target are left unchanged.")
  boolean globals;

  @Option(names = "--create", description = "Let pg_restore create the database under its"
      + " dumped name.")
  boolean create;

  @Option(names = "--clean", description = "Drop dumped objects before recreating them."
      + " Nothing is dropped without it.")
  boolean clean;

  /** {@code --schema-only} and {@code --data-only} exclude each other. */
  static final class Section {
    @Option(names = "--schema-only", description = "Restore only the definitions.")
    boolean schemaOnly;

    @Option(names = "--data-only", description = "Restore only the rows.")
    boolean dataOnly;
  }

  @ArgGroup(exclusive = true)
  Section section;

  @Option(names = "--no-owner", description = "Do not restore object ownership.")
  boolean noOwner;

  @Option(names = "--table", paramLabel = "T", description = "Restore only table T"
      + " (repeatable).")
  List<String> tables;

  @Option(names = "--jobs", defaultValue = "1", description = "Parallel pg_restore jobs; above"
      + " 1 the dump is decoded to a temp file first.")
  int jobs;

  @Option(names = "--use-list", paramLabel = "FILE", description = "Restore only the entries"
      + " of FILE (an edited --list output).")
  Path useList;

  @Option(names = "--temp-dir", paramLabel = "DIR", description = "Where --jobs puts its temp"
      + " file (default: java.io.tmpdir).")
  Path tempDir;

  @Option(names = {"--cluster", "--from-cluster"}, paramLabel = "NAME", description = "Read the"
      + " dump of another cluster of the repository (--from-cluster is the older spelling).")
  String fromCluster;

  @Mixin OutputOption output;

  @Override
  public Integer call() {
    try (DumpRestorer opened = dump.open(id)) {
      DumpRestorer restorer = fromCluster == null ? opened : opened.forCluster(fromCluster);
      String db = database != null ? database : restorer.onlyDatabase(id);
      if (list) {
        restorer.list(id, db, out());
        return ExitCodes.OK;
      }
      if (target == null) {
        return refuse(ExitCodes.USAGE, "--target URL is required (or --list)");
      }
      RestoreOptions options = new RestoreOptions(Optional.ofNullable(as), globals, create, clean,
          section != null && section.schemaOnly, section != null && section.dataOnly, noOwner,
          tables, jobs, Optional.ofNullable(useList), tempDir);
      DumpRestorer.Result result = restorer.restore(id, db, PgConnection.fromUrl(target), options);
      result.warnings().forEach(w -> err().println("pgsidecar dump restore: globals: " + w));
      err().flush();
      if (output.json()) {
        out().println(JSON.writeValueAsString(result));
      } else {
        out().println("restored database " + db + " of dump " + id + " into " + result.database()
            + " (" + CliText.size(result.bytes()) + " of archive, checksum verified)"
            + (result.keptRoles().isEmpty() ? ""
                : "; roles left unchanged on the target: " + String.join(", ", result.keptRoles())));
      }
      out().flush();
      return ExitCodes.OK;
    } catch (IllegalArgumentException e) {
      return refuse(ExitCodes.USAGE, e.getMessage());
    } catch (JobException e) {
      return refuse(ExitCodes.of(e), e.getMessage());
    } catch (IOException e) {
      return refuse(ExitCodes.of(e), e.getMessage());
    }
  }

  private int refuse(int code, String message) {
    err().println("pgsidecar dump restore: " + message);
    err().flush();
    return code;
  }

  private PrintWriter out() {
    return spec.commandLine().getOut();
  }

  private PrintWriter err() {
    return spec.commandLine().getErr();
  }
}
