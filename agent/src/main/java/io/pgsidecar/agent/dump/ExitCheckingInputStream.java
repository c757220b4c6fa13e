package io.pgsidecar.agent.dump;

import io.pgsidecar.agent.postgres.PgTool;
import java.io.FilterInputStream;
import java.io.IOException;

/**
 * A child's stdout that, at its end, waits for the child and fails unless it exited with 0. Read
 * by a storage driver, this makes a failed pg_dump abort the upload before the object is
 * committed: what is stored was written by a pg_dump that said it succeeded.
 */
final class ExitCheckingInputStream extends FilterInputStream {

  private final PgTool.Child child;
  private final String what;
  private boolean checked;

  ExitCheckingInputStream(PgTool.Child child, String what) {
    super(child.process().getInputStream());
    this.child = child;
    this.what = what;
  }

  @Override
  public int read() throws IOException {
    int b = in.read();
    if (b < 0) {
      atEnd();
    }
    return b;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    int n = in.read(b, off, len);
    if (n < 0) {
      atEnd();
    }
    return n;
  }

  private void atEnd() throws IOException {
    if (!checked) {
      checked = true;
      child.checkSuccess(what);
    }
  }
}
