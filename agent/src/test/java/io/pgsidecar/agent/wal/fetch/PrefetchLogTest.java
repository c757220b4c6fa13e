package io.pgsidecar.agent.wal.fetch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.agent.Agent;
import io.pgsidecar.agent.support.EventLoopGuard;
import io.pgsidecar.agent.support.FakePgdata;
import io.pgsidecar.agent.support.ForwardingStorage;
import io.pgsidecar.agent.support.RecordingEvents;
import io.pgsidecar.agent.support.TestConfig;
import io.pgsidecar.agent.support.UnixHttp;
import io.pgsidecar.agent.support.XorPipeline;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.storage.MemoryStorage;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.StorageException;
import io.pgsidecar.testkit.Waits;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What an operator reads when prefetching fails: one WARNING naming the segment and the cause
 * for a run of failures (not one per segment of a replay), nothing above FINE for segments that
 * are simply not in the archive yet, and a line when prefetching works again.
 */
class PrefetchLogTest {

  static final String SEG1 = "000000010000000000000001";
  static final String SEG2 = "000000010000000000000002";
  static final String SEG3 = "000000010000000000000003";
  static final String SEG5 = "000000010000000000000005";
  static final Logger SPOOL_LOG = Logger.getLogger(PrefetchSpool.class.getName());

  @TempDir java.nio.file.Path work;
  final MemoryStorage memory = new MemoryStorage();
  final Set<String> failing = ConcurrentHashMap.newKeySet();
  final List<LogRecord> records = new CopyOnWriteArrayList<>();
  final Handler capture = new Handler() {
    @Override
    public void publish(LogRecord r) {
      records.add(r);
    }

    @Override
    public void flush() {}

    @Override
    public void close() {}
  };
  Level oldLevel;
  PgsidecarConfig config;
  Agent agent;

  /** The archive's storage, whose reads of the segments in {@link #failing} fail. */
  final class FailingReads extends ForwardingStorage {
    FailingReads() {
      super(memory);
    }

    @Override
    public Optional<InputStream> open(String key) throws IOException {
      for (String name : failing) {
        if (key.contains(name)) {
          throw new StorageException("read of " + key + " in azure://acct/wal failed:"
              + " Connection reset by peer; check the network path to the storage endpoint");
        }
      }
      return delegate.open(key);
    }
  }

  @BeforeEach
  void start() throws IOException {
    oldLevel = SPOOL_LOG.getLevel();
    SPOOL_LOG.setLevel(Level.ALL);
    SPOOL_LOG.addHandler(capture);
    FakePgdata pg = new FakePgdata(work.resolve("pgdata"), 1);
    config = TestConfig.with(pg.root(), work, new PgsidecarConfig.Wal(2, 8, 3,
        work.resolve("spool"), 64L * 1024 * 1024), Optional.empty(),
        Duration.ofSeconds(5), 0);
    memory.create("prod/db1/cluster.json", new ByteArrayInputStream(new byte[] {'{', '}'}),
        () -> new ObjectMetadata("44136fa3", 2, "", ""));
    agent = new Agent(config, new FailingReads(), new XorPipeline(), EventLoopGuard.strictOptions(),
        new RecordingEvents());
    agent.start();
  }

  @AfterEach
  void stop() {
    agent.close();
    SPOOL_LOG.removeHandler(capture);
    SPOOL_LOG.setLevel(oldLevel);
  }

  @Test
  void aRunOfFailedPrefetchesWarnsOnceNamingTheSegmentAndTheCauseAndSaysWhenItWorksAgain()
      throws Exception {
    for (String name : List.of(SEG1, SEG2, SEG3)) {
      store(name);
    }
    failing.addAll(List.of(SEG2, SEG3));

    // serving 1 prefetches 2 and 3 (both fail) and 4 (not in the archive: no failure)
    assertEquals(200, UnixHttp.get(config.socket(), "/v1/wal/" + SEG1).status());
    await(r -> r.getMessage().contains("000000010000000000000004"), 1);
    await(r -> r.getMessage().contains(" failed: "), 2);

    List<LogRecord> warnings = atOrAbove(Level.WARNING);
    assertEquals(1, warnings.size(), "one WARNING for a run of failures: " + texts(records));
    String warned = warnings.get(0).getMessage().contains(SEG2) ? SEG2 : SEG3;
    assertEquals("prefetch of " + warned + " failed: read of prod/db1/wal/0000000100000000/"
        + warned + ".xor in azure://acct/wal failed: Connection reset by peer; check the network"
        + " path to the storage endpoint; not spooled, restore_command will fetch it from storage"
        + " when PostgreSQL asks for it (further prefetch failures are logged at FINE until one"
        + " succeeds)", warnings.get(0).getMessage());
    String other = warned.equals(SEG2) ? SEG3 : SEG2;
    assertTrue(records.stream().anyMatch(r -> r.getLevel() == Level.FINE
        && r.getMessage().startsWith("prefetch of " + other + " failed: read of ")),
        "the second failure at FINE: " + texts(records));
    assertEquals(List.of("prefetch of 000000010000000000000004: not in the archive (yet)"),
        records.stream().map(LogRecord::getMessage).filter(m -> m.contains("0000000000000004"))
            .toList(), "a segment not archived yet is no failure");

    // storage reads work again: serving 2 prefetches 5 (4 is still missing, 3 was tried)
    failing.clear();
    store(SEG5);
    assertEquals(200, UnixHttp.get(config.socket(), "/v1/wal/" + SEG2).status());
    await(r -> r.getLevel() == Level.INFO, 1);
    assertEquals("prefetch of " + SEG5 + " succeeded after 2 failed prefetches (see the WARNING"
        + " before them)", atOrAbove(Level.INFO).stream().filter(r -> r.getLevel() == Level.INFO)
            .findFirst().orElseThrow().getMessage());
    assertEquals(1, atOrAbove(Level.WARNING).size(), texts(records));
    assertTrue(Files.exists(config.wal().spoolDir().resolve("db1").resolve(SEG5)));
  }

  void store(String name) throws Exception {
    byte[] plain = new byte[4096];
    new Random(name.hashCode()).nextBytes(plain);
    String key = "prod/db1/wal/" + name.substring(0, 16) + "/" + name + ".xor";
    String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(plain));
    memory.create(key, new ByteArrayInputStream(XorPipeline.encoded(plain)),
        () -> new ObjectMetadata(sha, plain.length, "xor", ""));
  }

  /** Waits (generously: a loaded 2-core machine) until {@code n} records match. */
  void await(Predicate<LogRecord> match, int n) {
    try {
      Waits.until(Duration.ofSeconds(30), Duration.ofMillis(20),
          () -> records.stream().filter(match).count() >= n);
    } catch (ConditionTimeoutException e) {
      throw new AssertionError("waited 30 s for " + n + " log records; got " + texts(records), e);
    }
  }

  List<LogRecord> atOrAbove(Level level) {
    return records.stream().filter(r -> r.getLevel().intValue() >= level.intValue()).toList();
  }

  static String texts(List<LogRecord> rs) {
    return rs.stream().map(r -> r.getLevel() + " " + r.getMessage()).toList().toString();
  }
}
