package io.pgsidecar.agent.support;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.pgsidecar.agent.Agent;
import io.pgsidecar.core.storage.MemoryStorage;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.opentest4j.AssertionFailedError;

/** The guard the push and fetch tests rely on does notice a blocked event loop. */
class EventLoopGuardTest {

  @TempDir Path work;

  @Test
  void sleepingOnTheEventLoopIsReported() throws Exception {
    EventLoopGuard guard = new EventLoopGuard();
    var cfg = TestConfig.of(new FakePgdata(work.resolve("pgdata"), 1).root(), work);
    try (Agent agent = new Agent(cfg, new MemoryStorage(), new XorPipeline(), EventLoopGuard.strictOptions())) {
      agent.router().get("/block").order(-1).handler(ctx -> {
        try {
          Thread.sleep(1000);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        ctx.response().end("slept");
      });
      agent.start();
      assertEquals("slept", UnixHttp.get(cfg.adminSocket(), "/block").text());
    }
    assertThrows(AssertionFailedError.class, guard::assertNoBlocking);
  }
}
