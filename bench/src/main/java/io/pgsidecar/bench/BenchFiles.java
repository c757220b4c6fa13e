package io.pgsidecar.bench;

import io.pgsidecar.core.codec.CodecPipeline;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** Input files for the benchmarks and the one loop that pushes a file through a pipeline. */
final class BenchFiles {

  /** Same read size as the zstd CLI, so neither side wins on system calls. */
  static final int BUFFER = 128 * 1024;

  private BenchFiles() {}

  static List<Path> list(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      List<Path> all = files.filter(Files::isRegularFile).sorted().toList();
      if (all.isEmpty()) {
        throw new IOException("no input files in " + dir);
      }
      return all;
    }
  }

  /** Encodes {@code file} into a counting null sink; returns the encoded size. */
  static long encode(CodecPipeline pipeline, Path file) throws IOException {
    var sink = new CountingSink();
    byte[] buffer = new byte[BUFFER];
    try (InputStream in = Files.newInputStream(file); OutputStream out = pipeline.encode(sink)) {
      for (int n; (n = in.read(buffer)) != -1; ) {
        out.write(buffer, 0, n);
      }
    }
    return sink.count;
  }

  /** Discards bytes, counting them. */
  static final class CountingSink extends OutputStream {
    long count;

    @Override
    public void write(int b) {
      count++;
    }

    @Override
    public void write(byte[] b, int off, int len) {
      count += len;
    }
  }
}
