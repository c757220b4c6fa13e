package io.pgsidecar.core.job;

import java.io.IOException;
import java.util.concurrent.ExecutionException;

/** What a job waiting on another thread's work does with that work's failure. */
public final class Causes {

  private Causes() {}

  /**
   * Throws the cause of {@code e} as it is when it is an {@link IOException} or unchecked, so the
   * waiting caller fails for the same reason as the work; any other cause is returned for the
   * caller to wrap in its own words.
   */
  public static Throwable rethrow(ExecutionException e) throws IOException {
    Throwable cause = e.getCause();
    if (cause instanceof IOException io) {
      throw io;
    }
    if (cause instanceof RuntimeException re) {
      throw re;
    }
    return cause;
  }
}
