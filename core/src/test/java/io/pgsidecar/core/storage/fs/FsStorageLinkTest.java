package io.pgsidecar.core.storage.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.pgsidecar.core.storage.ObjectInfo;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.StorageException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Symbolic links planted inside a filesystem repository, on the real file system: as the
 * object, as a directory on the key's path, as the cluster directory, dangling, and to a file
 * outside. Every operation refuses them with the same "unsafe repository" error, and the files
 * outside are neither read nor changed. Beside the repository lies {@code outside/}: a second,
 * valid pgsidecar repository holding the same key, so that following any link would succeed,
 * and show.
 */
class FsStorageLinkTest {

  static final String KEY = "prod/db1/wal/0000000100000000/000000010000000000000003.zst";
  static final String SECRET = "outside-secret-3f9c1e";

  @TempDir
  Path dir;
  Path root;
  Path outside;
  FsStorage storage;

  /** Where the link is planted, and what it points to. */
  enum Planted {
    CLUSTER_DIRECTORY("prod", "outside/prod"),
    INTERMEDIATE_DIRECTORY("prod/db1/wal", "outside/prod/db1/wal"),
    OBJECT_TO_AN_OBJECT_OUTSIDE(KEY, "outside/" + KEY),
    OBJECT_TO_A_PLAIN_FILE_OUTSIDE(KEY, "outside/shadow"),
    OBJECT_DANGLING(KEY, "nowhere/gone.zst");

    final String link;
    final String target;

    Planted(String link, String target) {
      this.link = link;
      this.target = target;
    }
  }

  @BeforeEach
  void repositories() throws Exception {
    root = Files.createDirectory(dir.resolve("repo"));
    outside = Files.createDirectory(dir.resolve("outside"));
    var other = new FsStorage(outside);
    other.create(KEY, bytes(SECRET), () -> meta("5ec7"));
    other.create("prod/db1/cluster.json", bytes(SECRET), () -> meta("c1"));
    Files.writeString(outside.resolve("shadow"), SECRET);
    storage = new FsStorage(root);
    // The repository has objects of its own, so "not found" would be a possible answer.
    storage.create("other/db9/cluster.json", bytes("{}"), () -> meta("99"));
  }

  void plant(Planted p) throws IOException {
    Path link = root.resolve(p.link);
    Files.createDirectories(link.getParent());
    Files.createSymbolicLink(link, dir.resolve(p.target));
  }

  String refusal(String operation, String key, Planted p) {
    return "unsafe repository: " + operation + " of " + key + " in " + root + " refused: "
        + p.link + " is a symbolic link (to " + dir.resolve(p.target) + "); pgsidecar never"
        + " follows a link inside the repository, where it could read, overwrite or delete a file"
        + " elsewhere: remove the link, and put the real file or directory there if it belongs to"
        + " this repository (only storage.path itself may be a link)";
  }

  @ParameterizedTest
  @EnumSource(Planted.class)
  void openRefusesTheLinkAndReadsNothingOutside(Planted p) throws Exception {
    plant(p);
    var before = snapshot(outside);

    var e = assertThrows(StorageException.class, () -> storage.open(KEY));

    assertEquals(refusal("open", KEY, p), e.getMessage());
    assertFalse(e.getMessage().contains(SECRET));
    assertUnchanged(before, p);
  }

  @ParameterizedTest
  @EnumSource(Planted.class)
  void statRefusesTheLink(Planted p) throws Exception {
    plant(p);
    var before = snapshot(outside);

    var e = assertThrows(StorageException.class, () -> storage.stat(KEY));

    assertEquals(refusal("stat", KEY, p), e.getMessage());
    assertUnchanged(before, p);
  }

  @ParameterizedTest
  @EnumSource(Planted.class)
  void createRefusesTheLinkBeforeReadingItsContentAndWritesNothingOutside(Planted p)
      throws Exception {
    plant(p);
    var before = snapshot(outside);
    var read = new AtomicBoolean();
    InputStream content = new ByteArrayInputStream(new byte[] {1, 2, 3}) {
      @Override
      public synchronized int read(byte[] b, int off, int len) {
        read.set(true);
        return super.read(b, off, len);
      }
    };

    var e = assertThrows(StorageException.class, () -> storage.create(KEY, content,
        () -> meta("0b")));

    assertEquals(refusal("create", KEY, p), e.getMessage());
    assertFalse(read.get(), "content was read before the refusal");
    assertUnchanged(before, p);
    assertTrue(Files.isSymbolicLink(root.resolve(p.link)), "the link is left for the operator");
  }

  @ParameterizedTest
  @EnumSource(Planted.class)
  void deleteRefusesTheLinkAndRemovesNeitherItNorItsTarget(Planted p) throws Exception {
    plant(p);
    var before = snapshot(outside);

    var e = assertThrows(StorageException.class, () -> storage.delete(KEY));

    assertEquals(refusal("delete", KEY, p), e.getMessage());
    assertUnchanged(before, p);
    assertTrue(Files.isSymbolicLink(root.resolve(p.link)), "the link is left for the operator");
  }

  @ParameterizedTest
  @EnumSource(Planted.class)
  void listRefusesTheLinkWhereverTheWalkMeetsIt(Planted p) throws Exception {
    plant(p);
    var before = snapshot(outside);

    for (String prefix : List.of("", "prod/", "prod/db1/", "prod/db1/wal/0000000100000000/0000")) {
      assertEquals(refusal("list", prefix.isEmpty() ? "all keys" : prefix, p), listError(prefix),
          prefix);
    }
    // A prefix beside the link lists as before.
    assertEquals(List.of("other/db9/cluster.json"), keys("other/"));
    assertUnchanged(before, p);
  }

  @Test
  void aFifoOutsideBehindALinkIsNeverOpened() throws Exception {
    Path fifo = outside.resolve("fifo");
    Process mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start();
    assertEquals(0, mkfifo.waitFor());
    Files.createDirectories(root.resolve(KEY).getParent());
    Files.createSymbolicLink(root.resolve(KEY), fifo);

    // Opening a FIFO for reading blocks until a writer comes: following the link would hang.
    var e = assertTimeoutPreemptively(Duration.ofSeconds(10),
        () -> assertThrows(StorageException.class, () -> storage.open(KEY)));

    assertTrue(e.getMessage().startsWith("unsafe repository: open of " + KEY + " in " + root
        + " refused: " + KEY + " is a symbolic link (to " + fifo + ")"), e.getMessage());
  }

  @Test
  void aSpecialFileAsTheObjectIsRefusedNotOpened() throws Exception {
    Files.createDirectories(root.resolve(KEY).getParent());
    Process mkfifo = new ProcessBuilder("mkfifo", root.resolve(KEY).toString()).inheritIO().start();
    assertEquals(0, mkfifo.waitFor());

    var e = assertTimeoutPreemptively(Duration.ofSeconds(10),
        () -> assertThrows(StorageException.class, () -> storage.open(KEY)));

    assertEquals("open of " + KEY + " in " + root + " failed: " + KEY + " is a special file"
        + " (FIFO, socket or device), not an object pgsidecar wrote; nothing was read: move it out"
        + " of the repository", e.getMessage());
  }

  @Test
  void aMetadataSidecarReplacedByALinkIsRefused() throws Exception {
    storage.create(KEY, bytes("segment"), () -> meta("aa"));
    Path sidecar = sidecarOf(KEY);
    Files.delete(sidecar);
    Files.createSymbolicLink(sidecar, outside.resolve("shadow"));
    String rel = root.relativize(sidecar).toString();

    for (String op : List.of("stat", "list")) {
      String message = op.equals("stat")
          ? assertThrows(StorageException.class, () -> storage.stat(KEY)).getMessage()
          : listError("prod/");
      assertEquals("unsafe repository: " + op + " of " + KEY + " in "
          + root + " refused: " + rel + " is a symbolic link (to " + outside.resolve("shadow")
          + "); pgsidecar never follows a link inside the repository, where it could read,"
          + " overwrite or delete a file elsewhere: remove the link, and put the real file or"
          + " directory there if it belongs to this repository (only storage.path itself may be a"
          + " link)", message);
      assertFalse(message.contains(SECRET));
    }
    assertEquals(SECRET, Files.readString(outside.resolve("shadow")));
  }

  @Test
  void aRepositoryRootThatIsALinkWorks() throws Exception {
    // storage.path is the operator's: a volume mounted behind a link is an ordinary set-up.
    Path mount = Files.createSymbolicLink(dir.resolve("mount"), root);
    var viaLink = new FsStorage(mount);

    viaLink.create(KEY, bytes("segment"), () -> meta("aa"));
    viaLink.create("top-level", bytes("x"), () -> meta("bb"));

    assertEquals("segment", new String(viaLink.open(KEY).orElseThrow().readAllBytes(),
        StandardCharsets.UTF_8));
    assertEquals(7, viaLink.stat(KEY).orElseThrow().storedSize());
    try (Stream<ObjectInfo> s = viaLink.list("")) {
      assertEquals(List.of("other/db9/cluster.json", KEY, "top-level"),
          s.map(ObjectInfo::key).toList());
    }
    viaLink.probe();
    assertTrue(viaLink.delete(KEY));
    assertEquals(Optional.empty(), viaLink.stat(KEY));
    assertTrue(Files.isSymbolicLink(mount));
  }

  @Test
  void aLinkBesideTheKeysPathDoesNotDisturbOtherKeys() throws Exception {
    plant(Planted.OBJECT_TO_A_PLAIN_FILE_OUTSIDE);
    String sibling = "prod/db1/wal/0000000100000000/000000010000000000000004.zst";

    storage.create(sibling, bytes("next"), () -> meta("04"));

    assertEquals(4, storage.stat(sibling).orElseThrow().storedSize());
    assertTrue(storage.delete(sibling));
    assertEquals(Optional.empty(), storage.open(sibling));
  }

  // ---- helpers ---------------------------------------------------------------------------------

  private String listError(String prefix) {
    try (Stream<ObjectInfo> s = storage.list(prefix)) {
      List<String> keys = s.map(ObjectInfo::key).toList();
      return fail("list of '" + prefix + "' answered " + keys);
    } catch (UncheckedIOException e) {
      return assertInstanceOf(StorageException.class, e.getCause()).getMessage();
    } catch (StorageException e) {
      return e.getMessage();
    } catch (IOException e) {
      return fail(e);
    }
  }

  private List<String> keys(String prefix) throws IOException {
    try (Stream<ObjectInfo> s = storage.list(prefix)) {
      return s.map(ObjectInfo::key).toList();
    }
  }

  private Path sidecarOf(String key) throws IOException {
    Path object = root.resolve(key);
    try (Stream<Path> files = Files.list(object.getParent())) {
      return files.filter(f -> f.getFileName().toString()
          .startsWith("." + object.getFileName() + ".") && f.toString().endsWith(".meta"))
          .findFirst().orElseThrow();
    }
  }

  /** Every path under {@code top}: its kind, content (files) or target (links), and mtime. */
  private static Map<String, String> snapshot(Path top) throws IOException {
    Map<String, String> all = new TreeMap<>();
    try (Stream<Path> paths = Files.walk(top)) {
      for (Path p : paths.toList()) {
        var a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        String content = a.isRegularFile() ? "file " + Files.readString(p)
            : a.isSymbolicLink() ? "link " + Files.readSymbolicLink(p)
            : a.isDirectory() ? "dir" : "other";
        all.put(top.relativize(p).toString(), content + " mtime=" + a.lastModifiedTime());
      }
    }
    return all;
  }

  private void assertUnchanged(Map<String, String> before, Planted p) throws IOException {
    assertEquals(before, snapshot(outside), "files outside changed (link at " + p.link + ")");
    assertFalse(Files.exists(dir.resolve("nowhere")), "the dangling link's target was created");
  }

  private static ObjectMetadata meta(String sha) {
    return new ObjectMetadata(sha, 3, "zstd", "");
  }

  private static InputStream bytes(String s) {
    return new ByteArrayInputStream(s.getBytes(StandardCharsets.UTF_8));
  }
}
