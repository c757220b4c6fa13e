package io.pgsidecar.agent.cli;

/** Placeholder: replaced by the picocli entry point. */
public final class Main {
  public static void main(String[] args) {
    System.err.println("pgsidecar: not yet implemented");
    System.exit(2);
  }
}
