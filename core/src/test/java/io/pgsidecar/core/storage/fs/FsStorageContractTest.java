package io.pgsidecar.core.storage.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.core.storage.ObjectExistsException;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.storage.StorageContractTest;
import io.pgsidecar.core.storage.StorageException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The contract on the filesystem driver, plus what only a filesystem can get wrong. */
class FsStorageContractTest extends StorageContractTest {

  @TempDir
  Path dir;

  @Override
  protected Storage newStorage() throws Exception {
    return new FsStorage(Files.createDirectory(dir.resolve("repo")));
  }

  @Override
  protected Optional<Storage> storageAtMissingLocation() {
    return Optional.of(new FsStorage(dir.resolve("missing")));
  }

  @Override
  protected String missingLocationMessage() {
    return "storage path " + dir.resolve("missing")
        + " does not exist or is not a directory (probe): create it or fix storage.path";
  }

  @Test
  void keysThatLeaveTheRootOrHideAreRefused() {
    for (String key : List.of("../escape", "a/../../escape", "/etc/passwd", "a//b", ".hidden",
        "a/.b.meta")) {
      var e = assertThrows(IllegalArgumentException.class,
          () -> storage.create(key, bytes("x"), () -> meta("0")), key);
      assertTrue(e.getMessage().startsWith("storage key " + key + " "), e.getMessage());
    }
    assertThrows(IllegalArgumentException.class, () -> storage.open("../repo/x"));
  }

  @Test
  void objectIsAPlainFileAndOnlyItsSidecarIsLeftBesideIt() throws Exception {
    Path root = ((FsStorage) storage).root();
    storage.create("wal/seg.zst", bytes("plain"), () -> meta("0"));
    assertThrows(ObjectExistsException.class,
        () -> storage.create("wal/seg.zst", bytes("other"), () -> meta("1")));

    assertEquals("plain", Files.readString(root.resolve("wal/seg.zst")));
    try (Stream<Path> files = Files.list(root.resolve("wal"))) {
      List<String> names = files.map(p -> p.getFileName().toString()).sorted().toList();
      assertEquals(2, names.size(), names.toString());
      assertTrue(names.get(0).matches("\\.seg\\.zst\\.\\d+\\.meta"), names.toString());
      assertEquals("seg.zst", names.get(1));
    }
  }

  @Test
  void emptyRootLikeAnUnmountedVolumeIsUnavailableNotNotFound() throws Exception {
    Path root = ((FsStorage) storage).root();
    String key = "prod/db1/wal/0000000100000000/000000010000000000000001.zst";
    String expected = "storage unavailable: storage path " + root + " is empty, so " + key
        + " cannot be looked up (open): an unmounted volume looks like this; mount the"
        + " repository's volume there, or fix storage.path (a new repository gets its first"
        + " objects from the first WAL push)";

    assertEquals(expected, assertThrows(StorageException.class, () -> storage.open(key))
        .getMessage());
    assertTrue(assertThrows(StorageException.class, () -> storage.stat(key)).getMessage()
        .startsWith("storage unavailable: storage path " + root + " is empty"));
    // A brand-new repository still works: the agent reads cluster.json, finds none, creates it.
    assertEquals(Optional.empty(), storage.open("prod/db1/cluster.json"));
    assertEquals(List.of(), storage.list("prod/db1/base/").toList());
    storage.create("prod/db1/cluster.json", bytes("{}"), () -> meta("44136fa3"));
    assertEquals(Optional.empty(), storage.open(key));
  }

  @Test
  void rootThatIsAFileIsUnavailable() throws Exception {
    Path file = Files.writeString(dir.resolve("file"), "x");
    var e = assertThrows(StorageException.class, () -> new FsStorage(file).open("a/b"));
    assertEquals("storage path " + file + " does not exist or is not a directory (open a/b):"
        + " create it or fix storage.path", e.getMessage());
  }

  @Test
  void objectWhoseSidecarWasRemovedIsReportedNotGuessed() throws Exception {
    Path root = ((FsStorage) storage).root();
    storage.create("wal/seg.zst", bytes("plain"), () -> meta("0"));
    try (Stream<Path> files = Files.list(root.resolve("wal"))) {
      for (Path p : files.filter(p -> p.getFileName().toString().endsWith(".meta")).toList()) {
        Files.delete(p);
      }
    }

    var e = assertThrows(StorageException.class, () -> storage.stat("wal/seg.zst"));
    assertTrue(e.getMessage().startsWith("metadata of wal/seg.zst is missing (expected "),
        e.getMessage());
  }
}
