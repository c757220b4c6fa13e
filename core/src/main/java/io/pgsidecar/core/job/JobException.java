package io.pgsidecar.core.job;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Why a job (WAL push or fetch, base backup, dump, restore, retention, verification) could not do
 * what it was asked, in the domain's words. Services throw it; the agent's HTTP layer maps each
 * {@link Kind} to one status and the CLI to one exit code, in one place each, so the same cause
 * gets the same answer on every route and from every command. The message names the object and
 * says what to do; {@link #details()} carries machine-readable facts (an id, a key, a path).
 */
public final class JobException extends RuntimeException {

  /** The causes a caller can act on differently. */
  public enum Kind {
    /** The request itself is wrong (a malformed id, an option out of range): fix it and retry. */
    INVALID_INPUT,
    /** The named backup, dump, segment or object does not exist. */
    NOT_FOUND,
    /** Another job holds what this one needs, or the object exists already: wait or pick another. */
    CONFLICT,
    /** The repository cannot be reached or answered with an error: try again later. */
    STORAGE_UNAVAILABLE,
    /** The job ran and found the stored data wrong (a checksum, a gap, a manifest). */
    VERIFICATION_FAILED,
    /** The job was refused by policy (a permanent backup, a cluster that is not ours). */
    REFUSED,
    /** A program or step of the job failed (pg_basebackup, pg_dump, PostgreSQL). */
    FAILED
  }

  private final Kind kind;
  private final Map<String, Object> details;

  public JobException(Kind kind, String message) {
    this(kind, message, Map.of(), null);
  }

  public JobException(Kind kind, String message, Throwable cause) {
    this(kind, message, Map.of(), cause);
  }

  public JobException(Kind kind, String message, Map<String, ?> details, Throwable cause) {
    super(Objects.requireNonNull(message, "message"), cause);
    this.kind = Objects.requireNonNull(kind, "kind");
    this.details = Collections.unmodifiableMap(new LinkedHashMap<>(details));
  }

  public static JobException invalidInput(String message) {
    return new JobException(Kind.INVALID_INPUT, message);
  }

  public static JobException notFound(String message) {
    return new JobException(Kind.NOT_FOUND, message);
  }

  public static JobException conflict(String message) {
    return new JobException(Kind.CONFLICT, message);
  }

  public static JobException storageUnavailable(String message, Throwable cause) {
    return new JobException(Kind.STORAGE_UNAVAILABLE, message, cause);
  }

  public static JobException verificationFailed(String message) {
    return new JobException(Kind.VERIFICATION_FAILED, message);
  }

  public static JobException refused(String message) {
    return new JobException(Kind.REFUSED, message);
  }

  public static JobException failed(String message, Throwable cause) {
    return new JobException(Kind.FAILED, message, cause);
  }

  /** This exception with one more detail (insertion order kept). */
  public JobException with(String key, Object value) {
    Map<String, Object> m = new LinkedHashMap<>(details);
    m.put(key, value);
    return new JobException(kind, getMessage(), m, getCause());
  }

  public Kind kind() {
    return kind;
  }

  /** Facts for a machine reader, never secrets; empty when there are none. */
  public Map<String, Object> details() {
    return details;
  }
}
