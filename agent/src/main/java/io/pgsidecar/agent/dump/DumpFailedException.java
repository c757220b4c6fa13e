package io.pgsidecar.agent.dump;

import java.io.IOException;

/** A dump run failed; {@link #failure()} is what was stored in {@code failure.json}. */
public final class DumpFailedException extends IOException {
  private final DumpStatus.Failure failure;

  DumpFailedException(DumpStatus.Failure failure, Throwable cause) {
    super(failure.message(), cause);
    this.failure = failure;
  }

  public DumpStatus.Failure failure() {
    return failure;
  }
}
