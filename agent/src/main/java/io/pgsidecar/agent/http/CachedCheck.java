package io.pgsidecar.agent.http;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * A readiness check whose answer is reused for {@code ttl}: the kubelet probes every few seconds
 * and several probes (socket and metrics port) may ask at once, but storage should see one cheap
 * call per interval, not one per probe. Failures are cached too, so an outage does not turn
 * every probe into a slow timeout.
 */
public final class CachedCheck implements Health.Check {

  private final Health.Check delegate;
  private final Duration ttl;
  private final Clock clock;
  private Instant checkedAt = Instant.MIN;
  private Optional<String> last = Optional.empty();

  public CachedCheck(Health.Check delegate, Duration ttl, Clock clock) {
    this.delegate = delegate;
    this.ttl = ttl;
    this.clock = clock;
  }

  public CachedCheck(Health.Check delegate, Duration ttl) {
    this(delegate, ttl, Clock.systemUTC());
  }

  @Override
  public synchronized Optional<String> problem() {
    Instant now = clock.instant();
    if (checkedAt.plus(ttl).isAfter(now)) {
      return last;
    }
    try {
      last = delegate.problem();
    } catch (Exception e) {
      last = Optional.of(e.getMessage() == null ? e.toString() : e.getMessage());
    }
    checkedAt = clock.instant();
    return last;
  }
}
