package io.pgsidecar.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/** A static field gives one server for the whole class, started once and kept between tests. */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PostgresClusterPerClassTest {

  @RegisterExtension
  static final PostgresCluster PG = PostgresCluster.builder().build();

  static int firstPort;

  @Test
  @Order(1)
  void theFirstTestFindsTheServerRunning() {
    assertTrue(PG.isRunning());
    firstPort = PG.port();
    PG.sql("CREATE TABLE shared AS SELECT 7 AS x");
  }

  @Test
  @Order(2)
  void theSecondTestSeesTheSameServerAndItsData() {
    assertEquals(firstPort, PG.port());
    assertEquals(7, PG.sqlLong("SELECT x FROM shared"));
  }
}
