package io.pgsidecar.agent.dump;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.pgsidecar.core.repo.DumpManifest;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What the agent knows about one dump: running (in this agent), complete ({@code dump.json}
 * exists), failed ({@code failure.json} exists, with pg_dump's own words), or incomplete (objects
 * without either file: a run that was cut off, e.g. by a restart of the agent).
 *
 * @param manifest set when complete
 * @param failure set when failed
 * @param progress set while running: what is being dumped and how many bytes so far
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record DumpStatus(String id, State state, String label, DumpManifest manifest,
    Failure failure, Progress progress) {

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

  /**
   * How far a running dump is, updated by the run as it streams: {@code startedAt},
   * {@code object} (globals or the database being dumped, "" before the first) and
   * {@code dumpedBytes} (the client programs' output so far, before compression and encryption;
   * the total is unknown until the end).
   */
  public static final class Progress {
    private final String startedAt;
    private volatile String object = "";
    private final AtomicLong dumpedBytes = new AtomicLong();

    Progress(Instant startedAt) {
      this.startedAt = startedAt.toString();
    }

    @JsonProperty
    public String startedAt() {
      return startedAt;
    }

    @JsonProperty
    public String object() {
      return object;
    }

    @JsonProperty
    public long dumpedBytes() {
      return dumpedBytes.get();
    }

    void object(String name) {
      object = name;
    }

    void add(long bytes) {
      dumpedBytes.addAndGet(bytes);
    }
  }

  static DumpStatus running(String id, String label, Instant startedAt) {
    return new DumpStatus(id, State.RUNNING, label, null, null, new Progress(startedAt));
  }

  static DumpStatus complete(DumpManifest manifest) {
    return new DumpStatus(manifest.id(), State.COMPLETE, manifest.label(), manifest, null, null);
  }

  static DumpStatus failed(Failure failure) {
    return new DumpStatus(failure.id(), State.FAILED, failure.label(), null, failure, null);
  }

  static DumpStatus incomplete(String id) {
    return new DumpStatus(id, State.INCOMPLETE, "", null, null, null);
  }
}
