package io.pgsidecar.walarchiver;

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
 * codes PostgreSQL understands. push: 0 archived (durably), 1 not archived (PostgreSQL retries).
 * fetch: 0 file written, 1 not in the archive, 255 could not tell (above 125, so PostgreSQL
 * stops recovery instead of ending it early on a wrong timeline). 2: bad arguments.
 *
 * <p>Kept to a few classes and no dependencies because a JVM starts for every segment.
 */
public final class WalArchiver {
  static final int OK = 0;
  static final int FAILED = 1;
  static final int NOT_FOUND = 1;
  static final int USAGE = 2;
  static final int FETCH_FAILED = 255;

  static final int DEFAULT_WAIT_SECONDS = 30;

  private static final String USAGE_TEXT = """
      usage: wal-archiver [options] push <path>          (archive_command: push %p)
             wal-archiver [options] fetch <name> <path>  (restore_command: fetch %f %p)
      options:
        --socket PATH    the agent's unix socket (env PGSIDECAR_SOCKET, default /pgsidecar/run/agent.sock)
        --url URL        the agent's TCP listener instead, http://127.0.0.1:PORT (env PGSIDECAR_URL;
                         bearer token from env PGSIDECAR_TOKEN)
        --wait SECONDS   how long to wait for an agent that is not up yet (env PGSIDECAR_WAIT, default 30)
        --cluster NAME   fetch WAL of another cluster's archive (restore from another cluster)
      exit codes: 0 done; 1 push failed / fetch: not in the archive; 2 bad arguments;
                  255 fetch failed (PostgreSQL stops recovery)""";

  private WalArchiver() {}

  public static void main(String[] args) {
    int code = run(args, System.getenv(), Path.of("").toAbsolutePath(), System.err);
    System.out.flush();
    System.exit(code);
  }

  /** The whole command, with its environment and working directory passed in (for tests). */
  static int run(String[] args, Map<String, String> env, Path workDir, PrintStream err) {
    Options o = new Options();
    String problem = o.parse(args, env);
    if (problem != null) {
      err.println("wal-archiver: " + problem);
      err.println(USAGE_TEXT);
      return USAGE;
    }
    if (o.help) {
      err.println(USAGE_TEXT);
      return OK;
    }
    AgentConnection agent;
    try {
      agent = AgentConnection.resolve(o.socket, o.url, env);
    } catch (IllegalArgumentException e) {
      err.println("wal-archiver: " + e.getMessage());
      return USAGE;
    }
    Exchange exchange = new Exchange(agent, o.waitSeconds * 1000L);
    if ("push".equals(o.command)) {
      return push(exchange, o.args[0], o.cluster, err);
    }
    return new WalFetch(exchange, workDir, err).fetch(o.args[0], o.args[1], o.cluster);
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
          + " a .history, .partial or .backup file); archive_command should pass %p");
      return USAGE;
    }
    byte[] body = ("{\"path\":" + Json.quote(path) + ",\"cluster\":"
        + (cluster == null ? "null" : Json.quote(cluster)) + "}").getBytes(StandardCharsets.UTF_8);
    try (AgentConnection.Response r = exchange.send("POST", "/v1/wal/push", Exchange.JSON, body)) {
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
      String waitText = env.get("PGSIDECAR_WAIT");
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
