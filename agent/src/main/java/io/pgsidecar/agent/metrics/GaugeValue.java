package io.pgsidecar.agent.metrics;

/**
 * A settable number behind a Micrometer gauge. Micrometer gauges read a value through a function
 * and hold the object weakly; this holder is kept strongly by {@link AgentMetrics}.
 */
final class GaugeValue {
  private volatile double value;

  GaugeValue(double initial) {
    this.value = initial;
  }

  void set(double v) {
    value = v;
  }

  double get() {
    return value;
  }
}
