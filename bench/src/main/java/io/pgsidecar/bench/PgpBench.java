package io.pgsidecar.bench;

import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.codec.Pipelines;
import io.pgsidecar.core.config.PgsidecarConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Our OpenPGP passphrase encryption (AES-256, MDC, no compression) of one file, the same work as
 * {@code gpg --symmetric --cipher-algo AES256 --compress-algo none -o /dev/null FILE}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 5, time = 3)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx256m"})
public class PgpBench {

  @Param("")
  public String input;

  private Path passphraseFile;
  private CodecPipeline pipeline;

  @Setup
  public void setUp() throws IOException {
    passphraseFile = Files.createTempFile("bench-pass", "");
    Files.writeString(passphraseFile, "bench passphrase\n");
    pipeline = Pipelines.forConfig(new PgsidecarConfig.Compression("none", 0, 0),
        new PgsidecarConfig.Encryption(List.of(), Optional.of(passphraseFile), List.of(),
            Optional.empty()));
  }

  @TearDown
  public void tearDown() throws IOException {
    Files.deleteIfExists(passphraseFile);
  }

  @Benchmark
  public long encryptWithPassphrase() throws IOException {
    return BenchFiles.encode(pipeline, Path.of(input));
  }
}
