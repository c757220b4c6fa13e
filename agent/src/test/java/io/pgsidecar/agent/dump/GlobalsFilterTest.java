package io.pgsidecar.agent.dump;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import org.junit.jupiter.api.Test;

class GlobalsFilterTest {

  @Test
  void rolesAreReadFromCreateAndAlterLinesQuotedOrNot() {
    assertEquals("app", GlobalsFilter.roleOf("CREATE ROLE app;"));
    assertEquals("app", GlobalsFilter.roleOf("ALTER ROLE app WITH NOSUPERUSER LOGIN PASSWORD 'x';"));
    assertEquals("My \"Role\"", GlobalsFilter.roleOf("CREATE ROLE \"My \"\"Role\"\"\";"));
    assertEquals("r w", GlobalsFilter.roleOf("ALTER ROLE \"r w\" SET search_path TO 'a';"));
    assertNull(GlobalsFilter.roleOf("GRANT app TO other GRANTED BY postgres;"));
    assertNull(GlobalsFilter.roleOf("CREATE TABLESPACE t OWNER app LOCATION '/x';"));
  }

  @Test
  void linesOfRolesThatExistOnTheTargetAreSkippedOthersKept() {
    GlobalsFilter filter = new GlobalsFilter(Set.of("postgres"));
    assertFalse(filter.keep("CREATE ROLE postgres;"));
    assertFalse(filter.keep("ALTER ROLE postgres WITH SUPERUSER PASSWORD 'SCRAM-SHA-256$4096:x';"));
    assertTrue(filter.keep("CREATE ROLE app;"));
    assertTrue(filter.keep("ALTER ROLE app WITH LOGIN PASSWORD 'SCRAM-SHA-256$4096:y';"));
    assertTrue(filter.keep("GRANT app TO postgres GRANTED BY postgres;"));
    assertTrue(filter.keep("SET standard_conforming_strings = on;"));
  }
}
