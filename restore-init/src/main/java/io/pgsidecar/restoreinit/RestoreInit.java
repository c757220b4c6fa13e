package io.pgsidecar.restoreinit;

/** Placeholder: replaced by the restore issue's init container. */
public final class RestoreInit {
  public static void main(String[] args) {
    System.err.println("restore-init: not yet implemented");
    System.exit(2);
  }
}
