package io.pgsidecar.agent.metrics;

/**
 * Outcome of a WAL push or fetch or of a storage request: the {@code result} label. A closed
 * set, so a label can never grow without bound.
 */
public enum Result {
  /** Done: stored, served, found. */
  OK("ok"),
  /** The object exists with other content (push) or already exists (storage create). */
  CONFLICT("conflict"),
  /** Anything that failed and may succeed when retried. */
  ERROR("error"),
  /** The object is not there (fetch of a segment not archived, stat/open/delete of a missing key). */
  NOT_FOUND("not_found");

  private final String label;

  Result(String label) {
    this.label = label;
  }

  /** The label value exported to Prometheus. */
  public String label() {
    return label;
  }
}
