package io.pgsidecar.agent.wal.push;

import io.pgsidecar.core.job.JobException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Who the PostgreSQL server in PGDATA is, read from its files without a database connection: the
 * system identifier is the first field of {@code global/pg_control} (8 bytes, little-endian on
 * the x86-64 and arm64 machines we run on), the major version is the content of
 * {@code PG_VERSION}. initdb picks a new system identifier; a restore keeps it.
 */
public record ServerIdentity(String systemIdentifier, int majorVersion) {

  /**
   * Reads the identity of the server in {@code pgdata}.
   *
   * @throws JobException STORAGE_UNAVAILABLE (503: try again later) when PGDATA holds no server yet (fresh pod, restore still running)
   */
  public static ServerIdentity read(Path pgdata) throws IOException {
    Path control = pgdata.resolve("global").resolve("pg_control");
    Path version = pgdata.resolve("PG_VERSION");
    try {
      byte[] first = new byte[8];
      try (InputStream in = Files.newInputStream(control)) {
        if (in.readNBytes(first, 0, 8) != 8) {
          throw new IOException(control + " is shorter than 8 bytes; is this a PostgreSQL data directory?");
        }
      }
      long id = ByteBuffer.wrap(first).order(ByteOrder.LITTLE_ENDIAN).getLong();
      String major = Files.readString(version).trim();
      return new ServerIdentity(Long.toUnsignedString(id), Integer.parseInt(major));
    } catch (NoSuchFileException e) {
      throw new JobException(JobException.Kind.STORAGE_UNAVAILABLE, "PGDATA " + pgdata
          + " holds no PostgreSQL server yet (" + e.getFile() + " is missing); check the agent's pgdata setting and its mount of the data directory");
    } catch (NumberFormatException e) {
      throw new IOException(version + " does not hold a major version number: " + e.getMessage());
    }
  }
}
