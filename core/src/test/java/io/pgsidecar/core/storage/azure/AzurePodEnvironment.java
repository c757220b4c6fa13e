package io.pgsidecar.core.storage.azure;

import java.util.Map;

/**
 * For tests of other modules (core's test-jar): plays a pod's environment for the Azure driver,
 * which reads the workload identity webhook's variables itself, in this JVM; {@link #reset()}
 * goes back to the real environment.
 */
public final class AzurePodEnvironment {

  private AzurePodEnvironment() {}

  public static void set(Map<String, String> env) {
    Map<String, String> copy = Map.copyOf(env);
    AzureClients.environment = copy::get;
  }

  public static void reset() {
    AzureClients.environment = System::getenv;
  }
}
