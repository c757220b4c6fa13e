package io.pgsidecar.agent.http;

import io.pgsidecar.core.job.JobException;
import io.pgsidecar.core.storage.StorageException;
import io.vertx.ext.web.RoutingContext;
import java.lang.System.Logger.Level;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * The one mapping from a failure to an HTTP answer, for every route of the agent. The body is the
 * JSON problem every refusal of the agent has ({@link Refusals}): {@code {"error": message}}, then
 * the {@link JobException#details() details} of a job's failure.
 *
 * <table>
 *   <caption>Status of each cause</caption>
 *   <tr><th>cause</th><th>status</th></tr>
 *   <tr><td>{@link JobException.Kind#INVALID_INPUT}</td><td>400</td></tr>
 *   <tr><td>{@link JobException.Kind#NOT_FOUND}</td><td>404</td></tr>
 *   <tr><td>{@link JobException.Kind#CONFLICT}</td><td>409</td></tr>
 *   <tr><td>{@link JobException.Kind#REFUSED}</td><td>409</td></tr>
 *   <tr><td>{@link JobException.Kind#VERIFICATION_FAILED}</td><td>422</td></tr>
 *   <tr><td>{@link JobException.Kind#STORAGE_UNAVAILABLE}, a bare {@link StorageException}</td>
 *       <td>503</td></tr>
 *   <tr><td>{@link JobException.Kind#FAILED}, anything else</td><td>500</td></tr>
 * </table>
 *
 * <p>REFUSED is 409, not 403: every refusal by policy the agent made before the kinds existed (the
 * only complete backup, a tablespace it cannot copy, another server's archive) answered 409 and
 * clients key on it, while 403 is the hook socket's refusal of a route, which the launchers turn
 * into "stop recovery" (exit 255). A 503 is never a 404: a client must not take "storage down" for
 * "not in the archive".
 */
public final class Problems {

  private static final System.Logger LOG = System.getLogger(Problems.class.getName());

  /** A status and the JSON problem body. */
  public record Problem(int status, Map<String, Object> body) {}

  private Problems() {}

  /** The status of {@code kind}. */
  public static int status(JobException.Kind kind) {
    return switch (kind) {
      case INVALID_INPUT -> 400;
      case NOT_FOUND -> 404;
      case CONFLICT, REFUSED -> 409;
      case VERIFICATION_FAILED -> 422;
      case STORAGE_UNAVAILABLE -> 503;
      case FAILED -> 500;
    };
  }

  /** The status of any failure: a job's by its kind, storage 503, anything else 500. */
  public static int status(Throwable t) {
    Throwable c = unwrap(t);
    if (c instanceof JobException j) {
      return status(j.kind());
    }
    return c instanceof StorageException ? 503 : 500;
  }

  /**
   * The problem for {@code t}. A job's failure says what to do in its own message; for any other
   * failure {@code operation} (e.g. {@code "fetching 0000...01"}) says what failed, or null when
   * the message already does.
   */
  public static Problem of(Throwable t, String operation) {
    Throwable c = unwrap(t);
    int status = status(c);
    Map<String, Object> body;
    if (c instanceof JobException j) {
      body = body(j.getMessage());
      body.putAll(j.details());
    } else if (operation == null) {
      body = body(message(c));
    } else if (status == 503) {
      body = body(operation + " failed: " + message(c));
    } else {
      body = body(operation + " failed unexpectedly: " + c);
    }
    return new Problem(status, body);
  }

  /** Answers {@code t} on {@code ctx} (logged unless it is the client's or a job's own refusal). */
  public static void answer(RoutingContext ctx, Throwable t, String operation) {
    Problem p = of(t, operation);
    Throwable c = unwrap(t);
    String what = operation == null ? ctx.request().method() + " " + ctx.request().path() : operation;
    if (p.status() >= 500 && !(c instanceof JobException)) {
      LOG.log(p.status() == 503 ? Level.WARNING : Level.ERROR, what + " failed: " + message(c),
          p.status() == 503 ? null : c);
    }
    Responses.json(ctx, p.status(), p.body());
  }

  /** A mutable {@code {"error": message}} that callers may add details to. */
  public static Map<String, Object> body(String message) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("error", message);
    return m;
  }

  /** The failure inside a {@link CompletionException} or {@link ExecutionException}. */
  public static Throwable unwrap(Throwable t) {
    Throwable c = t;
    while ((c instanceof CompletionException || c instanceof ExecutionException)
        && c.getCause() != null) {
      c = c.getCause();
    }
    return c;
  }

  /** The message of {@code t} (unwrapped), never null. */
  public static String message(Throwable t) {
    Throwable c = unwrap(t);
    return c.getMessage() == null ? c.toString() : c.getMessage();
  }
}
