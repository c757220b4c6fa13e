package io.pgsidecar.walarchiver;

import io.pgsidecar.protocol.AgentApi;
import io.pgsidecar.protocol.AgentConnection;
import io.pgsidecar.protocol.Exchange;
import io.pgsidecar.protocol.Json;
import io.pgsidecar.protocol.WalExitCodes;
import io.pgsidecar.protocol.WalName;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;

/**
 * The command PostgreSQL runs as archive_command and restore_command:
 *
 * <pre>
 * archive_command = '/pgsidecar/bin/wal-archiver push %p'
 * restore_command = '/pgsidecar/bin/wal-archiver fetch %f %p'
 * </pre>
 *
 * It only asks the agent beside it (HTTP over a unix socket) and turns the answer into the exit
 * codes PostgreSQL understands:
 * <ul>
 *   <li>push: 0 archived (durably), 1 for every failure, bad arguments included. Never above 125:
 *       PostgreSQL's archiver exits FATAL on such a code without counting a failure in
 *       pg_stat_archiver, which would silence the "archiving failing" alert; 1 keeps the
 *       segment {@code .ready}, is retried, and is counted.</li>
 *   <li>fetch: 0 file written, 1 only when the agent answered that the archive does not have the
 *       file (a 404 carrying {@code X-Pgsidecar-Missing} with the asked name), 255 for everything
 *       else: bad arguments (a restore_command without {@code %p}), a bad name, a config error, an
 *       agent that is down, storage that fails, an unexpected error. 1 would make PostgreSQL end
 *       recovery and promote on a partial history; above 125 it stops instead.</li>
 * </ul>
 * A command that is neither push nor fetch exits 255. With the environment variable
 * {@value #NOT_FOUND_ENV} set to a number (bin/wal-archiver does), "not in the archive" exits
 * with that number instead of 1, so that the launcher can tell it from a JVM that failed to
 * start (which also exits 1) and maps everything else to 255.
 *
 * <p>Kept to a few classes and no dependencies because a JVM starts for every segment.
 */
public final class WalArchiver {
  // The exit codes are the protocol's (io.pgsidecar.protocol.WalExitCodes); short names here.
  static final int OK = WalExitCodes.OK;
  /** A push that did not archive, for whatever reason: PostgreSQL retries it. */
  static final int FAILED = WalExitCodes.PUSH_FAILED;
  static final int NOT_FOUND = WalExitCodes.NOT_IN_ARCHIVE;
  /** A fetch that could not tell (or any other command's failure): PostgreSQL stops recovery. */
  static final int FETCH_FAILED = WalExitCodes.STOP_RECOVERY;
  /** Set by bin/wal-archiver: the exit code for "not in the archive" instead of 1. */
  static final String NOT_FOUND_ENV = WalExitCodes.NOT_IN_ARCHIVE_ENV;

  static final int DEFAULT_WAIT_SECONDS = AgentApi.DEFAULT_WAIT_SECONDS;

  private static final String USAGE_TEXT = """
      usage: wal-archiver [options] push <path>          (archive_command: push %p)
             wal-archiver [options] fetch <name> <path>  (restore_command: fetch %f %p)
      options:
        --socket PATH    the agent's unix socket (env PGSIDECAR_SOCKET, default /pgsidecar/run/agent.sock)
        --url URL        the agent's TCP listener instead, http://127.0.0.1:PORT (env PGSIDECAR_URL;
                         bearer token from env PGSIDECAR_TOKEN)
        --wait SECONDS   how long to wait for an agent that is not up yet (env PGSIDECAR_WAIT, default 30)
        --cluster NAME   fetch WAL of another cluster's archive (restore from another cluster)
      exit codes: push: 0 archived, 1 not archived (any reason: PostgreSQL retries);
                  fetch: 0 written, 1 not in the archive, 255 anything else (PostgreSQL stops
                  recovery instead of promoting early)""";

  private WalArchiver() {}

  public static void main(String[] args) {
    int code;
    try {
      code = run(args, System.getenv(), Path.of("").toAbsolutePath(), System.err);
    } catch (Throwable t) {
      // the JVM's own answer to an uncaught error is 1, "not in the archive" for a fetch
      code = failureCode(args);
      try {
        System.err.println("wal-archiver: unexpected error, exiting " + code + ": " + t);
        t.printStackTrace();
      } catch (Throwable ignored) {
        // out of memory, closed stderr: the exit code is what matters
      }
    }
    System.out.flush();
    System.exit(code);
  }

  /** The whole command, with its environment and working directory passed in (for tests). */
  static int run(String[] args, Map<String, String> env, Path workDir, PrintStream err) {
    Options o = new Options();
    String problem = o.parse(args, env);
    if (problem != null) {
      int code = failureCode(args);
      err.println("wal-archiver: " + problem + " (exit " + code + ")");
      err.println(USAGE_TEXT);
      return code;
    }
    if (o.help) {
      err.println(USAGE_TEXT);
      return OK;
    }
    AgentConnection agent;
    try {
      agent = AgentConnection.resolve(o.socket, o.url, env);
    } catch (IllegalArgumentException e) {
      int code = failureCode(args);
      err.println("wal-archiver: " + e.getMessage() + " (exit " + code + ")");
      return code;
    }
    Exchange exchange = new Exchange(agent, o.waitSeconds * 1000L);
    if ("push".equals(o.command)) {
      return push(exchange, o.args[0], o.cluster, err);
    }
    int code = new WalFetch(exchange, workDir, err).fetch(o.args[0], o.args[1], o.cluster);
    return code == NOT_FOUND ? WalExitCodes.notInArchive(env) : code;
  }

  /**
   * The exit code of a failure before or outside the exchange with the agent: 1 for what is a
   * push (PostgreSQL retries and counts it), 255 for a fetch or anything unclear (recovery
   * stops; for an archive_command PostgreSQL's archiver restarts and logs it loudly).
   */
  static int failureCode(String[] args) {
    java.util.List<String> words = java.util.Arrays.asList(args);
    return words.contains("push") && !words.contains("fetch") ? FAILED : FETCH_FAILED;
  }

  /**
   * Asks the agent to archive {@code path} (relative to PGDATA, as %p gives it). The agent
   * reads the file through its own view of PGDATA and answers 200 only once the segment is
   * durable; anything else leaves the segment .ready, and PostgreSQL retries later.
   */
  static int push(Exchange exchange, String path, String cluster, PrintStream err) {
    String name = WalName.baseName(path);
    if (!WalName.isValid(name)) {
      err.println("wal-archiver: push: " + name + " is not a WAL file name (expected a segment,"
          + " a .history, .partial or .backup file, timeline 1 or later); archive_command"
          + " should pass %p");
      return FAILED;
    }
    byte[] body = AgentApi.pushBody(path, cluster).getBytes(StandardCharsets.UTF_8);
    try (AgentConnection.Response r = exchange.send("POST", AgentApi.WAL_PUSH, Exchange.JSON, body)) {
      if (r.status() == 200) {
        return OK;
      }
      err.println("wal-archiver: push of " + path + " failed: the agent at "
          + exchange.agent().description() + " answered HTTP " + r.status() + ": "
          + Json.errorMessage(r.bodyText(4096)) + " (PostgreSQL will retry the segment)");
      return FAILED;
    } catch (IOException e) {
      err.println("wal-archiver: push of " + path + " failed: " + e.getMessage()
          + " (PostgreSQL will retry the segment; check that the pgsidecar agent is running)");
      return FAILED;
    }
  }

  /** The command line; PGSIDECAR_WAIT is read here, the agent's address by AgentConnection. */
  static final class Options {
    String command;
    String[] args;
    String socket;
    String url;
    String cluster;
    int waitSeconds = DEFAULT_WAIT_SECONDS;
    boolean help;

    /** Returns null when fine, else what is wrong. */
    String parse(String[] argv, Map<String, String> env) {
      String waitText = env.get(AgentApi.WAIT_ENV);
      String[] positional = new String[argv.length];
      int count = 0;
      for (int i = 0; i < argv.length; i++) {
        String a = argv[i];
        String value = null;
        String flag = a;
        int eq = a.indexOf('=');
        if (a.startsWith("--") && eq > 0) {
          flag = a.substring(0, eq);
          value = a.substring(eq + 1);
        }
        switch (flag) {
          case "-h", "--help" -> help = true;
          case "--socket", "--url", "--wait", "--cluster" -> {
            if (value == null) {
              if (i + 1 >= argv.length) {
                return flag + " needs a value";
              }
              value = argv[++i];
            }
            if (flag.equals("--socket")) {
              socket = value;
            } else if (flag.equals("--url")) {
              url = value;
            } else if (flag.equals("--wait")) {
              waitText = value;
            } else {
              cluster = value;
            }
          }
          default -> {
            if (a.startsWith("--")) {
              return "unknown option " + a;
            }
            positional[count++] = a;
          }
        }
      }
      if (help) {
        return null;
      }
      if (waitText != null && !waitText.isEmpty()) {
        waitSeconds = -1;
        try {
          waitSeconds = (int) AgentConnection.parseLong(waitText, "wait");
        } catch (IOException e) {
          return "--wait / PGSIDECAR_WAIT must be a whole number of seconds, not " + waitText;
        }
      }
      if (cluster != null && cluster.isEmpty()) {
        return "--cluster needs a non-empty name";
      }
      if (count == 0) {
        return "no command given";
      }
      command = positional[0];
      int expected;
      if ("push".equals(command)) {
        expected = 1;
      } else if ("fetch".equals(command)) {
        expected = 2;
      } else {
        return "unknown command " + command + " (expected push or fetch)";
      }
      if (count - 1 != expected) {
        return command + " takes " + expected + (expected == 1 ? " argument" : " arguments")
            + ", got " + (count - 1);
      }
      args = new String[expected];
      System.arraycopy(positional, 1, args, 0, expected);
      return null;
    }
  }
}
