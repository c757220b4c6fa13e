package io.pgsidecar.agent.support;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/**
 * A data directory with just what the agent reads: {@code global/pg_control} (system identifier
 * in its first 8 bytes), {@code PG_VERSION}, {@code pg_wal/} and {@code pg_wal/archive_status/}.
 */
public final class FakePgdata {

  private final Path root;

  public FakePgdata(Path root, long systemIdentifier) throws IOException {
    this.root = root;
    Files.createDirectories(root.resolve("global"));
    Files.createDirectories(root.resolve("pg_wal/archive_status"));
    Files.writeString(root.resolve("PG_VERSION"), "15\n");
    ByteBuffer control = ByteBuffer.allocate(8192).order(ByteOrder.LITTLE_ENDIAN);
    control.putLong(systemIdentifier);
    Files.write(root.resolve("global/pg_control"), control.array());
  }

  public Path root() {
    return root;
  }

  /** Writes {@code pg_wal/<name>} with {@code size} pseudo-random bytes from {@code seed}. */
  public byte[] wal(String name, int size, long seed) throws IOException {
    byte[] b = new byte[size];
    new Random(seed).nextBytes(b);
    Files.write(root.resolve("pg_wal").resolve(name), b);
    return b;
  }

  /** Marks {@code name} as PostgreSQL does when it is ready to be archived (idempotent). */
  public void ready(String name) throws IOException {
    Path ready = root.resolve("pg_wal/archive_status").resolve(name + ".ready");
    if (!Files.exists(ready)) {
      Files.createFile(ready);
    }
  }

  /** {@link #wal} then {@link #ready}: a file PostgreSQL would hand to archive_command. */
  public byte[] readyWal(String name, int size, long seed) throws IOException {
    byte[] b = wal(name, size, seed);
    ready(name);
    return b;
  }
}
