package io.pgsidecar.core.repo;

import java.util.Objects;

/**
 * Where each kind of object lives in storage (see docs/ARCHITECTURE.md, "The repository"):
 *
 * <pre>
 * [prefix/]cluster/cluster.json
 * [prefix/]cluster/wal/&lt;timeline+log, 16 hex&gt;/&lt;segment&gt;[.partial|.offset.backup]&lt;suffix&gt;
 * [prefix/]cluster/wal/&lt;timeline&gt;.history&lt;suffix&gt;
 * [prefix/]cluster/base/&lt;backup-id&gt;/data.tar&lt;suffix&gt; and backup.json (written last)
 * [prefix/]cluster/dumps/&lt;dump-id&gt;/globals.sql&lt;suffix&gt;, &lt;db&gt;.dump&lt;suffix&gt;, dump.json (last)
 * </pre>
 *
 * <p>{@code suffix} is the codec pipeline's suffix ({@code .zst}, {@code .zst.pgp}).
 */
public record RepositoryLayout(String prefix, String cluster) {

  public RepositoryLayout {
    Objects.requireNonNull(cluster, "cluster");
    prefix = prefix == null ? "" : trimSlashes(prefix);
    if (cluster.isEmpty() || cluster.contains("/")) {
      throw new IllegalArgumentException("cluster name must be non-empty and contain no '/': " + cluster);
    }
  }

  /** The same repository seen for another cluster (restore from another cluster's archive). */
  public RepositoryLayout forCluster(String otherCluster) {
    return new RepositoryLayout(prefix, otherCluster);
  }

  public String root() {
    return (prefix.isEmpty() ? "" : prefix + "/") + cluster + "/";
  }

  public String clusterJson() {
    return root() + "cluster.json";
  }

  public String walRoot() {
    return root() + "wal/";
  }

  /**
   * Key of a WAL archive file. {@code fileName} is what PostgreSQL calls it in pg_wal
   * (a segment, {@code .partial}, {@code .backup} or {@code .history} name), already validated.
   */
  public String walKey(String fileName, String suffix) {
    if (fileName.endsWith(".history")) {
      return walRoot() + fileName + suffix;
    }
    return walRoot() + fileName.substring(0, 16) + "/" + fileName + suffix;
  }

  public String baseRoot() {
    return root() + "base/";
  }

  public String baseDir(String backupId) {
    return baseRoot() + backupId + "/";
  }

  public String baseData(String backupId, String suffix) {
    return baseDir(backupId) + "data.tar" + suffix;
  }

  public String baseManifest(String backupId) {
    return baseDir(backupId) + "backup.json";
  }

  public String dumpRoot() {
    return root() + "dumps/";
  }

  public String dumpDir(String dumpId) {
    return dumpRoot() + dumpId + "/";
  }

  public String dumpGlobals(String dumpId, String suffix) {
    return dumpDir(dumpId) + "globals.sql" + suffix;
  }

  public String dumpDatabase(String dumpId, String database, String suffix) {
    return dumpDir(dumpId) + database + ".dump" + suffix;
  }

  public String dumpManifest(String dumpId) {
    return dumpDir(dumpId) + "dump.json";
  }

  private static String trimSlashes(String s) {
    int b = 0;
    int e = s.length();
    while (b < e && s.charAt(b) == '/') {
      b++;
    }
    while (e > b && s.charAt(e - 1) == '/') {
      e--;
    }
    return s.substring(b, e);
  }
}
