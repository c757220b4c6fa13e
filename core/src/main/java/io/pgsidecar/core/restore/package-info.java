/**
 * The restore engine: lays a base backup into an empty data directory and writes the recovery
 * settings, so that PostgreSQL starts in point-in-time recovery. {@link
 * io.pgsidecar.core.restore.RestoreJob} turns the configuration into a {@link
 * io.pgsidecar.core.restore.Restorer} run; the init container ({@code restore-init}'s
 * {@code RestoreInit}) and {@code pgsidecar restore} (the agent's CLI) are two thin callers of
 * it. It lives in core because it needs nothing core does not already have (storage, codecs, the
 * repository layout, the configuration) and nothing of HTTP, Vert.x or picocli.
 */
package io.pgsidecar.core.restore;
