package io.pgsidecar.walarchiver;

/** Placeholder: replaced by the WAL issue's client. */
public final class WalArchiver {
  public static void main(String[] args) {
    System.err.println("wal-archiver: not yet implemented");
    System.exit(2);
  }
}
