package io.pgsidecar.agent.wal.archive;

import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.storage.ObjectInfo;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.wal.WalFileName;
import java.io.IOException;
import java.util.Comparator;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Finds the stored object of a WAL file whatever codec suffix it was written with: the key is
 * {@code walKey(name, suffix)} and the suffix depends on the configuration at the time of the
 * push ({@code .zst}, {@code .zst.pgp}, nothing). A name is stored at most once, so a push after
 * a configuration change must still see the earlier object, and a fetch must find it.
 */
public final class WalObjects {

  /** Codec suffixes: dot-separated lower-case words ({@code .zst.pgp}); never {@code .partial}. */
  private static final Pattern CODEC_SUFFIX = Pattern.compile("(\\.[a-z][a-z0-9]*)*");

  private WalObjects() {}

  /**
   * The object stored for {@code name}, preferring {@code preferredSuffix} when (against the rules)
   * several exist, or empty when the archive does not have it.
   */
  public static Optional<ObjectInfo> find(Storage storage, RepositoryLayout layout, WalFileName name,
      String preferredSuffix) throws IOException {
    String stem = layout.walKey(name.name(), "");
    try (Stream<ObjectInfo> objects = storage.list(stem)) {
      return objects
          .filter(o -> isCodecSuffix(o.key().substring(stem.length())))
          .min(Comparator.comparing(o -> !o.key().equals(stem + preferredSuffix)));
    }
  }

  private static boolean isCodecSuffix(String rest) {
    return !rest.startsWith(".partial") && CODEC_SUFFIX.matcher(rest).matches();
  }
}
