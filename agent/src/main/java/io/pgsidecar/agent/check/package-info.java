/**
 * {@code pgsidecar check}: is archiving set up end to end, as {@code pgbackrest check} asks it.
 * {@code CheckService} runs the checks (storage written and cleaned, the agent, PostgreSQL,
 * {@code cluster.json}, archive settings, a switched segment arriving), {@code PostgresFacts} asks
 * the server through psql, {@code CheckCommand} prints one line per check and exits with the first
 * failure's code, {@code CheckFeature} registers the command.
 */
package io.pgsidecar.agent.check;
