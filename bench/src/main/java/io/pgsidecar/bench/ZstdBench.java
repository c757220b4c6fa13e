package io.pgsidecar.bench;

import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.codec.Pipelines;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Our zstd pipeline over a directory of real WAL segments, read from the page cache and thrown
 * away like {@code zstd -c files > /dev/null} does: one operation compresses every segment.
 * Run by bench/codec.sh with {@code -p walDir=...}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 5, time = 3)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx256m"})
public class ZstdBench {

  @Param("")
  public String walDir;

  @Param({"1", "3"})
  public int level;

  private List<Path> segments;
  private CodecPipeline pipeline;

  @Setup
  public void setUp() throws IOException {
    segments = BenchFiles.list(Path.of(walDir));
    pipeline = Pipelines.zstd(level);
  }

  @Benchmark
  public long compressSegments() throws IOException {
    long stored = 0;
    for (Path segment : segments) {
      stored += BenchFiles.encode(pipeline, segment);
    }
    return stored;
  }
}
