package io.pgsidecar.agent.dump;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * How {@link DumpRestorer} restores one database of a dump; mirrors {@code pg_restore}'s options.
 *
 * @param as create this database on the target and restore into it (instead of the dumped name)
 * @param globals first recreate roles (with their password hashes) and tablespaces
 * @param create let pg_restore create the database under its dumped name
 * @param clean drop dumped objects before recreating them; nothing is ever dropped without it
 * @param noOwner do not restore object ownership (for targets without the source's roles)
 * @param tables restore only these tables (pg_restore {@code --table}, repeatable)
 * @param jobs pg_restore parallel jobs; above 1 the dump is first decoded to a temp file
 * @param useList restore only the entries of this list, edited from {@code dump restore --list}
 * @param tempDir where the temp file for {@code jobs > 1} goes
 */
public record RestoreOptions(Optional<String> as, boolean globals, boolean create, boolean clean,
    boolean schemaOnly, boolean dataOnly, boolean noOwner, List<String> tables, int jobs,
    Optional<Path> useList, Path tempDir) {

  public RestoreOptions {
    as = as == null ? Optional.empty() : as;
    tables = tables == null ? List.of() : List.copyOf(tables);
    useList = useList == null ? Optional.empty() : useList;
    tempDir = tempDir == null ? Path.of(System.getProperty("java.io.tmpdir")) : tempDir;
    if (jobs < 1) {
      throw new IllegalArgumentException("--jobs must be 1 or more, got " + jobs);
    }
    if (schemaOnly && dataOnly) {
      throw new IllegalArgumentException("--schema-only and --data-only cannot be used together");
    }
    if (clean && dataOnly) {
      throw new IllegalArgumentException("--clean and --data-only cannot be used together:"
          + " --clean drops and recreates objects, --data-only restores rows into existing ones");
    }
    if (as.isPresent() && create) {
      throw new IllegalArgumentException("--as and --create cannot be used together: --as "
          + as.get() + " creates that database itself, --create creates the dumped name");
    }
  }

  /** Restore everything into the existing database of the dumped name. */
  public static RestoreOptions defaults() {
    return new RestoreOptions(Optional.empty(), false, false, false, false, false, false,
        List.of(), 1, Optional.empty(), null);
  }

  public RestoreOptions withAs(String name) {
    return new RestoreOptions(Optional.of(name), globals, create, clean, schemaOnly, dataOnly,
        noOwner, tables, jobs, useList, tempDir);
  }

  public RestoreOptions withGlobals() {
    return new RestoreOptions(as, true, create, clean, schemaOnly, dataOnly, noOwner, tables, jobs,
        useList, tempDir);
  }

  public RestoreOptions withClean() {
    return new RestoreOptions(as, globals, create, true, schemaOnly, dataOnly, noOwner, tables,
        jobs, useList, tempDir);
  }

  public RestoreOptions withTables(List<String> only) {
    return new RestoreOptions(as, globals, create, clean, schemaOnly, dataOnly, noOwner, only,
        jobs, useList, tempDir);
  }

  public RestoreOptions withJobs(int n, Path dir) {
    return new RestoreOptions(as, globals, create, clean, schemaOnly, dataOnly, noOwner, tables, n,
        useList, dir);
  }

  /** The arguments of pg_restore for these options, restoring into {@code database}. */
  List<String> pgRestoreArgs(String database) {
    List<String> args = new ArrayList<>();
    // A conninfo keeps any database name literal (a bare name with '=' would be parsed as one).
    args.add("--dbname=dbname=" + conninfoValue(database));
    args.add("--exit-on-error");
    args.add("--no-password");
    if (create()) {
      args.add("--create");
    }
    if (clean()) {
      args.add("--clean");
      args.add("--if-exists");
    }
    if (schemaOnly()) {
      args.add("--schema-only");
    }
    if (dataOnly()) {
      args.add("--data-only");
    }
    if (noOwner()) {
      args.add("--no-owner");
    }
    for (String table : tables()) {
      args.add("--table=" + table);
    }
    useList().ifPresent(list -> args.add("--use-list=" + list));
    if (jobs() > 1) {
      args.add("--jobs=" + jobs());
    }
    return args;
  }

  private static String conninfoValue(String value) {
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'";
  }
}
