package io.pgsidecar.agent.wal.push;

/**
 * A WAL file that is durable in storage under {@code key}, whose plain content has
 * {@code plainSha256}; {@code alreadyThere} when an earlier push (or a crash-repeated archive)
 * had stored the same content.
 */
public record Stored(String name, String key, String plainSha256, long plainSize, boolean alreadyThere) {}
