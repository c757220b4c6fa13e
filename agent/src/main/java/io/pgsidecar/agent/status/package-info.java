/**
 * What the agent tells about itself: {@code AgentActivity} turns WAL, backup and dump events into
 * metrics and remembers what {@code GET /v1/status} shows; {@code RepositoryGauges} seeds the
 * gauges that survive a restart (last success, retained counts, recoverable window) from the
 * repository; {@code StatusRoutes} serves the status document.
 */
package io.pgsidecar.agent.status;
