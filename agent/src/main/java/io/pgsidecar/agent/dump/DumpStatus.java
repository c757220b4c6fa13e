package io.pgsidecar.agent.dump;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.pgsidecar.core.repo.DumpManifest;

/**
 * What the agent knows about one dump: running (in this agent), complete ({@code dump.json}
 * exists), failed ({@code failure.json} exists, with pg_dump's own words), or incomplete (objects
 * without either file: a run that was cut off, e.g. by a restart of the agent).
 *
 * @param manifest set when complete
 * @param failure set when failed
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record DumpStatus(String id, State state, String label, DumpManifest manifest,
    Failure failure) {

  public enum State { RUNNING, COMPLETE, FAILED, INCOMPLETE }

  /**
   * The failure record, stored as {@code dumps/<id>/failure.json}.
   *
   * @param object what was being dumped ({@code globals} or the database name)
   * @param message our error message (names the object and what to check)
   * @param stderr the tail of the client program's stderr, "" when it did not get that far
   */
  public record Failure(String id, String label, String startTime, String failTime, String object,
      String message, String stderr) {}

  static DumpStatus running(String id, String label) {
    return new DumpStatus(id, State.RUNNING, label, null, null);
  }

  static DumpStatus complete(DumpManifest manifest) {
    return new DumpStatus(manifest.id(), State.COMPLETE, manifest.label(), manifest, null);
  }

  static DumpStatus failed(Failure failure) {
    return new DumpStatus(failure.id(), State.FAILED, failure.label(), null, failure);
  }

  static DumpStatus incomplete(String id) {
    return new DumpStatus(id, State.INCOMPLETE, "", null, null);
  }
}
