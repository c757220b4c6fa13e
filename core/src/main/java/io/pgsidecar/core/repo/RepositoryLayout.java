package io.pgsidecar.core.repo;

import java.util.Arrays;
import java.util.Locale;
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
 * [prefix/]cluster/base/&lt;id&gt;/keep.json, dumps/&lt;id&gt;/keep.json   permanent marks (retention)
 * </pre>
 *
 * <p>{@code suffix} is the codec pipeline's suffix ({@code .zst}, {@code .zst.pgp}).
 *
 * <p>The cluster name and each folder of the prefix become one segment of every key, so each must
 * be a plain name: not empty, no {@code /} or {@code \}, no control character, and not starting
 * with {@code .} ({@code .} and {@code ..} would leave the repository on a file system; the
 * filesystem driver keeps its own files under dot names and refuses such keys). A cluster name
 * can come from a request ({@code ?cluster=}), so this is checked here, once, for every driver.
 */
public record RepositoryLayout(String prefix, String cluster) {

  public RepositoryLayout {
    Objects.requireNonNull(cluster, "cluster");
    prefix = prefix == null ? "" : String.join("/", Arrays.stream(prefix.split("/+"))
        .filter(s -> !s.isEmpty()).toList());
    requirePlainName("cluster name", cluster, cluster);
    for (String folder : prefix.isEmpty() ? new String[0] : prefix.split("/")) {
      requirePlainName("storage prefix", prefix, folder);
    }
  }

  private static void requirePlainName(String what, String whole, String name) {
    boolean plain = !name.isEmpty() && !name.startsWith(".")
        && name.chars().noneMatch(c -> c == '/' || c == '\\' || c < 0x20 || c == 0x7f);
    if (!plain) {
      throw new IllegalArgumentException(what + " " + quote(whole) + " cannot be part of a storage"
          + " key: " + (whole.equals(name) ? "it" : "its folder " + quote(name)) + " must be a"
          + " non-empty name without '/', '\\' or control characters, not starting with '.'");
    }
  }

  /** {@code s} in quotes, control characters escaped, cut when long: it may come from a request. */
  static String quote(String s) {
    StringBuilder sb = new StringBuilder("'");
    s.chars().limit(100).forEach(c -> sb.append(c < 0x20 || c == 0x7f
        ? String.format(Locale.ROOT, "\\x%02X", c) : String.valueOf((char) c)));
    return sb.append(s.length() > 100 ? "...' (" + s.length() + " characters)" : "'").toString();
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

  /**
   * A base backup's keep mark: its own small object, so that marking a backup permanent creates
   * an object and releasing it deletes one, and nothing stored is ever rewritten.
   */
  public String baseKeepMark(String backupId) {
    return baseDir(backupId) + KEEP_MARK;
  }

  /** A dump's keep mark (see {@link #baseKeepMark}). */
  public String dumpKeepMark(String dumpId) {
    return dumpDir(dumpId) + KEEP_MARK;
  }

  /** File name of a keep mark inside a backup's or dump's folder. */
  public static final String KEEP_MARK = "keep.json";

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
}
