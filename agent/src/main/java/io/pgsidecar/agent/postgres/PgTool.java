package io.pgsidecar.agent.postgres;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Starts PostgreSQL client programs (pg_dump, pg_dumpall, pg_restore, psql) from one bin
 * directory. Connection settings and the password go through the child's environment only; the
 * command line holds no secret and is safe to log. stderr is drained on its own thread into a
 * bounded tail so that a chatty child never blocks and its last words end up in our errors.
 */
public final class PgTool {

  /** Enough for any real error report, small enough to keep in a failure record. */
  static final int STDERR_TAIL = 16 * 1024;

  private final Path binDir;

  public PgTool(Path binDir) {
    this.binDir = binDir;
  }

  /** A started child. Close it to make sure the process is gone. */
  public static final class Child implements AutoCloseable {
    private final String program;
    private final Process process;
    private final Thread stderrReader;
    private final Tail stderr = new Tail(STDERR_TAIL);

    private Child(String program, Process process) {
      this.program = program;
      this.process = process;
      this.stderrReader = Thread.ofVirtual().name(program + "-stderr").start(() -> {
        try (InputStream err = process.getErrorStream()) {
          err.transferTo(stderr);
        } catch (IOException ignored) {
          // the process is gone; what we read so far is what there is
        }
      });
    }

    public Process process() {
      return process;
    }

    public String program() {
      return program;
    }

    /** Reads stdout on a virtual thread and drops it, so the child never blocks on a full pipe. */
    public void discardStdout() {
      Thread.ofVirtual().name(program + "-stdout").start(() -> {
        try (InputStream out = process.getInputStream()) {
          out.transferTo(java.io.OutputStream.nullOutputStream());
        } catch (IOException ignored) {
          // the process is gone
        }
      });
    }

    /** Waits for the exit and returns the code; stderr has been read fully once this returns. */
    public int waitFor() throws IOException {
      try {
        int code = process.waitFor();
        stderrReader.join(TimeUnit.SECONDS.toMillis(10));
        return code;
      } catch (InterruptedException e) {
        process.destroy();
        Thread.currentThread().interrupt();
        throw new IOException(program + " was interrupted and has been stopped", e);
      }
    }

    /** The last {@value #STDERR_TAIL} bytes the child wrote to stderr, trimmed. */
    public String stderr() {
      return stderr.text().strip();
    }

    /** Waits and throws unless the child exited with 0; the message carries its stderr. */
    public void checkSuccess(String what) throws IOException {
      int code = waitFor();
      if (code != 0) {
        throw new PgToolException(program, code, what, stderr());
      }
    }

    @Override
    public void close() {
      if (process.isAlive()) {
        process.destroy();
        try {
          if (!process.waitFor(5, TimeUnit.SECONDS)) {
            process.destroyForcibly();
          }
        } catch (InterruptedException e) {
          process.destroyForcibly();
          Thread.currentThread().interrupt();
        }
      }
    }
  }

  /** A client program exited with an error; the message quotes what it wrote to stderr. */
  public static final class PgToolException extends IOException {
    private final String stderr;

    PgToolException(String program, int code, String what, String stderr) {
      super(program + " failed (exit code " + code + ") while " + what
          + (stderr.isEmpty() ? "" : ": " + stderr));
      this.stderr = stderr;
    }

    public String stderr() {
      return stderr;
    }
  }

  /** Starts {@code program args} against {@code connection}; stdin/stdout are pipes. */
  public Child start(String program, PgConnection connection, List<String> args) throws IOException {
    Path exe = binDir.resolve(program);
    if (!Files.isExecutable(exe)) {
      throw new IOException(program + " not found at " + exe
          + "; set postgres.bin-dir (PGSIDECAR_POSTGRES_BIN_DIR) to the directory of the PostgreSQL client programs"
          + " (same or newer major version than the server)");
    }
    List<String> command = new ArrayList<>();
    command.add(exe.toString());
    command.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(command);
    connection.applyTo(pb.environment());
    pb.environment().putIfAbsent("PGAPPNAME", "pgsidecar");
    return new Child(program, pb.start());
  }

  /** Runs {@code program} to its end and returns its stdout as text; fails with its stderr. */
  public String run(String program, PgConnection connection, List<String> args, String what)
      throws IOException {
    try (Child child = start(program, connection, args)) {
      child.process().getOutputStream().close();
      String out = new String(child.process().getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      child.checkSuccess(what);
      return out;
    }
  }

  /** Keeps the last {@code limit} bytes written to it. */
  static final class Tail extends ByteArrayOutputStream {
    private final int limit;

    Tail(int limit) {
      this.limit = limit;
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) {
      super.write(b, off, len);
      if (count > 2 * limit) {
        System.arraycopy(buf, count - limit, buf, 0, limit);
        count = limit;
      }
    }

    @Override
    public synchronized void write(int b) {
      write(new byte[] {(byte) b}, 0, 1);
    }

    synchronized String text() {
      int from = Math.max(0, count - limit);
      return new String(buf, from, count - from, StandardCharsets.UTF_8);
    }
  }
}
