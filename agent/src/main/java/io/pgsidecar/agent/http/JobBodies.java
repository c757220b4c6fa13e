package io.pgsidecar.agent.http;

import io.pgsidecar.core.job.JobException;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

/**
 * What the routes that start a job (a base backup, a dump) read from a request: the JSON body and
 * its {@code label}, checked the same way on every such route.
 */
public final class JobBodies {

  /** The longest label a job stores. */
  public static final int MAX_LABEL = 200;

  private JobBodies() {}

  /**
   * The request's JSON object; an empty one for no body.
   *
   * @param example a body the route takes, for the error
   * @throws JobException INVALID_INPUT when the body is not a JSON object
   */
  public static JsonObject object(RoutingContext ctx, String example) {
    return object(ctx.body() == null ? null : ctx.body().asString(), example);
  }

  /** As {@link #object(RoutingContext, String)}, from the body's text. */
  public static JsonObject object(String text, String example) {
    if (text == null || text.isBlank()) {
      return new JsonObject();
    }
    try {
      return new JsonObject(text);
    } catch (RuntimeException e) {
      throw JobException.invalidInput("request body must be a JSON object like " + example);
    }
  }

  /**
   * The body's {@code label}, {@code ""} when absent.
   *
   * @throws JobException INVALID_INPUT for a label that is not a short string without control
   *     characters
   */
  public static String label(JsonObject body) {
    Object label = body.getValue("label");
    if (label == null) {
      return "";
    }
    if (!(label instanceof String s) || s.length() > MAX_LABEL
        || s.chars().anyMatch(Character::isISOControl)) {
      throw JobException.invalidInput("label must be a string of at most " + MAX_LABEL
          + " characters without control characters");
    }
    return s;
  }

  /** {@code ?wait=true}: answer when the job ends instead of at once. */
  public static boolean waits(RoutingContext ctx) {
    return "true".equals(ctx.queryParams().get("wait"));
  }
}
