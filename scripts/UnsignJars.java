import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.jar.Manifest;

/**
 * Removes the signatures from the jars in a folder (Maven runs it on {@code target/lib} after
 * copying the runtime dependencies: {@code java scripts/UnsignJars.java DIR}).
 *
 * <p>Why: the JVM verifies a signed jar's every class against its signature file when it loads it
 * (SHA-256 of each entry, the manifest parsed with a digest per entry). The Azure SDK and Bouncy
 * Castle ship signed, so a short-lived command (restore, a restore_command) spent most of a
 * second in {@code ZipFile}, SHA-256 and {@code Inflater} before doing any work, and a class-data
 * archive cannot keep classes of signed jars. The signatures prove where the jars came from,
 * which Maven's checksums already checked when it downloaded them; nothing at run time relies on
 * them (Bouncy Castle is used through its own API, never as a JCE provider, which is where a
 * signature would matter).
 *
 * <p>What: for every jar with a {@code META-INF/*.SF} file, the signature files
 * ({@code .SF}, {@code .RSA}, {@code .DSA}, {@code .EC}) are deleted and the manifest keeps its
 * main section only (the per-entry digests go). Other entries are copied as they are. A jar
 * without signatures is left untouched, so running it twice changes nothing.
 */
public final class UnsignJars {

  public static void main(String[] args) throws IOException {
    if (args.length != 1 || !Files.isDirectory(Path.of(args[0]))) {
      System.err.println("usage: java UnsignJars.java DIR   (DIR: a folder of jars, e.g. target/lib)");
      System.exit(2);
    }
    int changed = 0;
    try (DirectoryStream<Path> jars = Files.newDirectoryStream(Path.of(args[0]), "*.jar")) {
      for (Path jar : jars) {
        if (unsign(jar)) {
          changed++;
        }
      }
    }
    System.out.println("UnsignJars: removed the signatures of " + changed + " jar(s) in " + args[0]);
  }

  /** Unsigns one jar in place; false when it had no signature. */
  static boolean unsign(Path jar) throws IOException {
    try (FileSystem zip = FileSystems.newFileSystem(URI.create("jar:" + jar.toUri()), Map.of())) {
      Path metaInf = zip.getPath("/META-INF");
      if (!Files.isDirectory(metaInf)) {
        return false;
      }
      List<Path> signatureFiles = new ArrayList<>();
      boolean signed = false;
      try (DirectoryStream<Path> entries = Files.newDirectoryStream(metaInf)) {
        for (Path entry : entries) {
          String name = entry.getFileName().toString().toUpperCase(Locale.ROOT);
          if (name.endsWith(".SF")) {
            signed = true;
          }
          if (name.endsWith(".SF") || name.endsWith(".RSA") || name.endsWith(".DSA")
              || name.endsWith(".EC")) {
            signatureFiles.add(entry);
          }
        }
      }
      if (!signed) {
        return false;
      }
      for (Path file : signatureFiles) {
        Files.delete(file);
      }
      Path manifestPath = zip.getPath("/META-INF/MANIFEST.MF");
      if (Files.exists(manifestPath)) {
        Manifest manifest;
        try (InputStream in = Files.newInputStream(manifestPath)) {
          manifest = new Manifest(in);
        }
        manifest.getEntries().clear();
        try (OutputStream out = Files.newOutputStream(manifestPath)) {
          manifest.write(out);
        }
      }
      return true;
    }
  }
}
