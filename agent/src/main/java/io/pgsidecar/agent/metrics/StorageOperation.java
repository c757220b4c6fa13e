package io.pgsidecar.agent.metrics;

/** A {@code Storage} method: the {@code operation} label of the storage request meters. */
public enum StorageOperation {
  CREATE("create"),
  OPEN("open"),
  STAT("stat"),
  LIST("list"),
  DELETE("delete"),
  /** The cheap reachability call readiness makes every few seconds. */
  PROBE("probe");

  private final String label;

  StorageOperation(String label) {
    this.label = label;
  }

  /** The label value exported to Prometheus. */
  public String label() {
    return label;
  }
}
