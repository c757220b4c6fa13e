package io.pgsidecar.walarchiver;

import io.pgsidecar.protocol.AgentApi;
import io.pgsidecar.protocol.AgentConnection;
import io.pgsidecar.protocol.Exchange;
import io.pgsidecar.protocol.Json;
import io.pgsidecar.protocol.WalName;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Locale;

/**
 * restore_command: fetches one WAL file from the agent into {@code %p}.
 *
 * <p>The file appears at {@code %p} whole or not at all: the body goes to a temp file beside it
 * ({@code .<name>.pgsidecar-tmp}), is checked against Content-Length and, unless the agent says
 * {@code X-Pgsidecar-Verified: sha256}, the {@code X-Pgsidecar-Sha256} header, then renamed.
 * The agent that says so checks the SHA-256 while streaming and resets the connection before the
 * last chunk on a mismatch, so a complete body is a verified one; checking again here cost about
 * half a second per 16 MiB segment (no SHA intrinsic in this C1-only JVM) and made replay several
 * times slower than pgBackRest's. The temp file is fsynced before the rename: PostgreSQL would
 * fetch RECOVERYXLOG again after a crash, but a file it keeps must never be a torn one, and the
 * cost is small next to the JVM start. Only a 404 naming the file in {@code X-Pgsidecar-Missing}
 * means "not in the archive" (exit 1, which PostgreSQL takes as the end of the WAL it can replay); every other
 * failure, after a few retries, exits 255 so that recovery stops instead of ending too early.
 */
final class WalFetch {
  /** Attempts for failures after the agent answered (5xx, broken or bad body). */
  static final int ATTEMPTS = 3;
  private static final long RETRY_PAUSE_MILLIS = 250;
  /**
   * The header of the agent's 404 that names the file the archive does not have. A 404 without
   * it (a wrong route, a proxy, the metrics port) is not "not in the archive".
   */
  static final String MISSING = AgentApi.MISSING.toLowerCase(Locale.ROOT);

  private final Exchange exchange;
  private final Path workDir;
  private final PrintStream err;

  WalFetch(Exchange exchange, Path workDir, PrintStream err) {
    this.exchange = exchange;
    this.workDir = workDir;
    this.err = err;
  }

  int fetch(String name, String path, String cluster) {
    if (!WalName.isValid(name)) {
      err.println("wal-archiver: fetch: " + name + " is not a WAL file name (expected a segment,"
          + " a .history, .partial or .backup file, timeline 1 or later); restore_command should"
          + " pass %f %p; exiting 255 so that PostgreSQL stops recovery");
      return WalArchiver.FETCH_FAILED;
    }
    String target = AgentApi.fetchTarget(name, cluster);
    Path dest = workDir.resolve(path);
    String last = null;
    for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
      if (attempt > 1 && !sleep(RETRY_PAUSE_MILLIS << (attempt - 2))) {
        break;
      }
      try (AgentConnection.Response r = exchange.send("GET", target, Exchange.NONE, null)) {
        int status = r.status();
        if (status == 200) {
          write(r, dest);
          return WalArchiver.OK;
        }
        String message = Json.errorMessage(r.bodyText(4096));
        if (status == 404 && name.equals(r.header(MISSING))) {
          err.println("wal-archiver: fetch: " + name + " is not in the archive"
              + (cluster == null ? "" : " of cluster " + cluster) + " (" + message + ")");
          return WalArchiver.NOT_FOUND;
        }
        last = "the agent at " + exchange.agent().description() + " answered HTTP " + status
            + ": " + message;
        if (status == 404) {
          last += " (a 404 without " + MISSING + ": " + name + " is not the agent saying the"
              + " archive lacks the file; check --socket / --url point at the agent's API)";
        }
        if (status < 500) {
          break; // a refusal (bad request, unauthorized) does not change by asking again
        }
      } catch (AgentConnection.Unavailable e) {
        last = e.getMessage();
        break; // Exchange already waited for it
      } catch (IOException e) {
        last = e.getMessage();
      }
    }
    err.println("wal-archiver: fetch of " + name + " into " + path + " failed: " + last
        + "; exiting 255 so that PostgreSQL stops recovery rather than end it at the wrong"
        + " point (fix the agent or its storage, then start PostgreSQL again)");
    return WalArchiver.FETCH_FAILED;
  }

  /** Body to a temp file, verified, renamed over {@code dest}. */
  private static void write(AgentConnection.Response r, Path dest) throws IOException {
    String expectedLength = r.header("content-length");
    String expectedSha = r.header(AgentApi.SHA256.toLowerCase(Locale.ROOT));
    boolean agentVerified = "sha256".equalsIgnoreCase(r.header(AgentApi.VERIFIED.toLowerCase(Locale.ROOT)));
    MessageDigest sha = expectedSha == null || agentVerified ? null : sha256();
    Path dir = dest.toAbsolutePath().getParent();
    Path tmp = dir.resolve("." + dest.getFileName() + ".pgsidecar-tmp");
    boolean renamed = false;
    try {
      long written = 0;
      try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE,
          StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
        InputStream in = r.body();
        byte[] buf = new byte[128 * 1024];
        int n;
        while ((n = in.read(buf)) != -1) {
          if (sha != null) {
            sha.update(buf, 0, n);
          }
          ByteBuffer bb = ByteBuffer.wrap(buf, 0, n);
          while (bb.hasRemaining()) {
            out.write(bb);
          }
          written += n;
        }
        if (expectedLength != null
            && written != AgentConnection.parseLong(expectedLength, "Content-Length")) {
          throw new IOException("got " + written + " bytes, the agent announced "
              + expectedLength);
        }
        if (sha != null) {
          String actual = hex(sha.digest());
          if (!actual.equalsIgnoreCase(expectedSha)) {
            throw new IOException("SHA-256 of the received " + written + " bytes is " + actual
                + ", the agent announced " + expectedSha);
          }
        }
        out.force(true);
      }
      Files.move(tmp, dest, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      renamed = true;
    } finally {
      if (!renamed) {
        Files.deleteIfExists(tmp);
      }
    }
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("this JDK has no SHA-256", e);
    }
  }

  private static String hex(byte[] bytes) {
    char[] out = new char[bytes.length * 2];
    for (int i = 0; i < bytes.length; i++) {
      out[2 * i] = Character.forDigit((bytes[i] >> 4) & 15, 16);
      out[2 * i + 1] = Character.forDigit(bytes[i] & 15, 16);
    }
    return new String(out);
  }

  private boolean sleep(long millis) {
    try {
      Thread.sleep(millis);
      return true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }
}
