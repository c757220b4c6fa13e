package io.pgsidecar.bench;

import io.pgsidecar.core.codec.Pipelines;
import java.nio.file.Path;

/** Prints the total size our zstd at a level stores for every file of a directory. */
public final class StoredSize {
  private StoredSize() {}

  /** Usage: {@code StoredSize <dir> zstd <level>}. */
  public static void main(String[] args) throws Exception {
    var pipeline = Pipelines.zstd(Integer.parseInt(args[2]));
    long total = 0;
    for (Path file : BenchFiles.list(Path.of(args[0]))) {
      total += BenchFiles.encode(pipeline, file);
    }
    System.out.println(total);
  }
}
