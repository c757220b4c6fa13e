package io.pgsidecar.walarchiver;

import io.pgsidecar.protocol.AgentConnection;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.Map;

/**
 * A training run for the JVM's class-data archive (JDK 25 {@code -XX:AOTCacheOutput}, or a
 * dynamic CDS archive on older JDKs): one push, one fetch and one fetch of a missing file
 * against a throw-away responder on a unix socket in a temp dir, so that the archive holds the
 * classes a real archive_command and restore_command load. bin/wal-archiver runs it once.
 * Exit 0 when all three gave the expected exit codes.
 */
final class Training {
  private static final String SEGMENT = "000000010000000000000001";

  private Training() {}

  public static void main(String[] args) throws Exception {
    Watchdog watchdog = new Watchdog();
    watchdog.setDaemon(true);
    watchdog.start();
    Path dir = Files.createTempDirectory("wal-archiver-training");
    Path socket = dir.resolve("agent.sock");
    int failures = 0;
    try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      server.bind(UnixDomainSocketAddress.of(socket));
      Responder responder = new Responder(server);
      responder.setDaemon(true);
      responder.start();
      Map<String, String> env = new HashMap<>();
      env.put("PGSIDECAR_SOCKET", socket.toString());
      env.put("PGSIDECAR_WAIT", "5");
      PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
      Files.createDirectory(dir.resolve("pg_wal"));
      failures += expect(0, WalArchiver.run(new String[] {"push", "pg_wal/" + SEGMENT}, env,
          dir, quiet));
      failures += expect(0, WalArchiver.run(new String[] {"fetch", SEGMENT,
          "pg_wal/RECOVERYXLOG"}, env, dir, quiet));
      failures += expect(1, WalArchiver.run(new String[] {"fetch", "00000002.history",
          "pg_wal/RECOVERYHISTORY"}, env, dir, quiet));
    } finally {
      Files.deleteIfExists(socket);
      Files.deleteIfExists(dir.resolve("pg_wal/RECOVERYXLOG"));
      Files.deleteIfExists(dir.resolve("pg_wal"));
      Files.deleteIfExists(dir);
    }
    System.exit(failures == 0 ? 0 : 1);
  }

  private static int expect(int expected, int actual) {
    return expected == actual ? 0 : 1;
  }

  /** Ends a training run that hangs, so that the launcher falls back instead of waiting. */
  private static final class Watchdog extends Thread {
    @Override
    public void run() {
      try {
        Thread.sleep(60_000);
      } catch (InterruptedException e) {
        return;
      }
      System.err.println("wal-archiver training: no result after 60 s, giving up");
      Runtime.getRuntime().halt(1);
    }
  }

  /** Answers push with 200, fetch of a segment with 64 KiB and its SHA-256, else 404. */
  private static final class Responder extends Thread {
    private final ServerSocketChannel server;

    Responder(ServerSocketChannel server) {
      super("training-responder");
      this.server = server;
    }

    @Override
    public void run() {
      byte[] wal = new byte[64 * 1024];
      for (int i = 0; i < wal.length; i++) {
        wal[i] = (byte) (i * 31);
      }
      String sha;
      try {
        sha = hex(MessageDigest.getInstance("SHA-256").digest(wal));
      } catch (java.security.NoSuchAlgorithmException e) {
        throw new IllegalStateException("this JDK has no SHA-256", e);
      }
      while (server.isOpen()) {
        try (SocketChannel c = server.accept()) {
          answer(c, wal, sha);
        } catch (IOException e) {
          // the server socket was closed (training is over), or the client hung up without
          // reading the whole answer (a push reads only the status): both are fine
        }
      }
    }

    private static void answer(SocketChannel c, byte[] wal, String sha) throws IOException {
      InputStream in = new BufferedInputStream(Channels.newInputStream(c));
      String requestLine = AgentConnection.readLine(in);
      long length = 0;
      for (String h = AgentConnection.readLine(in); h != null && !h.isEmpty();
          h = AgentConnection.readLine(in)) {
        if (h.regionMatches(true, 0, "Content-Length:", 0, 15)) {
          length = AgentConnection.parseLong(h.substring(15).trim(), "Content-Length");
        }
      }
      in.skipNBytes(length);
      OutputStream out = Channels.newOutputStream(c);
      if (requestLine.startsWith("POST ")) {
        out.write(head(200, 2, null, null));
        out.write('{');
        out.write('}');
      } else if (requestLine.startsWith("GET /v1/wal/" + SEGMENT)) {
        out.write(head(200, wal.length, sha, null));
        out.write(wal);
      } else {
        byte[] body = "{\"message\":\"not in the archive\"}".getBytes(StandardCharsets.UTF_8);
        String asked = requestLine.split(" ")[1].substring("/v1/wal/".length()).split("[?]")[0];
        out.write(head(404, body.length, null, asked));
        out.write(body);
      }
    }

    private static byte[] head(int status, int length, String sha, String missing) {
      String h = "HTTP/1.1 " + status + (status == 200 ? " OK" : " Not Found")
          + "\r\nContent-Type: application/json\r\nContent-Length: " + length + "\r\n"
          + (sha == null ? "" : "X-Pgsidecar-Sha256: " + sha + "\r\n")
          + (missing == null ? "" : "X-Pgsidecar-Missing: " + missing + "\r\n") + "\r\n";
      return h.getBytes(StandardCharsets.ISO_8859_1);
    }

    private static String hex(byte[] b) {
      StringBuilder sb = new StringBuilder();
      for (byte x : b) {
        sb.append(Character.forDigit((x >> 4) & 15, 16)).append(Character.forDigit(x & 15, 16));
      }
      return sb.toString();
    }
  }
}
