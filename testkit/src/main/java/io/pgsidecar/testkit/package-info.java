/** Fixtures that start real components for tests: PostgreSQL clusters, Azurite, gpg homes. */
package io.pgsidecar.testkit;
