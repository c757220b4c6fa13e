package io.pgsidecar.core.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;

class JobExceptionTest {

  @Test
  void factoriesSetTheKind() {
    assertEquals(JobException.Kind.NOT_FOUND, JobException.notFound("backup x not found").kind());
    assertEquals(JobException.Kind.CONFLICT, JobException.conflict("c").kind());
    assertEquals(JobException.Kind.INVALID_INPUT, JobException.invalidInput("i").kind());
    assertEquals(JobException.Kind.VERIFICATION_FAILED, JobException.verificationFailed("v").kind());
    assertEquals(JobException.Kind.REFUSED, JobException.refused("r").kind());
    IOException io = new IOException("down");
    JobException s = JobException.storageUnavailable("storage down", io);
    assertEquals(JobException.Kind.STORAGE_UNAVAILABLE, s.kind());
    assertSame(io, s.getCause());
  }

  @Test
  void detailsKeepTheirOrderAndTheCause() {
    IOException io = new IOException("exit 1");
    JobException e = JobException.failed("pg_dump failed", io).with("database", "shop").with("exit", 1);
    assertEquals(List.of("database", "exit"), List.copyOf(e.details().keySet()));
    assertEquals("pg_dump failed", e.getMessage());
    assertSame(io, e.getCause());
    assertEquals(JobException.Kind.FAILED, e.kind());
  }

  @Test
  void aMessageIsRequired() {
    assertThrows(NullPointerException.class, () -> new JobException(JobException.Kind.FAILED, null));
  }
}
