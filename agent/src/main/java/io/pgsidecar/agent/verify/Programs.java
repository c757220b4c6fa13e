package io.pgsidecar.agent.verify;

import io.pgsidecar.core.job.JobException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs the PostgreSQL programs a verification needs (pg_verifybackup, initdb, pg_ctl, psql,
 * pg_restore) from {@code postgres.bin-dir}, as {@code verify.run-as} when the agent runs as root
 * (the server refuses root: {@code runuser -u USER -- env K=V program ...}), else as itself.
 * Output is collected whole (these programs say little); a run is bounded by a timeout and the
 * child is killed when it passes.
 */
final class Programs {

  /** What a program said and how it ended. */
  record Outcome(int exitCode, String stdout, String stderr) {
    String said() {
      return (stderr.isBlank() ? stdout : stderr).strip();
    }
  }

  private static final boolean ROOT = "root".equals(System.getProperty("user.name"));

  private final Path binDir;
  private final Optional<String> runAs;

  Programs(Path binDir, Optional<String> runAs) {
    this.binDir = binDir;
    this.runAs = runAs.filter(u -> !u.isBlank());
  }

  /**
   * The programs a restore drill runs ({@code pg_ctl} starts {@code postgres},
   * {@code pg_verifybackup} runs {@code pg_waldump}): PostgreSQL's server programs, which the
   * pgsidecar image does not carry.
   */
  static final List<String> DRILL =
      List.of("pg_verifybackup", "pg_waldump", "pg_ctl", "postgres", "psql");

  /** "pg_ctl, postgres not found in DIR" for those of {@code programs} not there, or empty. */
  Optional<String> missing(List<String> programs) {
    List<String> absent = programs.stream()
        .filter(p -> !Files.isExecutable(binDir.resolve(p))).toList();
    return absent.isEmpty() ? Optional.empty()
        : Optional.of(String.join(", ", absent) + " not found in " + binDir);
  }

  /** Whether files the programs write must be handed to another user first. */
  Optional<String> otherUser() {
    return ROOT ? runAs : Optional.empty();
  }

  /** Gives {@code dir} (recursively) to the run-as user when programs run as another user. */
  void handOver(Path dir) {
    if (otherUser().isEmpty()) {
      return;
    }
    Outcome o = exec(List.of("chown", "-R", otherUser().get(), dir.toString()), Map.of(),
        Duration.ofMinutes(5), "chown");
    if (o.exitCode() != 0) {
      throw new JobException(JobException.Kind.FAILED, "cannot give " + dir + " to user "
          + otherUser().get() + " (verify.run-as): " + o.said(), null);
    }
  }

  /** Runs {@code program args} to its end (or kills it after {@code timeout}). */
  Outcome run(String program, List<String> args, Map<String, String> env, Duration timeout) {
    Path exe = binDir.resolve(program);
    if (!Files.isExecutable(exe)) {
      throw new JobException(JobException.Kind.FAILED, program + " not found at " + exe
          + "; set postgres.bin-dir to the directory of the PostgreSQL programs (the server's"
          + " major version)", null);
    }
    List<String> cmd = new ArrayList<>();
    Map<String, String> childEnv = new java.util.LinkedHashMap<>(env);
    childEnv.putIfAbsent("LC_ALL", "C");
    if (otherUser().isPresent()) {
      cmd.addAll(List.of(Files.isExecutable(Path.of("/usr/sbin/runuser")) ? "/usr/sbin/runuser"
          : "runuser", "-u", otherUser().get(), "--", "env"));
      childEnv.forEach((k, v) -> cmd.add(k + "=" + v));
      childEnv = Map.of();
    }
    cmd.add(exe.toString());
    cmd.addAll(args);
    return exec(cmd, childEnv, timeout, program);
  }

  private static Outcome exec(List<String> cmd, Map<String, String> env, Duration timeout,
      String name) {
    ProcessBuilder pb = new ProcessBuilder(cmd)
        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    pb.environment().putAll(env);
    Process p;
    try {
      p = pb.start();
    } catch (IOException e) {
      throw new JobException(JobException.Kind.FAILED, "cannot start " + name + ": "
          + e.getMessage(), e);
    }
    CompletableFuture<String> out = drain(p.getInputStream(), name + "-stdout");
    CompletableFuture<String> err = drain(p.getErrorStream(), name + "-stderr");
    try {
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        p.waitFor();
        throw new JobException(JobException.Kind.FAILED, name + " did not finish within "
            + timeout.toSeconds() + " s and was stopped (verify.timeout)", null);
      }
      return new Outcome(p.exitValue(), out.join(), err.join());
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new JobException(JobException.Kind.FAILED, name + " was interrupted and stopped", e);
    }
  }

  private static CompletableFuture<String> drain(InputStream in, String name) {
    CompletableFuture<String> f = new CompletableFuture<>();
    Thread.ofVirtual().name(name).start(() -> {
      try (in) {
        f.complete(new String(in.readAllBytes(), StandardCharsets.UTF_8));
      } catch (IOException e) {
        f.complete("");
      }
    });
    return f;
  }
}
