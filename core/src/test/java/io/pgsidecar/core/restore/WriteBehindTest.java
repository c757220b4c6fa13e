package io.pgsidecar.core.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WriteBehindTest {

  @TempDir Path dir;

  private static List<String> threadsLeft() {
    return Thread.getAllStackTraces().keySet().stream().map(Thread::getName)
        .filter(n -> n.startsWith(PipelinedUnpack.THREAD_PREFIX + "wb-test")).toList();
  }

  @Test
  void hintedFilesAreWrittenBackAndAFileGoneMeanwhileIsNoFailure() throws Exception {
    Path a = Files.write(dir.resolve("a"), new byte[3 << 20]);
    var w = new WriteBehind("wb-test");
    w.hint(a);
    w.hint(dir.resolve("removed by a failed restore"));
    w.finish();
    assertEquals(List.of(), threadsLeft());
  }

  /**
   * A file the disk cannot take fails the restore, naming it: never left to the last pass, whose
   * fsync may then report success on Linux (the error is reported once and the pages dropped).
   * Here the open(2) of a socket fails (ENXIO), a real failure of the write-back thread.
   */
  @Test
  void aFailedWriteBackFailsTheRestoreNamingTheFile() throws Exception {
    Path socket = dir.resolve("s");
    try (var server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      server.bind(UnixDomainSocketAddress.of(socket));
      var w = new WriteBehind("wb-test");
      w.hint(socket);
      var e = assertThrows(IOException.class, w::finish);
      assertEquals("cannot write " + socket + " to the disk: No such device or address; the"
          + " restore is not durable (the restore marker stays, a new run starts over): check the"
          + " volume (space, errors in the kernel log)", e.getMessage());
      assertThrows(IOException.class, w::finish, "reported again, not forgotten");
      assertEquals(List.of(), threadsLeft());
    }
  }

  @Test
  void closeWithoutFinishStopsTheThread() {
    var w = new WriteBehind("wb-test");
    w.close();
    w.close();
    assertEquals(List.of(), threadsLeft());
  }
}
