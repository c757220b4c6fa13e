package io.pgsidecar.agent.wal.push;

/**
 * A WAL file that is durable in storage under {@code key}, whose plain content has
 * {@code plainSha256}; {@code alreadyThere} when an earlier push (or a crash-repeated archive)
 * had stored the same content; {@code fromLookAhead} when the answer came from the look-ahead's
 * work rather than this push's own upload. {@code storedSize} is 0 when unknown.
 */
public record Stored(String name, String key, String plainSha256, long plainSize, long storedSize,
    boolean alreadyThere, boolean fromLookAhead) {

  Stored answeredFromLookAhead() {
    return new Stored(name, key, plainSha256, plainSize, storedSize, alreadyThere, true);
  }
}
