package io.pgsidecar.agent.metrics;

/** What a backup meter is about: the {@code kind} label ({@code base} or {@code dump}). */
public enum BackupKind {
  /** A physical base backup taken with pg_basebackup. */
  BASE("base"),
  /** A logical dump (pg_dumpall --globals-only plus pg_dump per database). */
  DUMP("dump");

  private final String label;

  BackupKind(String label) {
    this.label = label;
  }

  /** The label value exported to Prometheus. */
  public String label() {
    return label;
  }
}
