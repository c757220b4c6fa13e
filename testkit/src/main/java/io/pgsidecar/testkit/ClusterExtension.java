package io.pgsidecar.testkit;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The JUnit 5 life cycle of a {@link PostgresCluster}: started before each test (instance field)
 * or before all (static field), closed afterwards, and the server log's tail added to a failing
 * test's exception and printed on stderr (surefire's -output.txt).
 */
public abstract class ClusterExtension implements BeforeAllCallback, AfterAllCallback,
    BeforeEachCallback, AfterEachCallback {

  private static final int LOG_TAIL_LINES = PostgresProcess.LOG_TAIL_LINES;

  private enum Scope { NONE, CLASS, METHOD }

  private Scope scope = Scope.NONE;

  ClusterExtension() {}

  /** Starts the server (creating it on first use). */
  public abstract ClusterExtension start();

  /** Stops the server and deletes its directories. */
  public abstract void close();

  /** The last {@code lines} lines of the server log ("" when there is none yet). */
  public abstract String logTail(int lines);

  abstract java.nio.file.Path pgdata();

  @Override
  public void beforeAll(ExtensionContext context) {
    scope = Scope.CLASS;
    start();
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    if (scope == Scope.NONE) {
      scope = Scope.METHOD;
      start();
    }
  }

  @Override
  public void afterEach(ExtensionContext context) {
    context.getExecutionException().ifPresent(this::attachLogTail);
    if (scope == Scope.METHOD) {
      scope = Scope.NONE;
      close();
    }
  }

  @Override
  public void afterAll(ExtensionContext context) {
    if (scope == Scope.CLASS) {
      scope = Scope.NONE;
      context.getExecutionException().ifPresent(this::attachLogTail);
      close();
    }
  }

  private void attachLogTail(Throwable failure) {
    String tail = logTail(LOG_TAIL_LINES);
    if (tail.isEmpty()) {
      return;
    }
    String text = "PostgreSQL server log (" + pgdata() + "), last " + LOG_TAIL_LINES
        + " lines:\n" + tail;
    System.err.println(text);
    failure.addSuppressed(new ServerLog(text));
  }

  /** Carries the server log tail as a suppressed exception of a failed test. */
  static final class ServerLog extends RuntimeException {
    ServerLog(String text) {
      super(text, null, false, false);
    }
  }
}
