package io.pgsidecar.core.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.core.Fuzz;
import io.pgsidecar.core.repo.BackupIds;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.storage.fs.FsStorage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seeded random storage keys against the filesystem driver, and random cluster names and
 * prefixes against {@link RepositoryLayout}: keys with {@code ..}, {@code .}, empty segments,
 * {@code /} and {@code \}, leading dots, NUL, newlines, very long names and segments, UTF-8.
 * Every operation either works on a file below the repository's root, or is refused with an
 * {@link IllegalArgumentException} or {@link IOException} naming the key; nothing beside the
 * root (a sentinel directory, and a sibling whose name shares the root's as a prefix) ever
 * changes. Replay with {@code -Dpgsidecar.fuzz.seed=N}.
 */
class StorageKeyFuzzTest {

  private static final long SEED = Fuzz.seed(StorageKeyFuzzTest.class);

  @TempDir(factory = Fuzz.MemoryTempDir.class) Path tmp;
  private Path root;
  private FsStorage storage;
  private List<String> outsideBefore;

  @BeforeEach
  void repository() throws IOException {
    root = Files.createDirectory(tmp.resolve("repo"));
    Files.createDirectories(tmp.resolve("outside"));
    Files.writeString(tmp.resolve("outside/passwd"), "root:x:0:0\n");
    Files.createDirectories(tmp.resolve("repo2/wal")); // shares "repo" as a string prefix
    storage = new FsStorage(root);
    put("c/cluster.json", "{}"); // a repository that is there: "not found" is an answer
    put("keep/kept", "stored"); // no random key reaches it: must stay as it is
    outsideBefore = outside();
  }

  private void put(String key, String content) throws IOException {
    byte[] b = content.getBytes(StandardCharsets.UTF_8);
    storage.create(key, new ByteArrayInputStream(b), () -> new ObjectMetadata("0".repeat(64), b.length, "", ""));
  }

  /** Every path under tmp but the root's content, with file contents. */
  private List<String> outside() throws IOException {
    List<String> out = new ArrayList<>();
    try (Stream<Path> top = Files.list(tmp)) {
      for (Path t : top.sorted().toList()) {
        if (t.equals(root)) {
          out.add(tmp.relativize(t).toString());
          continue;
        }
        try (Stream<Path> all = Files.walk(t)) {
          for (Path p : all.sorted().toList()) {
            out.add(tmp.relativize(p) + (Files.isRegularFile(p) ? "=" + Files.readString(p) : ""));
          }
        }
      }
    }
    return out;
  }

  /** A key a driver must accept: '/'-separated plain names (what the layout produces). */
  static boolean plainKey(String key) {
    return safeKey(key) && Stream.of(key.split("/")).allMatch(s -> s.getBytes(StandardCharsets.UTF_8).length <= 255);
  }

  /**
   * A key that cannot name anything outside the root nor the driver's hidden files: no empty,
   * dot-leading (so no {@code .} or {@code ..}) segment, no {@code \}, no NUL. Only such keys
   * may ever be accepted (one with a name too long for the file system may still be refused).
   */
  static boolean safeKey(String key) {
    if (key.isEmpty()) {
      return false;
    }
    for (String segment : key.split("/", -1)) {
      if (segment.isEmpty() || segment.startsWith(".") || segment.indexOf('\\') >= 0
          || segment.indexOf('\0') >= 0) {
        return false;
      }
    }
    return true;
  }

  private static final String[] SEGMENTS = {"..", ".", "", ".hidden", "...", "a", "wal", "c",
      "cluster.json", "\u00e9t\u00e9", "\ud83d\ude00", "x".repeat(300), "a\\..\\..", "nul\0x", "new\nline",
      "%2e%2e", "..\\repo2", "repo2", " ", "\u2024\u2024", "\uff0e\uff0e"};

  private static String randomKey(Random r) {
    StringBuilder sb = new StringBuilder(switch (r.nextInt(8)) {
      case 0 -> "/";
      case 1 -> "./";
      case 2 -> "../";
      default -> "";
    });
    for (int k = 0, n = 1 + r.nextInt(5); k < n; k++) {
      if (k > 0) {
        sb.append(switch (r.nextInt(10)) {
          case 0 -> "\\";
          case 1 -> "//";
          default -> "/";
        });
      }
      sb.append(SEGMENTS[r.nextInt(SEGMENTS.length)]);
    }
    if (r.nextInt(30) == 0) {
      sb.append(("/" + "y".repeat(200)).repeat(25)); // very long: past PATH_MAX (few segments, a
      // shallow tree: a 3000-deep one makes JUnit's temp directory clean-up take minutes)
    }
    if (r.nextInt(10) == 0) {
      sb.append('/');
    }
    return sb.toString();
  }

  /** Runs one random operation on {@code key}; null when the contract held, else what broke. */
  private String operate(Random r, String key) throws IOException {
    int op = r.nextInt(5);
    try {
      switch (op) {
        case 0 -> {
          put(key, "k");
          Path file = root.resolve(key).normalize();
          if (!safeKey(key) || !file.startsWith(root) || !Files.isRegularFile(file)) {
            return "create of " + Fuzz.literal(key) + " succeeded (at " + file + ")";
          }
          storage.delete(key);
        }
        case 1 -> storage.stat(key);
        case 2 -> {
          Optional<InputStream> in = storage.open(key);
          if (in.isPresent()) {
            try (InputStream i = in.get()) {
              i.readAllBytes();
            }
          }
        }
        case 3 -> storage.delete(key);
        default -> {
          try (var s = storage.list(key)) {
            s.forEach(info -> assertTrue(plainKey(info.key()), info.key()));
          }
        }
      }
      if (op != 0 && !safeKey(key) && !(op == 4 && safeKey(key + "x"))) {
        return "operation " + op + " accepted " + Fuzz.literal(key);
      }
    } catch (IllegalArgumentException | IOException e) {
      String m = e.getMessage();
      String head = key.length() > 40 ? key.substring(0, 40) : key;
      if (m == null || !m.contains(head)) {
        return "operation " + op + " on " + Fuzz.literal(key) + " refused without naming it: " + e;
      }
      if (plainKey(key) && key.length() < 4000 && !(e instanceof StorageException)
          && !(e instanceof ObjectExistsException)) {
        return "operation " + op + " refused a plain key " + Fuzz.literal(key) + ": " + e;
      }
    } catch (RuntimeException | Error e) {
      return "operation " + op + " on " + Fuzz.literal(key) + " threw " + e;
    }
    List<String> now = outside();
    return now.equals(outsideBefore) ? null : "operation " + op + " on " + Fuzz.literal(key)
        + " changed what is outside the root: " + now;
  }

  @Test
  void randomKeysNeverLeaveTheRepositoryAndAreRefusedNamingTheKey() throws IOException {
    Random r = new Random(SEED);
    int refusedOrMissing = 0;
    for (int i = 0; i < 4000; i++) {
      String key = randomKey(r);
      long opSeed = r.nextLong();
      String problem = operate(new Random(opSeed), key);
      if (problem != null) {
        String minimal = Fuzz.shrink(key, k -> {
          try {
            return operate(new Random(opSeed), k) != null;
          } catch (IOException e) {
            return true;
          }
        });
        throw new AssertionError("seed " + SEED + " case " + i + ": " + problem
            + "\nminimal failing key: " + Fuzz.literal(minimal));
      }
      refusedOrMissing += plainKey(key) ? 0 : 1;
    }
    assertTrue(refusedOrMissing > 2000, "most random keys are not plain: " + refusedOrMissing);
    assertEquals("stored", new String(storage.open("keep/kept").orElseThrow().readAllBytes(),
        StandardCharsets.UTF_8), "what was stored is untouched");
  }

  private static final String[] NAME_PARTS = {"db1", "prod", "..", ".", "", ".x", "a.b", "a/b", "a\\b",
      "/", "//", "nul\0", "tab\t", "\u00e9", "\ud83d\ude00", "-", "_", "x".repeat(200), "del\u007f"};

  private static String randomName(Random r) {
    StringBuilder sb = new StringBuilder();
    for (int k = 0, n = r.nextInt(4); k < n; k++) {
      sb.append(NAME_PARTS[r.nextInt(NAME_PARTS.length)]);
    }
    return sb.toString();
  }

  /**
   * Any cluster name and prefix: the layout refuses it naming it, or every key it makes (WAL,
   * history, backup, dump) is a plain key that the filesystem driver stores below its root.
   */
  @Test
  void layoutsRefuseUnusableNamesOrMakeOnlyPlainKeys() throws IOException {
    Random r = new Random(SEED + 1);
    String backupId = BackupIds.next(Instant.parse("2026-12-05T07:00:00Z"), id -> false);
    int usable = 0;
    for (int i = 0; i < 5000; i++) {
      String prefix = r.nextInt(4) == 0 ? null : randomName(r);
      String cluster = randomName(r);
      RepositoryLayout layout;
      try {
        layout = new RepositoryLayout(prefix, cluster);
      } catch (IllegalArgumentException e) {
        String m = e.getMessage();
        assertTrue(m.startsWith("cluster name '") || m.startsWith("storage prefix '"), m);
        assertTrue(m.contains("cannot be part of a storage key"), m);
        assertTrue(m.chars().noneMatch(c -> c < 0x20 || c == 0x7f), () -> "raw control character: " + Fuzz.literal(m));
        continue;
      }
      usable++;
      List<String> keys = List.of(layout.clusterJson(),
          layout.walKey("000000010000000000000003", ".zst"), layout.walKey("00000002.history", ".zst.pgp"),
          layout.walKey("000000010000000000000003.00000028.backup", ""),
          layout.baseData(backupId, ".zst"), layout.baseManifest(backupId),
          layout.dumpGlobals(backupId, ".zst"), layout.dumpManifest(backupId));
      for (String key : keys) {
        String what = "seed " + SEED + " case " + i + ": prefix " + (prefix == null ? "null" : Fuzz.literal(prefix))
            + ", cluster " + Fuzz.literal(cluster) + " made the key " + Fuzz.literal(key);
        assertTrue(plainKey(key) || key.getBytes(StandardCharsets.UTF_8).length > 255, what);
        assertTrue(root.resolve(key).normalize().startsWith(root.resolve(layout.root()).normalize()), what);
      }
      if (i % 25 == 0 && keys.stream().allMatch(StorageKeyFuzzTest::plainKey)) {
        put(layout.walKey("000000010000000000000003", ".zst"), "segment");
        assertEquals(Optional.of(7L), storage.stat(layout.walKey("000000010000000000000003", ".zst"))
            .map(ObjectInfo::storedSize));
      }
      assertEquals(outsideBefore, outside());
    }
    assertTrue(usable > 500, "usable layouts: " + usable);
    var e = assertThrows(IllegalArgumentException.class, () -> new RepositoryLayout("", ".."));
    assertEquals("cluster name '..' cannot be part of a storage key: it must be a non-empty name"
        + " without '/', '\\' or control characters, not starting with '.'", e.getMessage());
    var e2 = assertThrows(IllegalArgumentException.class, () -> new RepositoryLayout("prod/../..", "db1"));
    assertEquals("storage prefix 'prod/../..' cannot be part of a storage key: its folder '..' must"
        + " be a non-empty name without '/', '\\' or control characters, not starting with '.'", e2.getMessage());
    assertEquals("prod/db1/", new RepositoryLayout("//prod//", "db1").root());
  }
}
