package io.pgsidecar.core.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seeded random tar streams against {@link TarExtractor}: regular files, directories, symlinks
 * and hard links pointing inside, outside and through each other, names written as ustar (with
 * and without the prefix field), pax ({@code x}) or GNU long-name ({@code L}, {@code K}) records,
 * multi-byte UTF-8 names, global ({@code g}) records, random sizes; and every valid archive cut
 * and bit-flipped at every byte. Whatever the input:
 * <ul>
 *   <li>nothing beside the target changes (a sentinel directory with a file is compared after
 *       every run), not even through links to it planted in the target beforehand, and no link
 *       the archive leaves in the target leads out of it when followed;</li>
 *   <li>the extractor either unpacks or throws an {@link IOException} whose message starts with
 *       the archive's name and names the entry (quoted) or the byte where it went wrong; never
 *       another exception;</li>
 *   <li>a cut archive is always refused as truncated;</li>
 *   <li>a valid archive unpacks exactly to its model, and to what GNU tar makes of it.</li>
 * </ul>
 * The seed is printed; replay with {@code -Dpgsidecar.fuzz.seed=N}. A failing random archive is
 * shrunk (entries dropped while it still fails) and printed entry by entry.
 */
class TarExtractorFuzzTest {

  static final long SEED = Long.getLong("pgsidecar.fuzz.seed", 20261205L);
  private static final String SOURCE = "base/fuzz/data.tar.zst";

  @TempDir(factory = MemoryTempDir.class) Path tmp;
  private Path sentinel;
  private List<String> sentinelBefore;
  private int runs;
  /** Whether each target starts with links {@code a} and {@code b} that lead to the sentinel. */
  private boolean plantLinks;

  @BeforeEach
  void sentinel() throws IOException {
    System.out.println(getClass().getSimpleName() + ": seed " + SEED
        + " (replay with -Dpgsidecar.fuzz.seed=" + SEED + ")");
    sentinel = Files.createDirectories(tmp.resolve("outside"));
    Files.writeString(sentinel.resolve("passwd"), "root:x:0:0\n");
    Files.createDirectories(tmp.resolve("pgdata"));
    sentinelBefore = tree(sentinel);
  }

  /** The temp directory on /dev/shm when it is a tmpfs: the runs create tens of thousands of files. */
  static final class MemoryTempDir implements org.junit.jupiter.api.io.TempDirFactory {
    @Override
    public Path createTempDirectory(org.junit.jupiter.api.extension.AnnotatedElementContext element,
        org.junit.jupiter.api.extension.ExtensionContext context) throws IOException {
      Path shm = Path.of("/dev/shm");
      return Files.isDirectory(shm) && Files.isWritable(shm)
          ? Files.createTempDirectory(shm, "tarfuzz") : Files.createTempDirectory("tarfuzz");
    }
  }

  // ---- what an archive is made of

  enum Kind { FILE, DIR, SYMLINK, HARDLINK }

  /** How a name (and link name) is written: in the header, with ustar's prefix, pax, or GNU. */
  enum Enc { USTAR, PREFIX, PAX, GNU }

  /** One entry, or a global record ({@code globalBefore}) and extra pax records before it. */
  record Entry(Kind kind, String name, String link, int size, Enc enc, boolean globalBefore,
      boolean paxNoise) {

    byte[] content() {
      byte[] b = new byte[size];
      int h = name.hashCode();
      for (int i = 0; i < size; i++) {
        b[i] = (byte) (h + i * 31);
      }
      return b;
    }

    void write(TarBuilder t) {
      if (globalBefore) {
        t.pax('g', Map.of("comment", "global \u00e9\u65e5 " + name.length(), "mtime", "1733400000"));
      }
      int nameBytes = name.getBytes(StandardCharsets.UTF_8).length;
      int linkBytes = link.getBytes(StandardCharsets.UTF_8).length;
      Enc e = enc;
      int slash = name.lastIndexOf('/', Math.min(name.length() - 1, 155));
      if (e == Enc.PREFIX && (slash <= 0 || name.substring(slash + 1).getBytes(StandardCharsets.UTF_8).length > 100
          || name.substring(0, slash).getBytes(StandardCharsets.UTF_8).length > 155 || kind != Kind.FILE)) {
        e = Enc.PAX;
      }
      if (e == Enc.USTAR && (nameBytes > 100 || linkBytes > 100)) {
        e = Enc.PAX;
      }
      String headerName = name;
      String headerLink = link;
      if (e == Enc.PAX) {
        Map<String, String> records = new LinkedHashMap<>();
        if (paxNoise) {
          records.put("mtime", "1733400000.123456789");
          records.put("comment", "\u00e4\u00f6\u00fc \ud83d\ude00 " + size);
        }
        records.put("path", name);
        if (!link.isEmpty()) {
          records.put("linkpath", link);
        }
        t.pax('x', records);
        headerName = "PaxHeaders/x";
        headerLink = "";
      } else if (e == Enc.GNU) {
        t.gnuLong('L', name);
        if (!link.isEmpty()) {
          t.gnuLong('K', link);
        }
        headerName = "././@LongLink";
        headerLink = "";
      } else if (paxNoise) {
        t.pax('x', Map.of("atime", "1733400000.5", "comment", "\u00df"));
      }
      if (e == Enc.PREFIX) {
        t.fileWithPrefix(name.substring(0, slash), name.substring(slash + 1), content());
        return;
      }
      switch (kind) {
        case FILE -> t.file(headerName, content());
        case DIR -> t.dir(headerName);
        case SYMLINK -> t.symlink(headerName, headerLink);
        case HARDLINK -> t.hardLink(headerName, headerLink);
      }
    }

    @Override
    public String toString() {
      return kind + " " + TarReader.show(name) + (link.isEmpty() ? "" : " -> " + TarReader.show(link))
          + (kind == Kind.FILE ? " (" + size + " bytes)" : "") + " as " + enc
          + (globalBefore ? " after a g record" : "") + (paxNoise ? " with extra pax records" : "");
    }
  }

  private static byte[] archive(List<Entry> entries) {
    TarBuilder t = new TarBuilder();
    entries.forEach(e -> e.write(t));
    return t.end();
  }

  // ---- the properties

  /** Any archive: unpacked or refused clearly; nothing outside changes; no link leads out. */
  private Path extractSafely(byte[] tar, String what) throws IOException {
    Path target = tmp.resolve("pgdata").resolve("r" + (++runs));
    Files.createDirectories(target);
    if (plantLinks) {
      // links already in the target that lead out: whatever the archive holds, none is followed
      Files.createSymbolicLink(target.resolve("a"), sentinel);
      Files.createSymbolicLink(target.resolve("b"), Path.of("../../../outside"));
    }
    try {
      new TarExtractor(target, SOURCE).extract(new ByteArrayInputStream(tar));
    } catch (IOException e) {
      assertClearRefusal(e, what);
    } catch (RuntimeException | Error e) {
      throw new AssertionError(what + ": not an IOException but " + e, e);
    }
    assertEquals(sentinelBefore, tree(sentinel), what + ": the directory beside the target changed");
    noLinkLeadsOut(target, what);
    return target;
  }

  static void assertClearRefusal(IOException e, String what) {
    String m = e.getMessage();
    assertTrue(m != null && m.startsWith("archive " + SOURCE)
        && (m.contains("'") || m.contains(" byte")), what + ": refusal without a clear message: " + m);
    assertTrue(!m.contains("\n") && !m.contains("\0"), what + ": a raw control character: " + m);
  }

  private void noLinkLeadsOut(Path target, String what) throws IOException {
    Path real = target.toRealPath();
    try (Stream<Path> all = Files.walk(real)) {
      for (Path p : all.filter(Files::isSymbolicLink).filter(p -> !plantLinks
          || !(p.equals(real.resolve("a")) || p.equals(real.resolve("b")))).toList()) {
        try {
          assertTrue(p.toRealPath().startsWith(real), what + ": " + p + " leads out of the target");
        } catch (FileSystemException dangling) {
          // dangling or a loop: following it reaches nothing outside
        }
      }
    }
  }

  /** Every path below {@code dir}: D, F:sha256 or L:target (hard links are files). */
  static List<String> tree(Path dir) throws IOException {
    List<String> all = new ArrayList<>();
    Files.walkFileTree(dir, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes a) {
        if (!d.equals(dir)) {
          all.add(dir.relativize(d) + " D");
        }
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFile(Path f, BasicFileAttributes a) throws IOException {
        all.add(dir.relativize(f) + (a.isSymbolicLink() ? " L:" + Files.readSymbolicLink(f)
            : a.isRegularFile() ? " F:" + sha256(Files.readAllBytes(f)) : " other"));
        return FileVisitResult.CONTINUE;
      }
    });
    return all.stream().sorted().toList();
  }

  static String sha256(byte[] b) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b)).substring(0, 16);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  // ---- random archives with anything in them

  private static final String[] PARTS = {"a", "b", "..", ".", "", "base", "PG_VERSION",
      "postgresql.auto.conf", "recovery.signal", "\u00e9t\u00e9", "\u65e5\u672c", "\ud83d\ude00",
      "x".repeat(60), "y".repeat(130), "back\\slash", "nul\0byte", "new\nline"};

  private String randomName(Random r) {
    StringBuilder sb = new StringBuilder(r.nextInt(10) == 0 ? "/" : r.nextInt(6) == 0 ? "./" : "");
    for (int k = 0, depth = 1 + r.nextInt(4); k < depth; k++) {
      sb.append(k == 0 ? "" : "/").append(PARTS[r.nextInt(PARTS.length)]);
    }
    return sb.toString();
  }

  private String randomLink(Random r, List<Entry> earlier) {
    return switch (r.nextInt(8)) {
      case 0 -> "..";
      case 1 -> "../outside/passwd";
      case 2 -> sentinel.resolve("passwd").toString();
      case 3 -> "a/../../outside";
      case 4 -> earlier.isEmpty() ? "." : earlier.get(r.nextInt(earlier.size())).name(); // chains
      case 5 -> ".";
      case 6 -> "";
      default -> randomName(r);
    };
  }

  private List<Entry> randomEntries(Random r) {
    List<Entry> entries = new ArrayList<>();
    for (int i = 0, n = 1 + r.nextInt(8); i < n; i++) {
      Kind kind = Kind.values()[r.nextInt(4)];
      String link = kind == Kind.SYMLINK || kind == Kind.HARDLINK ? randomLink(r, entries) : "";
      entries.add(new Entry(kind, randomName(r), link, randomSize(r), Enc.values()[r.nextInt(4)],
          r.nextInt(6) == 0, r.nextInt(4) == 0));
    }
    return entries;
  }

  private static int randomSize(Random r) {
    return switch (r.nextInt(5)) {
      case 0 -> 0;
      case 1 -> 512;
      case 2 -> 511 + r.nextInt(3);
      default -> r.nextInt(3000);
    };
  }

  @Test
  void randomArchivesNeverEscapeNorFailWithoutAMessage() throws IOException {
    Random random = new Random(SEED);
    int unpacked = 0;
    for (int round = 0; round < 2000; round++) {
      List<Entry> entries = randomEntries(random);
      plantLinks = round % 2 == 1;
      String what = "seed " + SEED + " round " + round + (plantLinks ? ", links a and b leading out planted" : "");
      try {
        Path target = extractSafely(archive(entries), what);
        unpacked += isEmpty(target) ? 0 : 1;
      } catch (AssertionError e) {
        List<Entry> minimal = shrink(entries);
        String failure;
        try {
          extractSafely(archive(minimal), "the minimal archive");
          failure = "(passes alone)";
        } catch (AssertionError | IOException again) {
          failure = again.getMessage();
        }
        throw new AssertionError(e.getMessage() + "\nminimal failing archive (" + minimal.size()
            + " of " + entries.size() + " entries):\n  "
            + String.join("\n  ", minimal.stream().map(Entry::toString).toList())
            + "\nwhich fails with: " + failure, e);
      }
    }
    assertTrue(unpacked >= 100, "some random archives were harmless and unpacked: " + unpacked);
  }

  /** Drops entries one by one while the archive still fails a property. */
  private List<Entry> shrink(List<Entry> entries) {
    List<Entry> current = new ArrayList<>(entries);
    boolean progress = true;
    while (progress) {
      progress = false;
      for (int i = 0; i < current.size() && current.size() > 1; i++) {
        List<Entry> fewer = new ArrayList<>(current);
        fewer.remove(i);
        try {
          extractSafely(archive(fewer), "shrinking");
        } catch (AssertionError | IOException stillFails) {
          current = fewer;
          progress = true;
          i--;
        }
      }
    }
    return current;
  }

  // ---- valid archives: a model, GNU tar, and every cut and flipped byte

  /** A random archive that a correct extractor unpacks, with what it must unpack to. */
  private record Valid(List<Entry> entries, List<String> expected) {}

  private static final String[] SAFE_PARTS = {"a", "b", "base", "16384", "\u00e9t\u00e9",
      "\u65e5\u672c\u8a9e", "\ud83d\ude00", "data.1", "z".repeat(70), "w".repeat(140)};

  private Valid randomValid(Random r, int maxEntries) {
    Map<String, String> model = new TreeMap<>(); // path -> "D", "F:sha", "L:target"
    Map<String, byte[]> files = new LinkedHashMap<>();
    List<Entry> entries = new ArrayList<>();
    for (int i = 0, n = 1 + r.nextInt(maxEntries); i < n; i++) {
      List<String> dirs = new ArrayList<>(List.of(""));
      model.forEach((p, v) -> {
        if (v.equals("D")) {
          dirs.add(p);
        }
      });
      String parent = dirs.get(r.nextInt(dirs.size()));
      String name = (parent.isEmpty() ? "" : parent + "/") + SAFE_PARTS[r.nextInt(SAFE_PARTS.length)];
      if (model.containsKey(name) || name.getBytes(StandardCharsets.UTF_8).length > 1000) {
        continue;
      }
      Kind kind = Kind.values()[r.nextInt(4)];
      if (kind == Kind.HARDLINK && files.isEmpty()) {
        kind = Kind.FILE;
      }
      String link = switch (kind) {
        case SYMLINK -> SAFE_PARTS[r.nextInt(SAFE_PARTS.length)] + (r.nextBoolean() ? "" : "/" + SAFE_PARTS[r.nextInt(3)]);
        case HARDLINK -> new ArrayList<>(files.keySet()).get(r.nextInt(files.size()));
        default -> "";
      };
      Entry e = new Entry(kind, name, link, kind == Kind.FILE ? randomSize(r) : 0,
          Enc.values()[r.nextInt(4)], r.nextInt(5) == 0, r.nextInt(3) == 0);
      entries.add(e);
      for (String p = parentOf(name); !p.isEmpty(); p = parentOf(p)) {
        model.putIfAbsent(p, "D");
      }
      switch (kind) {
        case FILE -> {
          files.put(name, e.content());
          model.put(name, "F:" + sha256(e.content()));
        }
        case DIR -> model.put(name, "D");
        case SYMLINK -> model.put(name, "L:" + link);
        case HARDLINK -> {
          files.put(name, files.get(link));
          model.put(name, "F:" + sha256(files.get(link)));
        }
      }
    }
    List<String> expected = model.entrySet().stream().map(m -> m.getKey() + " " + m.getValue()).sorted().toList();
    return new Valid(entries, expected);
  }

  private static String parentOf(String p) {
    int slash = p.lastIndexOf('/');
    return slash < 0 ? "" : p.substring(0, slash);
  }

  @Test
  void validRandomArchivesUnpackExactlyAsTheirModelAndAsGnuTar() throws Exception {
    Random random = new Random(SEED + 1);
    int comparedWithTar = 0;
    for (int round = 0; round < 400; round++) {
      Valid v = randomValid(random, 12);
      byte[] tar = archive(v.entries());
      String what = "seed " + SEED + " round " + round + ", archive:\n  "
          + String.join("\n  ", v.entries().stream().map(Entry::toString).toList());
      Path target = tmp.resolve("pgdata").resolve("v" + round);
      Files.createDirectories(target);
      try {
        new TarExtractor(target, SOURCE).extract(new ByteArrayInputStream(tar));
      } catch (IOException | RuntimeException e) {
        throw new AssertionError(what + "\nrefused: " + e, e);
      }
      assertEquals(v.expected(), tree(target), what);
      if (round % 8 == 0) {
        Path byTar = Files.createDirectories(tmp.resolve("gnu").resolve("v" + round));
        gnuTar(tar, byTar);
        assertEquals(tree(byTar), tree(target), what + "\n(GNU tar unpacked it differently)");
        comparedWithTar++;
      }
    }
    assertEquals(50, comparedWithTar);
  }

  static void gnuTar(byte[] tar, Path into) throws Exception {
    Path file = Files.createTempFile(into.getParent(), "archive", ".tar");
    Files.write(file, tar);
    Process p = new ProcessBuilder("tar", "-xf", file.toString(), "-C", into.toString(), "--no-same-owner")
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), "GNU tar: " + out);
  }

  /**
   * Valid archives cut at every byte the parser reads (refused as truncated unless the cut falls
   * in the second end block) and with one bit flipped at each of them (a flipped header gets its
   * checksum recomputed, so that the damage reaches the parser instead of the checksum check).
   * The parser reads every byte of headers and of pax, GNU long-name and global records; of a
   * file's data and padding, which it only copies or skips, the first, last and a few random
   * bytes of each block are taken.
   */
  @Test
  void everyCutAndEveryFlippedBitOfValidArchivesIsHandled() throws IOException {
    Random random = new Random(SEED + 2);
    long cuts = 0;
    long flips = 0;
    long flipsUnpacked = 0;
    for (int round = 0; round < 12; round++) {
      Valid v = randomValid(random, 6);
      TarBuilder t = new TarBuilder();
      v.entries().forEach(e -> e.write(t));
      byte[] tar = t.end();
      List<Integer> headers = t.headerOffsets();
      String archive = String.join("\n  ", v.entries().stream().map(Entry::toString).toList());
      for (int pos : positions(tar, headers, random)) {
        String what = "seed " + SEED + " round " + round + ", cut at byte " + pos + " of " + tar.length
            + ", archive:\n  " + archive;
        try {
          new TarExtractor(Files.createDirectories(tmp.resolve("cut")), SOURCE)
              .extract(new ByteArrayInputStream(Arrays.copyOf(tar, pos)));
          assertTrue(pos >= tar.length - 512, what + ": a cut archive was unpacked");
        } catch (IOException e) {
          assertClearRefusal(e, what);
          assertTrue(e.getMessage().contains("truncated"), what + ": not reported as truncated: " + e.getMessage());
        } catch (RuntimeException | Error e) {
          throw new AssertionError(what + ": not an IOException but " + e, e);
        }
        cuts++;
        deleteTree(tmp.resolve("cut"));
        assertEquals(sentinelBefore, tree(sentinel), what);

        if (pos == tar.length) {
          continue;
        }
        byte[] flipped = tar.clone();
        int bit = random.nextInt(8);
        flipped[pos] ^= (byte) (1 << bit);
        int p = pos;
        headers.stream().filter(h -> p >= h && p < h + 512 && (p < h + 148 || p >= h + 156))
            .findFirst().ifPresent(h -> TarBuilder.checksum(flipped, h));
        Path target = extractSafely(flipped, "seed " + SEED + " round " + round + ", bit " + bit
            + " of byte " + pos + " flipped, archive:\n  " + archive);
        flips++;
        flipsUnpacked += isEmpty(target) ? 0 : 1;
        deleteTree(target);
      }
    }
    System.out.println(getClass().getSimpleName() + ": " + cuts + " cuts, " + flips + " flips ("
        + flipsUnpacked + " unpacked something)");
    assertTrue(cuts > 3000, "cuts: " + cuts);
  }

  /**
   * Archives GNU tar itself writes ({@code --format=pax}, {@code gnu}, {@code oldgnu}) of a tree
   * with long names (over 100 and 255 bytes), UTF-8 names, long link targets and hard links
   * unpack to the same tree.
   */
  @Test
  void archivesWrittenByGnuTarUnpackIdentically() throws Exception {
    Path src = Files.createDirectories(tmp.resolve("src"));
    String deep = "base/16384/" + "d".repeat(120) + "/\u00e9t\u00e9-\u65e5\u672c\u8a9e-\ud83d\ude00/" + "e".repeat(200);
    Files.createDirectories(src.resolve(deep));
    Files.write(src.resolve(deep).resolve("f".repeat(180)), new byte[] {1, 2, 3});
    Files.writeString(src.resolve("\u00fc\u00f1\u00ee\u00e7\u00f8d\u00e9.conf"), "x = '\u00e9'\n");
    Files.write(src.resolve("big"), new Random(SEED).ints(70_000).collect(
        java.io.ByteArrayOutputStream::new, (o, i) -> o.write(i), (a, b) -> a.writeBytes(b.toByteArray())).toByteArray());
    Files.createSymbolicLink(src.resolve("short-link"), Path.of("big"));
    Files.createSymbolicLink(src.resolve(deep).resolve("long-link"),
        Path.of("f".repeat(180)));
    Files.createSymbolicLink(src.resolve("l".repeat(150)), Path.of(deep + "/" + "f".repeat(180)));
    Files.createLink(src.resolve(deep).resolve("hard-\u00e9"), src.resolve("big"));
    Files.createDirectories(src.resolve("empty"));
    for (String fmt : List.of("pax", "gnu", "oldgnu")) {
      Process p = new ProcessBuilder("tar", "--format=" + fmt, "-C", src.toString(), "-cf", "-", ".")
          .redirectError(ProcessBuilder.Redirect.INHERIT).start();
      byte[] tar = p.getInputStream().readAllBytes();
      assertTrue(p.waitFor(60, TimeUnit.SECONDS));
      assertEquals(0, p.exitValue(), "tar --format=" + fmt);
      Path target = Files.createDirectories(tmp.resolve("pgdata").resolve("gnu-" + fmt));
      var result = new TarExtractor(target, SOURCE).extract(new ByteArrayInputStream(tar));
      assertEquals(tree(src), tree(target), "tar --format=" + fmt);
      assertEquals(3, result.files(), "regular files (a hard link is not one), tar --format=" + fmt);
    }
  }

  /**
   * The bytes the parser reads: of each header the name, size, checksum, type, link name, magic
   * and prefix fields (up to one byte past each string's end) and two random bytes of the fields
   * it ignores (mode, owner, times); every byte of a pax, GNU long-name or global record's data;
   * the first, second, last and two random bytes of every other block (file data and padding,
   * which are only copied or skipped; the end blocks).
   */
  private static List<Integer> positions(byte[] tar, List<Integer> headers, Random random) {
    java.util.TreeSet<Integer> all = new java.util.TreeSet<>();
    java.util.Set<Integer> covered = new java.util.HashSet<>();
    for (int h : headers) {
      covered.add(h);
      char type = (char) tar[h + 156];
      long size = Long.parseLong(new String(tar, h + 124, 11, StandardCharsets.US_ASCII), 8);
      addString(all, tar, h, 100);
      addString(all, tar, h + 157, 100);
      addString(all, tar, h + 345, 155);
      for (int p = h + 124; p < h + 136; p++) {
        all.add(p);
      }
      for (int p = h + 148; p < h + 157; p++) {
        all.add(p);
      }
      for (int p = h + 257; p < h + 265; p++) {
        all.add(p);
      }
      all.add(h + 100 + random.nextInt(24)); // mode, uid, gid
      all.add(h + 265 + random.nextInt(80)); // uname, gname, devices
      if ("xgLK".indexOf(type) >= 0) {
        for (int p = h + 512; p <= h + 512 + size && p < tar.length; p++) {
          all.add(p);
        }
        for (long b = h + 512; b < h + 512 + size; b += 512) {
          covered.add((int) b);
        }
      }
    }
    for (int block = 0; block < tar.length; block += 512) {
      if (!covered.contains(block)) {
        all.addAll(List.of(block, block + 1, block + 511, block + 1 + random.nextInt(510),
            block + 1 + random.nextInt(510)));
      }
    }
    all.add(tar.length);
    return List.copyOf(all);
  }

  private static void addString(java.util.Set<Integer> all, byte[] tar, int off, int len) {
    for (int p = off; p < off + len; p++) {
      all.add(p);
      if (tar[p] == 0) {
        all.add(Math.min(p + 1, off + len - 1));
        break;
      }
    }
  }

  private static boolean isEmpty(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.findAny().isEmpty();
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try (Stream<Path> all = Files.walk(dir)) {
      for (Path p : all.sorted((a, b) -> b.getNameCount() - a.getNameCount()).toList()) {
        Files.delete(p);
      }
    }
  }
}
