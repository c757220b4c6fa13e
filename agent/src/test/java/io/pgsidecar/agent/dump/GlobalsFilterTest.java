package io.pgsidecar.agent.dump;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
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
  void linesOfRolesThatExistOnTheTargetAreSkippedOthersKept() throws Exception {
    GlobalsFilter filter = new GlobalsFilter(Set.of("postgres"));
    assertFalse(filter.keep("CREATE ROLE postgres;"));
    assertFalse(filter.keep("ALTER ROLE postgres WITH SUPERUSER PASSWORD 'SCRAM-SHA-256$4096:x';"));
    assertTrue(filter.keep("CREATE ROLE app;"));
    assertTrue(filter.keep("ALTER ROLE app WITH LOGIN PASSWORD 'SCRAM-SHA-256$4096:y';"));
    assertTrue(filter.keep("GRANT app TO postgres GRANTED BY postgres;"));
    assertTrue(filter.keep("SET standard_conforming_strings = on;"));
  }

  private static String refused(String... lines) {
    GlobalsFilter filter = new GlobalsFilter(Set.of());
    return assertThrows(GlobalsFilter.MetaCommandException.class, () -> {
      for (String line : lines) {
        filter.keep(line);
      }
    }).getMessage();
  }

  @Test
  void psqlMetaCommandsAnywhereOutsideQuotesAreRefused() {
    assertEquals("line 2 holds the psql meta-command '\\! rm -rf /tmp/x', which pg_dumpall never"
        + " writes; refusing to run it", refused("CREATE ROLE app;", "\\! rm -rf /tmp/x"));
    assertEquals("line 1 holds the psql meta-command '\\! touch /tmp/x', which pg_dumpall never"
        + " writes; refusing to run it", refused("SELECT 1; \\! touch /tmp/x"));
    for (String meta : new String[] {"\\copy t to '/tmp/x'", "\\o /tmp/x", "\\i /etc/passwd",
        "  \\set x 1", "\\connect template1", "\\gexec", "select 'a' \\g /tmp/out"}) {
      assertTrue(refused(meta).startsWith("line 1 holds the psql meta-command '\\"), meta);
    }
    // after a literal, a quoted identifier, a comment or a dollar quote has closed
    assertTrue(refused("COMMENT ON ROLE a IS 'x''y'; \\! id").contains("'\\! id'"));
    assertTrue(refused("ALTER ROLE \"a\"\"b\" SET x = 1; \\! id").contains("'\\! id'"));
    assertTrue(refused("/* a /* nested */ comment */ \\! id").contains("'\\! id'"));
    assertTrue(refused("SELECT $q$ it's $q$; \\! id").contains("'\\! id'"));
    assertTrue(refused("COMMENT ON ROLE a IS 'multi", "line'; \\! id").startsWith("line 2 "));
    assertTrue(refused("SELECT E'it\\'s'; \\! id").contains("'\\! id'"));
  }

  @Test
  void aPlainStringWhoseEndDependsOnStandardConformingStringsIsRefused() {
    assertEquals("line 1 holds a string literal with \\' inside, which psql reads differently"
        + " depending on standard_conforming_strings; refusing to run it",
        refused("COMMENT ON ROLE a IS 'x\\' \\! id '"));
  }

  @Test
  void backslashesInsideLiteralsIdentifiersAndCommentsAreData() throws Exception {
    GlobalsFilter filter = new GlobalsFilter(Set.of());
    for (String line : new String[] {"COMMENT ON ROLE app IS 'C:\\dir\\\\';",
        "COMMENT ON ROLE app IS 'first line", "\\! still inside the literal';",
        "CREATE ROLE \"back\\slash\";", "-- a comment \\! with a backslash",
        "/* block", "\\! inside it */ SELECT 1;", "SELECT $body$", "\\! in a dollar quote", "$body$;",
        "SELECT E'\\\\';"}) {
      assertTrue(filter.keep(line), line);
    }
    assertTrue(filter.complete());
  }

  @Test
  void pgDumpallsOwnRestrictLinesAreDropped() throws Exception {
    GlobalsFilter filter = new GlobalsFilter(Set.of());
    assertFalse(filter.keep("\\restrict 1Gq5HiWmLXH2qNeCwV0rrbcAA2tQo2bQ"));
    assertTrue(filter.keep("CREATE ROLE app;"));
    assertFalse(filter.keep("\\unrestrict 1Gq5HiWmLXH2qNeCwV0rrbcAA2tQo2bQ"));
    assertTrue(refused("\\restrict abc; \\! id").startsWith("line 1 holds the psql meta-command"));
  }
}
