package io.pgsidecar.agent.http;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pgsidecar.agent.Agent;
import io.pgsidecar.agent.support.EventLoopGuard;
import io.pgsidecar.agent.support.FakePgdata;
import io.pgsidecar.agent.support.TestConfig;
import io.pgsidecar.agent.support.UnixHttp;
import io.pgsidecar.agent.support.XorPipeline;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.storage.MemoryStorage;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code /healthz} and {@code /readyz} on the API socket: liveness ignores failing checks,
 * readiness names each one without its details; a check that blocks runs off the event loop.
 */
class HealthOnTheSocketTest {

  @TempDir Path work;

  @Test
  void readinessNamesTheFailingCheckWhileLivenessStaysOk() throws Exception {
    PgsidecarConfig config = TestConfig.of(new FakePgdata(work.resolve("pgdata"), 1L).root(), work);
    AtomicReference<Optional<String>> storage = new AtomicReference<>(
        Optional.of("storage file:///repo is not reachable: storage path /repo does not exist"));
    EventLoopGuard eventLoops = new EventLoopGuard();
    try (Agent agent = new Agent(config, new MemoryStorage(), new XorPipeline(),
        EventLoopGuard.strictOptions())) {
      agent.health().add("storage", () -> {
        Thread.sleep(300); // a slow probe must not block the event loop
        return storage.get();
      });
      agent.start();
      UnixHttp.Response live = UnixHttp.get(config.socket(), "/healthz");
      assertEquals(200, live.status());
      assertEquals("ok", new JsonObject(live.text()).getString("status"));

      UnixHttp.Response notReady = UnixHttp.get(config.socket(), "/readyz");
      assertEquals(503, notReady.status());
      JsonObject body = new JsonObject(notReady.text());
      assertEquals("not ready", body.getString("status"));
      assertEquals("ok", body.getJsonObject("checks").getString("agent"));
      // the reason names a path: it goes to the log, the body says only what failed
      assertEquals("{\"status\":\"not ready\",\"checks\":{\"agent\":\"ok\","
          + "\"storage\":\"failing (details in the agent's log)\"}}\n", notReady.text());

      storage.set(Optional.empty());
      UnixHttp.Response ready = UnixHttp.get(config.socket(), "/readyz");
      assertEquals(200, ready.status(), ready.text());
      assertEquals("ready", new JsonObject(ready.text()).getString("status"));
    }
    eventLoops.assertNoBlocking();
  }
}
